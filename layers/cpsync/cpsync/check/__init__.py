"""`cpsync check`: what in this store differs from what cpsync needs, before the first sync.

Each part reads a real system's own catalog and says, in plain words, what is wrong and how
to fix it: Counterpoint (`check.counterpoint`), Magento (`check.magento`) and the image folder
or prefix (`check.images`). A finding is `ok`, a `warning` (the sync works, with a fallback
or at a cost) or `blocking` (a task or a writer cannot work until it is fixed). Nothing is
changed anywhere: an index that would help is advice with its `CREATE INDEX` statement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from cpsync.redact import describe

if TYPE_CHECKING:
    from cpsync.runtime import Runtime

__all__ = [
    "CHECK_REPORT",
    "Area",
    "Finding",
    "Level",
    "Report",
    "run_check",
]

Area = Literal["counterpoint", "magento", "images"]
Level = Literal["ok", "warning", "blocking"]
#: The state option that keeps the latest report (what `GET /api/check` answers).
CHECK_REPORT = "setup_check"


@dataclass(frozen=True)
class Finding:
    """One thing `check` found: where, how bad, what it is, and how to fix it."""

    area: Area
    level: Level
    sentence: str
    fix: str = ""


@dataclass
class Report:
    """Every finding of one check, in the order they were found."""

    findings: list[Finding] = field(default_factory=list)
    checked_at: str = ""
    seconds: float = 0.0

    @property
    def blocking(self) -> list[Finding]:
        """What stops a sync."""
        return [f for f in self.findings if f.level == "blocking"]

    @property
    def ok(self) -> bool:
        """Nothing blocks a sync (warnings allowed)."""
        return not self.blocking

    @property
    def exit_code(self) -> int:
        """0 when nothing blocks a sync, 1 otherwise."""
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        """The report for scripts and the API."""
        counts = {level: 0 for level in ("ok", "warning", "blocking")}
        for finding in self.findings:
            counts[finding.level] += 1
        return {
            "ok": self.ok,
            "checked_at": self.checked_at,
            "seconds": self.seconds,
            "counts": counts,
            "findings": [asdict(f) for f in self.findings],
        }


def _guarded(area: Area, part: Callable[[], list[Finding]]) -> list[Finding]:
    """A part that fails unexpectedly is one blocking finding, never a crash of the check."""
    try:
        return part()
    except Exception as exc:
        return [
            Finding(
                area,
                "blocking",
                f"The {area} check itself failed: {describe(exc)}.",
                "Run `cpsync -v check` to see the log, and report it if the cause is not clear.",
            )
        ]


def run_check(runtime: Runtime) -> Report:
    """Check Counterpoint, Magento and the images against what cpsync needs; never raises."""
    from cpsync.check.counterpoint import CounterpointFacts, check_counterpoint
    from cpsync.check.images import check_images
    from cpsync.check.magento import check_magento

    started = time.monotonic()
    facts = CounterpointFacts()
    report = Report(checked_at=datetime.now(UTC).isoformat(timespec="seconds"))
    report.findings += _guarded("counterpoint", lambda: check_counterpoint(runtime, facts))
    report.findings += _guarded("magento", lambda: check_magento(runtime, facts))
    report.findings += _guarded("images", lambda: check_images(runtime, facts))
    report.seconds = round(time.monotonic() - started, 3)
    return report
