"""The library runs on the store's Windows server too (the agent): no POSIX-only call in it,
enforced by ruff's banned-api, and the lock owner's liveness probe works on both systems."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cpsync import _process, control

ROOT = Path(__file__).resolve().parents[2]
POSIX_ONLY = "import os\nimport fcntl\nimport signal\n\nhost = os.uname().nodename\nos.kill(1, signal.SIGKILL)\n"


def _ruff(stdin_filename: str, source: str) -> subprocess.CompletedProcess[str]:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    return subprocess.run(
        [
            ruff,
            "check",
            "--no-cache",
            "--select",
            "TID251",
            "--stdin-filename",
            stdin_filename,
            "-",
        ],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_lint_refuses_posix_only_calls_in_the_library_and_says_what_to_use() -> None:
    done = _ruff("layers/cpsync/cpsync/new_module.py", POSIX_ONLY)
    assert done.returncode == 1
    assert "`os.uname` is banned: POSIX only; use socket.gethostname()" in done.stdout
    assert "`fcntl` is banned" in done.stdout
    assert "`signal.SIGKILL` is banned" in done.stdout
    assert "`os.kill` is banned: not a liveness probe on Windows" in done.stdout


def test_lint_lets_tests_and_tools_use_them() -> None:
    assert _ruff("tests/unit/test_x.py", POSIX_ONLY).returncode == 0


def test_a_lock_owner_names_the_host_portably(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "uname", raising=False)  # as on Windows
    host, pid, _ = control._owner().split(":")
    assert host and int(pid) == os.getpid()


def test_the_liveness_probe_knows_running_gone_and_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    assert _process.process_state(os.getpid()) == "running"
    assert _process.process_state(int(done.stdout)) == "gone"
    assert _process.process_state(0) == "unknown"
    # On Windows os.kill(pid, 0) would *terminate* the process: it is never called there.
    monkeypatch.setattr(os, "name", "nt")
    monkeypatch.setattr(os, "kill", lambda *a: pytest.fail("os.kill called on Windows"))
    assert _process.process_state(os.getpid()) == "unknown"  # no kernel32 here: unknown is safe
