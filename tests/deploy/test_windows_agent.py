"""The agent as a store installs it: the wheel `make dist` builds, the Windows install and
uninstall scripts, and the steps of docs/agent.md. No PowerShell runs here, so the scripts are checked
for what can be read: the options they pass exist, the ACL and the service settings, syntax
pitfalls."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from cpsync.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = ROOT / "deploy" / "windows"
INSTALL = WINDOWS / "install-agent.ps1"
UNINSTALL = WINDOWS / "uninstall-agent.ps1"
BUILD = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir"]


def _sources(to: Path) -> Path:
    """A copy of what the wheel is built from, so the build leaves the work tree alone."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, to / name)
    for package in ("layers/cpsync/cpsync",):
        shutil.copytree(ROOT / package, to / package, ignore=shutil.ignore_patterns("__pycache__"))
    return to


def test_make_dist_is_the_build_this_test_runs() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\ndist:", 1)[1].split("\n\n", 1)[0]
    assert "-m build --wheel --no-isolation --outdir dist ." in recipe


@pytest.mark.timeout(120)
def test_the_wheel_installs_into_a_fresh_venv_and_the_agent_starts(tmp_path: Path) -> None:
    # GIVEN the wheel, built as `make dist` builds it
    (tmp_path / "src").mkdir()
    source = _sources(tmp_path / "src")
    subprocess.run(
        [*BUILD, str(tmp_path / "dist"), "."], cwd=source, check=True, capture_output=True
    )
    (wheel,) = (tmp_path / "dist").glob("cpsync-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {"cpsync/agent.py", "cpsync/api/static/index.html"} <= names
    library = ROOT / "layers" / "cpsync"
    packages = {str(p.relative_to(library)) for p in library.glob("cpsync/**/__init__.py")}
    assert packages <= names, f"packages missing from the wheel: {sorted(packages - names)}"
    # the emulator and the sample generator stay in the repository (dev/): not in a store's install
    assert not [n for n in names if n.startswith(("cpsync_emulator/", "cpsync_sample/"))]
    assert 'Requires-Dist: pymssql>=2.3; extra == "mssql"' in metadata
    assert 'Requires-Dist: boto3>=1.34; extra == "aws"' in metadata
    # WHEN it is installed into a fresh venv (its dependencies from this one: no network)
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(ours + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            wheel,
        ],
        check=True,
        capture_output=True,
    )
    # THEN `cpsync agent --help` runs from it, with the options the Windows service uses
    helped = subprocess.run(
        [target / "bin" / "cpsync", "agent", "--help"], capture_output=True, text=True, check=True
    )
    assert "--env-file" in helped.stdout and "--log-file" in helped.stdout
    where = subprocess.run(
        [python, "-c", "import cpsync.agent; print(cpsync.agent.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(target))  # the wheel's copy, not this work tree


def _code(script: Path) -> str:
    """The script without its comments and help block (what PowerShell runs)."""
    text = re.sub(r"<#.*?#>", "", script.read_text(), flags=re.S)
    return "\n".join(
        line.split(" #", 1)[0] for line in text.splitlines() if not line.lstrip().startswith("#")
    )


@pytest.mark.parametrize("script", [INSTALL, UNINSTALL], ids=lambda p: p.name)
def test_the_scripts_avoid_powershell_pitfalls(script: Path) -> None:
    code = _code(script)
    without_strings = re.sub(r'"(?:`.|[^"`])*"|\'[^\']*\'', '""', code)
    for left, right in ("{}", "()", "[]"):
        assert without_strings.count(left) == without_strings.count(right), (left, right)
    # "$name:" in a string reads as a scope or drive ("$env:X"): PowerShell refuses the script
    scope = r"(?!(?:env|script|global|local|using|private):)"
    assert not re.findall(r'"[^"\n]*\$' + scope + r'[A-Za-z_]\w*:[^"\n]*"', code)
    assert "Set-StrictMode -Version Latest" in code and '$ErrorActionPreference = "Stop"' in code
    assert "#Requires -RunAsAdministrator" in script.read_text()


def test_the_installer_sets_up_venv_wheel_settings_acl_and_a_service_that_restarts() -> None:
    code = _code(INSTALL)
    # parameters and their defaults
    assert "[Parameter(Mandatory = $true)]\n    [string]$WheelPath" in code
    assert '[string]$InstallDir = "C:\\Program Files\\cpsync"' in code
    assert '[string]$DataDir = "C:\\ProgramData\\cpsync"' in code
    # the venv through the launcher, the wheel with its extras
    assert 'py.exe "-$PythonVersion" -m venv $venv' in code
    assert '$wheel + "[aws,mssql]"' in code
    # the settings file from the example, for SYSTEM and Administrators only (any language)
    assert 'Join-Path $PSScriptRoot "..\\agent.env.example"' in code
    assert (ROOT / "deploy" / "agent.env.example").is_file()
    assert '/inheritance:r /grant:r "${SystemSid}:(F)" "${AdministratorsSid}:(F)"' in code
    assert '$SystemSid = "*S-1-5-18"' in code and '$AdministratorsSid = "*S-1-5-32-544"' in code
    # NSSM when present, else Task Scheduler: at startup, SYSTEM, restart, no time limit
    assert "Get-Command nssm.exe" in code and "AppExit Default Restart" in code
    for part in (
        "New-ScheduledTaskTrigger -AtStartup",
        '-UserId "SYSTEM"',
        "-RestartCount 999",
        "-RestartInterval (New-TimeSpan -Minutes 1)",
        "-ExecutionTimeLimit ([TimeSpan]::Zero)",  # the default would stop it after 3 days
        "-MultipleInstances IgnoreNew",
        "Start-ScheduledTask",
    ):
        assert part in code, part


def test_the_service_command_line_is_one_the_agent_accepts() -> None:
    code = _code(INSTALL)
    nssm = re.search(r"install \$ServiceName \$cpsync (agent[^\n]*)", code)
    task = re.search(r'\$arguments = "(agent[^\n]*)"', code)
    assert nssm and task
    for line in (nssm.group(1), task.group(1).replace('`"', "")):
        argv = [
            w if not w.startswith("$") else f"C:\\ProgramData\\cpsync\\{w[1:]}"
            for w in line.split()
        ]
        args = build_parser().parse_args(argv)
        assert args.env_file.endswith("envFile") and args.log_file.endswith("logFile")


def test_the_uninstaller_removes_either_kind_of_service_and_keeps_the_settings_unless_asked() -> (
    None
):
    code = _code(UNINSTALL)
    assert "remove $ServiceName confirm" in code and "sc.exe delete $ServiceName" in code
    assert (
        "Unregister-ScheduledTask -TaskPath $TaskPath -TaskName $ServiceName -Confirm:$false"
        in code
    )
    assert "[switch]$RemoveData" in code
    assert code.index("if ($RemoveData)") < code.index("Remove-Item -LiteralPath $DataDir")


def test_the_agent_page_installs_the_wheel_not_a_registry_package() -> None:
    page = (ROOT / "docs" / "agent.md").read_text()
    assert "make dist" in page and "install-agent.ps1" in page
    for text in (page, (ROOT / "README.md").read_text()):
        assert 'pip install "cpsync[aws,mssql]"' not in text
        assert "pip install 'cpsync[aws,mssql]'" not in text
