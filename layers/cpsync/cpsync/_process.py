"""Whether a process on this machine still runs, on POSIX and on Windows.

A lock's owner is `host:pid:random`; a lock whose process is gone may be taken over at once.
`os.kill(pid, 0)` is that probe on POSIX only: on Windows `os.kill` with any other signal than
the two console events *terminates* the process. So Windows asks the kernel instead
(`OpenProcess` + `GetExitCodeProcess` through ctypes), and anything this module cannot tell
is "unknown", which callers treat like "running" (the lock's expiry frees it).
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Literal

__all__ = ["ProcessState", "process_state"]

ProcessState = Literal["running", "gone", "unknown"]

_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_STILL_ACTIVE = 259
_ERROR_INVALID_PARAMETER = 87  # OpenProcess on a pid that names no process


def process_state(pid: int) -> ProcessState:
    """Whether process `pid` of this machine runs; "unknown" when the system cannot say."""
    if pid <= 0:
        return "unknown"
    if os.name == "nt":
        return _windows_state(pid)
    try:
        os.kill(pid, 0)  # noqa: TID251 - POSIX only; Windows takes the branch above
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        return "running"  # it exists, under another user
    except OSError:
        return "unknown"
    return "running"


def _windows_state(pid: int) -> ProcessState:
    windll: Any = getattr(ctypes, "WinDLL", None)
    last_error: Any = getattr(ctypes, "get_last_error", None)
    if windll is None or last_error is None:
        return "unknown"  # not a Windows Python (a test that fakes os.name)
    try:
        kernel32 = windll("kernel32", use_last_error=True)
    except OSError:
        return "unknown"
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return "gone" if last_error() == _ERROR_INVALID_PARAMETER else "unknown"
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return "unknown"
        return "running" if code.value == _STILL_ACTIVE else "gone"
    finally:
        kernel32.CloseHandle(handle)
