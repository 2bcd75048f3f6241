<#
.SYNOPSIS
    Installs the cpsync agent on the store's Windows server, as a service that starts at boot.

.DESCRIPTION
    1. Creates a virtual environment in <InstallDir>\venv with the Python launcher (py) and
       installs the cpsync wheel built by `make dist`, with the aws and mssql extras.
    2. Writes the settings file <DataDir>\agent.env from deploy\agent.env.example when there
       is none yet, and lets only SYSTEM and the Administrators group read it (it holds the SQL
       password and the AWS keys).
    3. Registers the agent: as a Windows service through NSSM when nssm.exe is on PATH,
       otherwise as a Task Scheduler task "cpsync-agent" (folder \cpsync\) that runs at startup
       as SYSTEM, with no time limit, restarted on failure and checked every 5 minutes.
    4. Starts it, unless the settings file was only just written (fill it in first).

    Logs: <DataDir>\logs\agent.log (rotated at 10 MB, 5 kept). Run it again to upgrade: the
    settings file is kept.

.PARAMETER WheelPath
    The wheel from `make dist`, e.g. .\cpsync-0.1.0-py3-none-any.whl.

.PARAMETER InstallDir
    Where the virtual environment goes.

.PARAMETER DataDir
    Where the settings file and the logs go.

.PARAMETER PythonVersion
    The Python the launcher should use (`py -3.12`); install it "for all users" first.

.PARAMETER ServiceName
    The service's (or the scheduled task's) name.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\install-agent.ps1 -WheelPath .\cpsync-0.1.0-py3-none-any.whl
#>
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$WheelPath,
    [string]$InstallDir = "C:\Program Files\cpsync",
    [string]$DataDir = "C:\ProgramData\cpsync",
    [string]$PythonVersion = "3.12",
    [string]$ServiceName = "cpsync-agent"
)

Set-StrictMode -Version Latest
$ErrorActionPreference = "Stop"

# Well-known SIDs, so the ACL is right on a Windows of any language.
$SystemSid = "*S-1-5-18"
$AdministratorsSid = "*S-1-5-32-544"
$TaskPath = "\cpsync\"

function Invoke-Native {
    <# Runs a program and stops the script when it fails (native programs do not throw). #>
    param([string]$What, [scriptblock]$Command)
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)" }
}

# --- 1. the virtual environment and the wheel ---------------------------------------------
$wheel = (Resolve-Path -LiteralPath $WheelPath).Path
if (-not $wheel.EndsWith(".whl")) {
    throw "-WheelPath: expected the .whl file that 'make dist' builds, got $wheel"
}
if (-not (Get-Command py.exe -ErrorAction SilentlyContinue)) {
    throw "The Python launcher (py.exe) is not on PATH: install Python $PythonVersion from python.org for all users, with the launcher"
}
$venv = Join-Path $InstallDir "venv"
$python = Join-Path $venv "Scripts\python.exe"
$cpsync = Join-Path $venv "Scripts\cpsync.exe"
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
if (-not (Test-Path -LiteralPath $python)) {
    Write-Host "Creating $venv with Python $PythonVersion"
    Invoke-Native "py -$PythonVersion -m venv" { py.exe "-$PythonVersion" -m venv $venv }
}
Write-Host "Installing $wheel (with the aws and mssql extras)"
Invoke-Native "pip upgrade" { & $python -m pip install --quiet --upgrade pip }
$withExtras = $wheel + "[aws,mssql]"
Invoke-Native "pip install" { & $python -m pip install --quiet --upgrade $withExtras }
# The same version number again (a rebuilt wheel): replace cpsync itself, keep its dependencies.
Invoke-Native "pip reinstall" { & $python -m pip install --quiet --force-reinstall --no-deps $wheel }

# --- 2. the settings file, readable by SYSTEM and Administrators only ----------------------
$logDir = Join-Path $DataDir "logs"
New-Item -ItemType Directory -Force -Path $DataDir, $logDir | Out-Null
$envFile = Join-Path $DataDir "agent.env"
$logFile = Join-Path $logDir "agent.log"
$fresh = -not (Test-Path -LiteralPath $envFile)
if ($fresh) {
    $example = Join-Path $PSScriptRoot "..\agent.env.example"
    if (Test-Path -LiteralPath $example) {
        Copy-Item -LiteralPath $example -Destination $envFile
    } else {
        Set-Content -LiteralPath $envFile -Encoding ASCII -Value @(
            "# cpsync agent settings: values from the stack outputs and the store's SQL Server.",
            "CPSYNC_QUEUE_URL=",
            "CPSYNC_COMMAND_QUEUE_URL=",
            "CPSYNC_TABLE_NAME=",
            "CPSYNC_BUCKET=",
            "CPSYNC_COUNTERPOINT_URL=mssql+pymssql://cpsync_reader:PASSWORD@localhost:1433/DEMOGOLF",
            "CPSYNC_IMAGES_DIR=",
            "CPSYNC_TIMEZONE=America/New_York",
            "AWS_REGION=",
            "AWS_ACCESS_KEY_ID=",
            "AWS_SECRET_ACCESS_KEY="
        )
    }
    Write-Host "Wrote ${envFile}: fill it in from the stack outputs"
}
Invoke-Native "icacls" {
    icacls.exe $envFile /inheritance:r /grant:r "${SystemSid}:(F)" "${AdministratorsSid}:(F)" | Out-Null
}

