"""The detection machinery every sync task shares.

A task reads Counterpoint rows, builds the desired Magento state of each record, and queues
a Change only where that state differs from what was last sent (the fingerprint filter).
`Task.run()` does the shared work and is never overridden; a task implements `rows()` and
`build()` and may override the `enrich()` and `gone()` hooks.

Watermark rules (each has a unit test in tests/unit/test_watermark.py):
- A first run, and any `full` run, is a snapshot: every covered record is read.
- Otherwise rows changed at or after `watermark - lookback` are read (inclusive lower bound);
  the overlap absorbs clock skew and commits that land late. Re-read rows cost nothing
  because their fingerprints did not change.
- The new watermark is the run's start time, fixed before reading, from the injected clock.
- The watermark moves only after every Change of the run is queued. A run that dies before
  that is repeated whole next time; the queue and the updater make the repeat harmless.
- A run for named keys (queue item) neither reads nor moves the watermark.
- Deletions are found by set difference in snapshot runs: keys sent before and absent now.
- A task whose deletions leave no trace may ask for a periodic snapshot (`full_every()`): a
  changed run becomes a full one when the last full run is older than that.
- A Change's version starts with the row's own change time (`changed_at`) when that time is
  inside the run's window (or on a first run); otherwise, as for a change nothing stamped (a
  deleted description row found by a snapshot, a departed item, a manual queue), with the
  run's clock. So the updater orders Changes by when Counterpoint changed, and a change no
  stamp reveals is never taken for older than what was applied. A version is also never
  older than the one already applied for its key (clocks of two machines may disagree), so
  a newly detected change is never skipped as stale.

Every record on its own: any exception while building one row (or enriching its batch) is
reported in the run log with the row's key and the run goes on. An empty key, or a key whose
Magento SKU another record also claims (`_claims.py`), is reported and not written. Only
Counterpoint itself failing (a broken connection, a missing table) stops the task, as one
`RetryableError` or `ConfigurationError` naming the task.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, ClassVar, final
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError

from cpsync.counterpoint.columns import Catalog, Need, missing_required, read_catalog
from cpsync.documents import SKU_CLASHES, SkuClashes
from cpsync.errors import ConfigurationError, CpsyncError, RetryableError
from cpsync.model import Change, Desired, Kind, make_version, new_run_id, utc_now
from cpsync.ports import QueuePort, RunError, RunRecord, StatePort
from cpsync.redact import describe
from cpsync.settings import Settings
from cpsync.tasks._claims import SkuClaims, load_claims, load_claims_of, separated

__all__ = ["RunResult", "Task", "TaskContext", "Window", "window_for"]

logger = logging.getLogger(__name__)


@dataclass
class TaskContext:
    """What a task needs from the outside world; built once per process."""

    settings: Settings
    counterpoint: Engine
    state: StatePort
    queue: QueuePort
    clock: Callable[[], datetime] = utc_now

    def catalog(self) -> Catalog:
        """The columns Counterpoint has now (one catalog query; a run reads it once).

        Raises:
            SQLAlchemyError: Counterpoint cannot be read.
        """
        with self.counterpoint.connect() as conn:
            return read_catalog(conn)


@dataclass(frozen=True)
class Window:
    """The change window of an incremental run: rows changed at or after `since_utc`.

    Counterpoint keeps `RS_UTC_DT` in UTC and `LST_MAINT_DT` in the server's local time, so
    the window offers the lower bound in both, as naive datetimes like the columns.
    """

    since_utc: datetime
    zone: ZoneInfo

    @property
    def since_local(self) -> datetime:
        """The lower bound in the Counterpoint server's local time (naive)."""
        return self.since_utc.replace(tzinfo=UTC).astimezone(self.zone).replace(tzinfo=None)


def window_for(watermark: datetime | None, lookback: timedelta, zone: ZoneInfo) -> Window | None:
    """The window after `watermark`, or None (a snapshot) when there is no watermark yet."""
    if watermark is None:
        return None
    return Window(since_utc=watermark - lookback, zone=zone)


