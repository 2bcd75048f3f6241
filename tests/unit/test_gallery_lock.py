"""Gallery locks: a drain killed while writing a gallery must not hold the next one up."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from cpsync.embedded import SqliteState, sqlite_engine
from cpsync.magento.media import _Lease


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(done.stdout)


def test_a_lock_whose_process_is_gone_is_taken_over_at_once_and_a_live_ones_is_not(
    tmp_path: Path,
) -> None:
    state = SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))
    host = socket.gethostname()
    # GIVEN a gallery lock held for 5 minutes by a process that was killed
    assert state.acquire_lock("gallery:A", f"{host}:{_dead_pid()}:ab", ttl_seconds=300)
    # ... and one held by a process that still runs (this one)
    assert state.acquire_lock("gallery:B", f"{host}:{os.getpid()}:cd", ttl_seconds=300)
    # WHEN another writer asks for them, THEN it gets the dead one's lock at once
    taken = _Lease(state, "gallery:A")
    assert taken.take()
    assert state.lock_holder("gallery:A") == taken.owner
    # AND it waits for the live one's (whose expiry frees it if that process hangs)
    assert not _Lease(state, "gallery:B").take()
    # AND another machine's lock is never taken over: its process cannot be seen from here
    assert state.acquire_lock("gallery:C", f"other-host:{_dead_pid()}:ef", ttl_seconds=300)
    assert not _Lease(state, "gallery:C").take()
