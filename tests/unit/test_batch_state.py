"""BatchState: the writers' notes are written once per kind when a batch ends, read back at
once inside it, and written at once while a lock is held."""

from __future__ import annotations

from pathlib import Path

from cpsync._batch_state import BatchState
from cpsync.embedded import SqliteState, sqlite_engine
from cpsync.ports import AppliedRecord


def _states(tmp_path: Path) -> tuple[SqliteState, BatchState]:
    real = SqliteState(sqlite_engine(f"sqlite:///{tmp_path}/state.db"))
    return real, BatchState(real)


def test_given_an_open_batch_when_writers_note_ids_and_docs_then_they_are_read_back_and_written_at_the_end(
    tmp_path: Path,
) -> None:
    real, state = _states(tmp_path)
    with state.batch():
        # GIVEN notes of three records, one call each, and a document deleted
        real.put_docs("category", {"OLD": {"name": "old"}})
        for n in range(3):
            state.put_magento_ids("product", {f"P{n}": 100 + n})
            state.put_docs("category_links", {f"P{n}": {"categories": [n]}})
        state.delete_docs("category", ["OLD"])
        state.put_applied("stock", {"P0": AppliedRecord("v2", "f2")})
        state.put_applied("stock", {"P0": AppliedRecord("v1", "f1")})  # older: never wins
        # THEN the batch reads them back before anything is written
        assert state.get_magento_ids("product", ["P0", "P2", "P9"]) == {"P0": 100, "P2": 102}
        assert state.get_docs("category_links")["P1"] == {"categories": [1]}
        assert state.get_docs("category") == {}
        assert state.get_applied("stock", ["P0"])["P0"].version == "v2"
        assert real.get_magento_ids("product", ["P0"]) == {}
    # AND when the batch ends they are all in the real state
    assert real.get_magento_ids("product", ["P0", "P1", "P2"]) == {"P0": 100, "P1": 101, "P2": 102}
    assert set(real.get_docs("category_links")) == {"P0", "P1", "P2"}
    assert real.get_docs("category") == {}
    assert real.get_applied("stock", ["P0"])["P0"] == AppliedRecord("v2", "f2")


def test_given_a_lock_held_when_a_note_is_written_then_it_is_in_the_real_state_at_once(
    tmp_path: Path,
) -> None:
    real, state = _states(tmp_path)
    with state.batch():
        state.put_docs("image", {"SKU": {"entries": [1]}})
        # GIVEN this thread holds the gallery lock (another process may take it next)
        assert state.acquire_lock("gallery:SKU", "me", 60)
        # WHEN it notes the gallery
        state.put_docs("image", {"SKU": {"entries": [1, 2]}})
        state.release_lock("gallery:SKU", "me")
        # THEN the note is in the real state before the lock is free
        assert real.get_docs("image", ["SKU"]) == {"SKU": {"entries": [1, 2]}}
    # AND the older copy held for the batch does not overwrite it at the end
    assert real.get_docs("image", ["SKU"]) == {"SKU": {"entries": [1, 2]}}


def test_given_no_batch_open_then_every_write_goes_straight_through(tmp_path: Path) -> None:
    real, state = _states(tmp_path)
    state.put_magento_ids("product", {"A": 1})
    state.put_sent("price", {"A": "f"})
    assert real.get_magento_ids("product", ["A"]) == {"A": 1}
    assert real.get_sent("price") == {"A": "f"}
