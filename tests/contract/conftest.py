"""Adapters under contract: every port test runs against each adapter listed here.

The AWS issue adds SQS/DynamoDB adapters (against moto over HTTP) to these fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cpsync.embedded import SqliteQueue, SqliteState, sqlite_engine


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