@dataclass
class RunResult:
    """What one task run did, for the CLI summary, the API and metrics."""

    task: str
    run_id: str
    mode: str
    read: int = 0
    queued: int = 0
    unchanged: int = 0
    errors: list[RunError] = field(default_factory=list)
    removed: int = 0
    #: Changes queued that disable a product (it left e-commerce or was deleted).
    disabled: int = 0
    seconds: float = 0.0
    watermark: datetime | None = None
    #: How the run started: "schedule", "queue_changed", "queue_all", "queue_item",
    #: "sync_item"; None when not said (the CLI).
    trigger: str | None = None

    def report(self, key: str, message: str, level: str = "error") -> None:
        """Add a run-log entry for one record (`level` "warning": the record still syncs)."""
        self.errors.append(RunError(self.run_id, self.task, key, message, datetime.now(UTC), level))

    @property
    def failed(self) -> list[RunError]:
        """The entries that are errors (a record, or part of one, not synced)."""
        return [e for e in self.errors if e.level == "error"]


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "record"
            parts.append(f"{where}: {err['msg']}")
        return "; ".join(parts)
    return describe(exc)


# What stops a task: Counterpoint (or a setting) failing, not one record.
_FATAL = (SQLAlchemyError, RetryableError, ConfigurationError)


def _source_failure(task: str, exc: SQLAlchemyError) -> CpsyncError:
    """One line naming the task and what Counterpoint said (the cause stays chained)."""
    cause = describe(exc)
    text = str(exc).lower()
    if isinstance(exc, ProgrammingError) or "no such table" in text or "invalid object" in text:
        return ConfigurationError(f"{task}: a Counterpoint table is missing ({cause})")
    return RetryableError(f"{task}: Counterpoint cannot be read ({cause})")


def _not_before(when: datetime, applied_version: str | None) -> datetime:
    """`when`, moved up to the time of the version already applied (the sequence then wins)."""
    if applied_version is None:
        return when
    applied_time = datetime.strptime(applied_version.split("/")[0], "%Y-%m-%dT%H:%M:%S.%f")
    return max(when, applied_time)


