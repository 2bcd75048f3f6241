"""Adapters under contract: every port test runs against each adapter listed here.

The AWS issue adds SQS/DynamoDB adapters (against moto over HTTP) to these fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cpsync.embedded import LocalBlobs, SqliteQueue, SqliteState, sqlite_engine
from cpsync.model import Change, make_version
from cpsync.ports import BlobPort


class FakeClock:
    """A clock the test moves by hand, so visibility timeouts need no sleeping."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite"])
def queue(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[SqliteQueue]:
    engine = sqlite_engine(f"sqlite:///{tmp_path}/state.db")
    yield SqliteQueue(engine, visibility_seconds=30, max_receives=3, clock=clock)
    engine.dispose()


@pytest.fixture(params=["sqlite"])
def state(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[SqliteState]:
    engine = sqlite_engine(f"sqlite:///{tmp_path}/state.db")
    yield SqliteState(engine, clock=clock)
    engine.dispose()


@pytest.fixture(params=["local"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobPort:
    return LocalBlobs(tmp_path / "blobs")


def _change(key: str) -> Change:
    return Change(
        kind="product",
        key=key,
        version=make_version(None),
        fingerprint="f",
        payload={"sku": key},
        task="items",
        run_id="r",
        detected_at=datetime.now(UTC),
    )


@pytest.fixture
def make_change() -> Callable[[str], Change]:
    """A product Change for a key, with a fresh (increasing) version."""
    return _change