# --- 3. the service -------------------------------------------------------------------------
$nssm = Get-Command nssm.exe -ErrorAction SilentlyContinue
if ($nssm) {
    $nssmExe = $nssm.Source
    if (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) {
        & $nssmExe stop $ServiceName | Out-Null
        Invoke-Native "nssm remove" { & $nssmExe remove $ServiceName confirm }
    }
    Write-Host "Registering the service $ServiceName with NSSM"
    Invoke-Native "nssm install" {
        & $nssmExe install $ServiceName $cpsync agent --env-file $envFile --log-file $logFile
    }
    $values = [ordered]@{
        DisplayName     = "cpsync agent"
        Description     = "Runs the cpsync tasks next to Counterpoint and sends the changes to AWS."
        Start           = "SERVICE_AUTO_START"
        ObjectName      = "LocalSystem"
        AppDirectory    = $DataDir
        AppStdout       = (Join-Path $logDir "service.log")
        AppStderr       = (Join-Path $logDir "service.log")
        AppRotateFiles  = "1"
        AppRotateBytes  = "10485760"
        AppRestartDelay = "10000"
    }
    foreach ($name in $values.Keys) {
        $value = $values[$name]
        Invoke-Native "nssm set $name" { & $nssmExe set $ServiceName $name $value }
    }
    # Restart on failure: whatever the exit code, NSSM starts the agent again after 10 s.
    Invoke-Native "nssm set AppExit" { & $nssmExe set $ServiceName AppExit Default Restart }
} else {
    Write-Host "nssm.exe not found: registering the Task Scheduler task $TaskPath$ServiceName"
    $arguments = "agent --env-file `"$envFile`" --log-file `"$logFile`""
    $action = New-ScheduledTaskAction -Execute $cpsync -Argument $arguments -WorkingDirectory $DataDir
    $atStartup = New-ScheduledTaskTrigger -AtStartup
    # Task Scheduler restarts a task that fails to start; one that exits is started again by
    # this check every 5 minutes (a second instance is never started: IgnoreNew).
    $check = New-ScheduledTaskTrigger -Once -At (Get-Date) -RepetitionInterval (New-TimeSpan -Minutes 5)
    $principal = New-ScheduledTaskPrincipal -UserId "SYSTEM" -LogonType ServiceAccount -RunLevel Highest
    $settings = New-ScheduledTaskSettingsSet `
        -RestartCount 999 `
        -RestartInterval (New-TimeSpan -Minutes 1) `
        -ExecutionTimeLimit ([TimeSpan]::Zero) `
        -MultipleInstances IgnoreNew `
        -StartWhenAvailable `
        -AllowStartIfOnBatteries `
        -DontStopIfGoingOnBatteries
    Register-ScheduledTask -TaskName $ServiceName -TaskPath $TaskPath -Action $action `
        -Trigger @($atStartup, $check) -Principal $principal -Settings $settings `
        -Description "cpsync agent: runs the tasks next to Counterpoint (see README)" -Force | Out-Null
}

# --- 4. start -----------------------------------------------------------------------------------
if ($fresh) {
    Write-Host "Not started: fill in $envFile, then start it with:"
    if ($nssm) { Write-Host "    nssm start $ServiceName" } else {
        Write-Host "    Start-ScheduledTask -TaskPath '$TaskPath' -TaskName '$ServiceName'"
    }
    Write-Host "Check the settings first with: & '$cpsync' agent --once --env-file '$envFile'"
} else {
    if ($nssm) {
        Invoke-Native "nssm start" { & $nssmExe start $ServiceName }
    } else {
        Stop-ScheduledTask -TaskPath $TaskPath -TaskName $ServiceName -ErrorAction SilentlyContinue
        Start-ScheduledTask -TaskPath $TaskPath -TaskName $ServiceName
    }
    Write-Host "Started $ServiceName; log: $logFile"
}
