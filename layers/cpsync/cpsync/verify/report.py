"""What verify reports: per kind, the records that differ."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Difference", "KindReport", "VerifyReport"]


# --- the report --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Difference:
    """One record that differs: per field, what Magento has and what Counterpoint asks."""

    kind: str
    key: str
    fields: dict[str, tuple[Any, Any]]

    def to_json(self) -> dict[str, Any]:
        """The difference for scripts and the API: per field, Magento's and Counterpoint's."""
        return {
            "key": self.key,
            "fields": {f: {"magento": m, "counterpoint": c} for f, (m, c) in self.fields.items()},
        }


@dataclass
class KindReport:
    """What verify found for one kind."""

    kind: str
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    #: Why the kind was not compared (its task failed), None when it was.
    skipped: str | None = None


@dataclass
class VerifyReport:
    """The whole comparison: per kind, the Magento requests it took, and what was repaired."""

    kinds: dict[str, KindReport]
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    repaired: int = 0

    @property
    def differs(self) -> bool:
        """Whether any record of any kind differs."""
        return any(k.differences for k in self.kinds.values())

    def to_json(self, examples: int = 5) -> dict[str, Any]:
        """The report for scripts and the API: counts and up to `examples` records per kind."""
        return {
            "ok": not self.differs and not self.errors,
            "differ": sum(len(k.differences) for k in self.kinds.values()),
            "kinds": {
                name: {
                    "checked": k.checked,
                    "differ": len(k.differences),
                    "skipped": k.skipped,
                    "examples": [d.to_json() for d in k.differences[:examples]],
                }
                for name, k in self.kinds.items()
            },
            "errors": self.errors,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "repaired": self.repaired,
        }
