<#
.SYNOPSIS
    Removes the cpsync agent that install-agent.ps1 installed.

.DESCRIPTION
    Stops and removes the NSSM service or the Task Scheduler task (whichever exists), then
    deletes the virtual environment. The settings file and the logs in DataDir are kept
    unless -RemoveData is given (they hold the store's settings and AWS keys).

.PARAMETER InstallDir
    Where install-agent.ps1 put the virtual environment.

.PARAMETER DataDir
    Where the settings file and the logs are.

.PARAMETER ServiceName
    The service's (or the scheduled task's) name.

.PARAMETER RemoveData
    Also delete DataDir (agent.env and the logs).

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File .\uninstall-agent.ps1 -RemoveData
#>
#Requires -RunAsAdministrator
[CmdletBinding()]
param(
    [string]$InstallDir = "C:\Program Files\cpsync",
    [string]$DataDir = "C:\ProgramData\cpsync",
    [string]$ServiceName = "cpsync-agent",
    [switch]$RemoveData
)

Set-StrictMode -Version Latest
$ErrorActionPreference = "Stop"
$TaskPath = "\cpsync\"

# The NSSM service, if it was installed that way.
if (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) {
    Write-Host "Stopping and removing the service $ServiceName"
    Stop-Service -Name $ServiceName -Force -ErrorAction SilentlyContinue
    $nssm = Get-Command nssm.exe -ErrorAction SilentlyContinue
    if ($nssm) {
        & $nssm.Source remove $ServiceName confirm | Out-Null
    } else {
        & sc.exe delete $ServiceName | Out-Null
    }
    if ($LASTEXITCODE -ne 0) { throw "removing the service $ServiceName failed (exit code $LASTEXITCODE)" }
}

# The Task Scheduler task, if it was installed that way.
$task = Get-ScheduledTask -TaskPath $TaskPath -TaskName $ServiceName -ErrorAction SilentlyContinue
if ($task) {
    Write-Host "Stopping and removing the scheduled task $TaskPath$ServiceName"
    Stop-ScheduledTask -TaskPath $TaskPath -TaskName $ServiceName -ErrorAction SilentlyContinue
    Unregister-ScheduledTask -TaskPath $TaskPath -TaskName $ServiceName -Confirm:$false
}

# An agent still running from the venv (started by hand) would hold its files open.
$venv = Join-Path $InstallDir "venv"
Get-Process -Name cpsync, python -ErrorAction SilentlyContinue |
    Where-Object { $_.Path -and $_.Path.StartsWith($venv, [StringComparison]::OrdinalIgnoreCase) } |
    Stop-Process -Force

if (Test-Path -LiteralPath $InstallDir) {
    Write-Host "Deleting $InstallDir"
    Remove-Item -LiteralPath $InstallDir -Recurse -Force
}
if ($RemoveData) {
    if (Test-Path -LiteralPath $DataDir) {
        Write-Host "Deleting $DataDir (settings and logs)"
        Remove-Item -LiteralPath $DataDir -Recurse -Force
    }
} else {
    Write-Host "Kept $DataDir (settings and logs); -RemoveData deletes it"
}