class Task(ABC):
    """Base of every sync task (see the module docstring for the rules)."""

    name: ClassVar[str]
    kind: ClassVar[Kind]
    batch_size: ClassVar[int] = 500
    # Default schedule in EventBridge Scheduler syntax, in the Counterpoint server's time zone.
    schedule: ClassVar[str] = "rate(10 minutes)"
    # What the sync interface calls the task.
    title: ClassVar[str] = ""
    # Keys are Magento SKUs (or item numbers): checked for collisions before anything is queued.
    sku_keyed: ClassVar[bool] = True
    # This task creates the products: it reads every SKU claim and stores the clashes it finds.
    owns_skus: ClassVar[bool] = False
    # The Counterpoint columns the task reads (counterpoint/columns.py): a required one missing
    # stops the task with one line; an optional one missing means its fallback.
    needs: ClassVar[tuple[Need, ...]] = ()

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        # Set per run: source times older than this do not version a Change (module rules).
        self._version_floor: datetime | None = None
        # Set per run: its upper bound, the watermark it sets once it finishes.
        self.run_upper: datetime | None = None
        # Set per run: where Changes go (the queue unless the caller applies them itself).
        self._sink: Callable[[Sequence[Change]], object] | None = None
        self._result: RunResult | None = None
        self.claims: SkuClaims | None = None
        self._given_claims: SkuClaims | None = None
        # Set per run: the claims are looked up per batch (a changed run of the owning task),
        # and the item numbers with a grid separator in them, read at the first batch.
        self._claims_per_batch = False
        self._separated: set[str] | None = None
        # Set per run: the columns Counterpoint has (None outside a run: all declared ones).
        self.catalog: Catalog | None = None
        self._given_catalog: Catalog | None = None

    def use_claims(self, claims: SkuClaims | None) -> None:
        """Check keys against claims a calling task already read (not read again per run)."""
        self._given_claims = claims

    def use_catalog(self, catalog: Catalog | None) -> None:
        """Use the columns a calling task already read in its run (not read again)."""
        self._given_catalog = catalog

    def report(self, key: str, message: str, level: str = "error") -> None:
        """Add a run-log entry from `build` or a hook while the record itself goes on."""
        if self._result is not None:
            self._result.report(key, message, level)

    # --- what a task implements -----------------------------------------------------------
    @abstractmethod
    def rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[Any]:
        """Counterpoint rows to consider: changed in `window`, all (None), or for `keys`."""

    @abstractmethod
    def key_of(self, row: Any) -> str:
        """The record key of a row (an item number, a category id)."""

    @abstractmethod
    def build(self, row: Any, extra: Any) -> Desired:
        """The desired Magento state of one row.

        Raises:
            DataError: The row cannot become a valid record; the message names the column.
        """

    def enrich(self, rows: Sequence[Any]) -> Any:
        """Fetch what a batch of rows needs besides the row itself (prices, quantities)."""
        return None

    def gone(self, key: str) -> Desired | None:
        """The desired state of a record sent before and now absent (None: leave it)."""
        return None

    def finished(self) -> None:
        """Called once a run has queued everything and set its watermark (nothing by default).

        For what a run notes for the next one only when it did not fail half-way.
        """
        return None

    def full_every(self) -> timedelta | None:
        """How old the last full run may get before a changed run reads everything again.

        None (the default): only first runs and explicit `full` runs are snapshots;
        `timedelta(0)`: every run is (small tables whose deletions must be seen at once).
        """
        return None

    def _full_due(self, now: datetime) -> bool:
        every = self.full_every()
        if every is None:
            return False
        last = self.ctx.state.get_watermark(f"{self.name}:full")
        return last is None or now - last >= every

    def changed_at(self, row: Any, extra: Any) -> datetime | None:
        """When Counterpoint last changed the record, naive UTC (None: unknown)."""
        return None

    # --- the shared work ------------------------------------------------------------------
    @final
    def run(
        self,
        full: bool = False,
        keys: Sequence[str] | None = None,
        force: bool = False,
        progress: Callable[[int], None] | None = None,
        emit: Callable[[Sequence[Change]], object] | None = None,
        trigger: str | None = None,
    ) -> RunResult:
        """Detect changes and queue them; see the module docstring for the rules.

        Args:
            full: Read every record (reconciliation), not only the changed ones.
            keys: Only these records (manual "queue item"); the watermark is left alone.
            force: Queue records even when their fingerprint did not change.
            progress: Called with the number of rows handled after each batch.
            emit: Where the Changes go (default: the queue); "Sync Item" applies them at once.
            trigger: How the run started, kept in the run log ("schedule", "queue_all", ...).
        """
        self._sink = emit
        state, started = self.ctx.state, time.monotonic()
        upper = self.ctx.clock().astimezone(UTC).replace(tzinfo=None)
        self.run_upper = upper
        stored = None if keys is not None else state.get_watermark(self.name)
        watermark = None if full else stored
        if watermark is not None and self._full_due(upper):
            watermark = None
        lookback = timedelta(seconds=self.settings.watermark_lookback_seconds)
        self._version_floor = (
            datetime.max if keys is not None else (stored - lookback if stored else None)
        )
        window = None if keys is not None else window_for(watermark, lookback, self.settings.zone)
        snapshot = keys is None and window is None
        mode = "item" if keys is not None else ("full" if snapshot else "changed")
        run_id = new_run_id(self.name)
        result = RunResult(task=self.name, run_id=run_id, mode=mode, trigger=trigger)
        record = RunRecord(run_id=run_id, task=self.name, started_at=datetime.now(UTC))
        state.start_run(record)
        seen: set[str] = set()
        self._result = result
        try:
            self.catalog = self._read_catalog()
            self._claims_per_batch = (
                self.owns_skus and window is not None and self._given_claims is None
            )
            self._separated = None
            self.claims = self._given_claims or self._load_claims()
            for batch in _batches(self.rows(window, keys), self.batch_size):
                times: dict[str, datetime] = {}
                desired = self._build_batch(batch, result, times)
                # Rows that failed to build still exist: they must not look deleted below.
                seen.update(self._key(row) for row in batch)
                self._emit(desired, result, run_id, force, times)
                result.read += len(batch)
                if progress:
                    progress(len(batch))
            if snapshot:
                missing = sorted(set(state.get_sent(self.kind)) - seen)
                departed = [d for d in (self.gone(k) for k in missing) if d is not None]
                before = result.queued
                self._emit(departed, result, run_id, force)
                result.removed = result.queued - before
            state.add_errors(result.errors)
            if keys is None:
                state.set_watermark(self.name, upper)
                result.watermark = upper
            if snapshot:
                state.set_watermark(f"{self.name}:full", upper)
            self.finished()
        except BaseException as exc:
            record.status = "failed"
            record.counts = self._counts(result)
            state.finish_run(record)
            if isinstance(exc, SQLAlchemyError):
                failure = _source_failure(self.name, exc)
                state.add_errors([RunError(run_id, self.name, "", str(failure), datetime.now(UTC))])
                raise failure from exc
            if isinstance(exc, CpsyncError):
                state.add_errors([RunError(run_id, self.name, "", str(exc), datetime.now(UTC))])
            raise
        finally:
            self._result = None
        result.seconds = time.monotonic() - started
        record.status = "ok" if not result.failed else "ok_with_errors"
        record.counts = self._counts(result)
        record.finished_at = datetime.now(UTC)
        state.finish_run(record)
        logger.info(
            "%s run %s: read %d, queued %d, %d errors",
            self.name,
            run_id,
            result.read,
            result.queued,
            len(result.errors),
        )
        return result

    def _read_catalog(self) -> Catalog | None:
        """The database's columns, checked against `needs`.

        None when the task reads no column, so it never reaches for Counterpoint.

        Raises:
            ConfigurationError: A required table or column is missing (one line names them).
            SQLAlchemyError: Counterpoint cannot be read.
        """
        if not self.needs:
            return None
        catalog = self._given_catalog or self.ctx.catalog()
        problems = missing_required(catalog, self.needs)
        if problems:
            raise ConfigurationError(
                f"{self.name}: Counterpoint has {', '.join(problems)}; this task needs "
                f"{'it' if len(problems) == 1 else 'them'} and does not run "
                "(`cpsync check` lists every column)"
            )
        return catalog

    def _load_claims(self) -> SkuClaims | None:
        """The SKU claims this run checks keys against (see `_claims.py`).

        The task that creates products reads every claimant and stores the clashes in a
        snapshot or keyed run; in a changed run it starts from the stored clashes and looks up
        the claimants of each batch (`_batch_claims`). The other tasks read only the stored
        clashes, so their frequent changed runs stay O(changed rows).
        """
        if not self.sku_keyed:
            return None
        state = self.ctx.state
        if not self.owns_skus or self._claims_per_batch:
            stored = SKU_CLASHES.get(state, ["all"]).get("all")
            return SkuClaims.from_clashing(stored.owners if stored else {})
        sent = state.get_sent("product")
        with self.ctx.counterpoint.connect() as conn:
            claims = load_claims(conn, sent, self.settings.grid_sku_separator)
        SKU_CLASHES.put(state, {"all": SkuClashes(owners=claims.clashing())})
        return claims

    def _batch_claims(self, batch: list[Any]) -> SkuClaims:
        """The stored clashes, with the claimants of this batch's keys read again.

        The clashes found are stored at once, so the other tasks see them in their next run.
        """
        state = self.ctx.state
        before = self.claims.clashing() if self.claims is not None else {}
        keys = [k for k in (self._key(row) for row in batch) if k]
        separator = self.settings.grid_sku_separator
        with self.ctx.counterpoint.connect() as conn:
            if self._separated is None:
                self._separated = separated(conn, separator)
            claims = load_claims_of(
                conn,
                keys,
                separator,
                before,
                lambda some: state.get_sent("product", some),
                self._separated,
            )
        if claims.clashing() != before:
            SKU_CLASHES.put(state, {"all": SkuClashes(owners=claims.clashing())})
        return claims

    def _key(self, row: Any) -> str:
        try:
            return self.key_of(row)
        except Exception:  # reported by _build_batch
            return ""

    def _build_batch(
        self, batch: list[Any], result: RunResult, times: dict[str, datetime]
    ) -> list[Desired]:
        """Desired states of the rows that build; every other row is reported by key."""
        if self._claims_per_batch:
            self.claims = self._batch_claims(batch)
        try:
            extra = self.enrich(batch)
        except _FATAL:
            raise
        except Exception as exc:
            if len(batch) > 1:
                # One row broke the batch's lookups: each row on its own finds which.
                return [d for row in batch for d in self._build_batch([row], result, times)]
            key = self._key(batch[0])
            result.report(key, f"{self.kind} {key}: {_describe(exc)}")
            return []
        built: list[Desired] = []
        floor = self._version_floor
        for row in batch:
            key = self._key(row)
            if not key:
                result.report("", f"{self.kind}: the record's key is empty, and Magento needs one")
                continue
            clash = self.claims.clash(key) if self.claims is not None else None
            if clash is not None:
                result.report(key, f"{self.kind} {key}: {clash}")
                continue
            try:
                built.append(self.build(row, extra))
                when = self.changed_at(row, extra)
                if when is not None and (floor is None or when >= floor):
                    times[key] = when
            except _FATAL:
                raise
            except Exception as exc:
                logger.debug("%s %s not built", self.kind, key, exc_info=True)
                result.report(key, f"{self.kind} {key}: {_describe(exc)}")
        return built

    def _emit(
        self,
        desired: list[Desired],
        result: RunResult,
        run_id: str,
        force: bool,
        times: dict[str, datetime] | None = None,
    ) -> None:
        if not desired:
            return
        state = self.ctx.state
        keys = [d.key() for d in desired]
        sent = state.get_sent(self.kind, keys)
        applied = state.get_applied(self.kind, keys)
        now = self.ctx.clock()
        now_utc = now.astimezone(UTC).replace(tzinfo=None)
        changes: list[Change] = []
        for item in desired:
            key, print_ = item.key(), item.fingerprint()
            previous = sent.get(key)
            if not force and (
                previous == print_ or (previous is None and not item.publish_if_new())
            ):
                result.unchanged += 1
                continue
            changes.append(
                Change(
                    kind=self.kind,
                    key=key,
                    version=make_version(
                        _not_before(
                            (times or {}).get(key) or now_utc,
                            applied[key].version if key in applied else None,
                        )
                    ),
                    fingerprint=print_,
                    payload=item.payload(),
                    task=self.name,
                    run_id=run_id,
                    detected_at=now,
                    force=force,
                )
            )
        (self._sink or self.ctx.queue.send)(changes)
        state.put_sent(self.kind, {c.key: c.fingerprint for c in changes})
        result.queued += len(changes)
        # A bare "1 change queued" hides that the change takes a product offline.
        result.disabled += sum(1 for c in changes if c.payload.get("enabled") is False)

    @staticmethod
    def _counts(result: RunResult) -> dict[str, Any]:
        return {
            "mode": result.mode,
            **({"trigger": result.trigger} if result.trigger else {}),
            "read": result.read,
            "queued": result.queued,
            "unchanged": result.unchanged,
            "removed": result.removed,
            "disabled": result.disabled,
            "errors": len(result.failed),
            "warnings": len(result.errors) - len(result.failed),
        }
