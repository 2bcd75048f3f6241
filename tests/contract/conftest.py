"""Adapters under contract: every port test runs against each adapter listed here.

The AWS adapters (SQS, DynamoDB, S3) run against moto server over HTTP (`aws` fixture in
tests/conftest.py). SQS visibility runs on real time: a test that moves the fake clock is skipped
for SQS (with the reason) and covered by real waiting in tests/aws/test_sqs_adapter.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cpsync.aws import DynamoState, S3Blobs, SqsQueue
from cpsync.embedded import LocalBlobs, SqliteQueue, SqliteState, sqlite_engine
from cpsync.model import Change, make_version
from cpsync.ports import BlobPort, QueuePort, StatePort


class FakeClock:
    """A clock the test moves by hand, so visibility timeouts need no sleeping."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RealTimeClock(FakeClock):
    """The clock of an SQS test: SQS keeps time itself, so moving the clock skips the test."""

    def advance(self, seconds: float) -> None:
        pytest.skip(
            "SQS visibility timeouts run on SQS's own clock; covered with real waiting "
            "in tests/aws/test_sqs_adapter.py"
        )


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FakeClock:
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    return RealTimeClock() if params.get("queue") == "sqs" else FakeClock()


@pytest.fixture(params=["sqlite", "sqs"])
def queue(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[QueuePort]:
    if request.param == "sqs":
        stack = request.getfixturevalue("aws")
        notes = DynamoState(stack.table, stack.client("dynamodb"))
        yield SqsQueue(
            stack.queue_url,
            stack.dead_letter_url,
            stack.client("sqs"),
            notes=notes,
            overflow=S3Blobs(stack.bucket, stack.client("s3"), prefix="overflow/"),
            visibility_seconds=30,
            max_receives=3,
        )
        return
    engine = sqlite_engine(f"sqlite:///{tmp_path}/state.db")
    yield SqliteQueue(engine, visibility_seconds=30, max_receives=3, clock=clock)
    engine.dispose()


@pytest.fixture(params=["sqlite", "dynamodb"])
def state(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[StatePort]:
    if request.param == "dynamodb":
        stack = request.getfixturevalue("aws")
        yield DynamoState(stack.table, stack.client("dynamodb"), clock=clock)
        return
    engine = sqlite_engine(f"sqlite:///{tmp_path}/state.db")
    yield SqliteState(engine, clock=clock)
    engine.dispose()


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobPort:
    if request.param == "s3":
        stack = request.getfixturevalue("aws")
        return S3Blobs(stack.bucket, stack.client("s3"))
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
