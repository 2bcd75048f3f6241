"""Which Counterpoint records would write each Magento SKU, to refuse two writing one.

Magento compares SKUs without case and trailing spaces, so `case1` and `CASE1`, `BAD5 ` and
`BAD5`, or an item named like a grid cell's SKU (`TSHIRT-GRID|RED|S`) would silently be one
product, the later write winning. The Items task, which creates the products, reads the claims
once per run before anything is queued: every e-commerce item and grid cell in Counterpoint (so
a changed run sees what a full run sees), plus every product key already sent (a product another
key owns in Magento), and stores the clashes it found. The other tasks read only those stored
clashes (one small state document), not the whole catalog, on every run. A key in a collision is
reported with every other claimant, and none of them is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import Connection

from cpsync.counterpoint.queries import sku_owners
from cpsync.errors import DataError
from cpsync.skus import child_sku, record_key, sku_fold

__all__ = ["SkuClaims", "load_claims"]


class SkuClaims:
    """Claimants of each folded SKU, and the SKUs each record key writes."""

    def __init__(self) -> None:
        # folded SKU -> {raw claimant key: how it claims the SKU}
        self._owners: dict[str, dict[str, str]] = defaultdict(dict)
        # record key (normalised) -> folded SKUs it writes
        self._folds: dict[str, set[str]] = defaultdict(set)

    def add(self, raw_key: str, sku: str, label: str) -> None:
        """Record that the record `raw_key` (as Counterpoint holds it) writes `sku`."""
        self._owners[sku_fold(sku)][raw_key] = label
        self._folds[record_key(raw_key)].add(sku_fold(sku))

    @classmethod
    def from_clashing(cls, owners: Mapping[str, Mapping[str, str]]) -> SkuClaims:
        """Claims rebuilt from `clashing()`: `clash()` answers as the full claims did."""
        claims = cls()
        for folded, claimants in owners.items():
            for raw, label in claimants.items():
                claims.add(raw, folded, label)
        return claims

    def clashing(self) -> dict[str, dict[str, str]]:
        """The SKUs two or more records claim (folded SKU -> claimant -> how it claims it)."""
        return {folded: dict(o) for folded, o in self._owners.items() if len(o) > 1}

    def owns(self, key: str) -> bool:
        """Whether some claim already comes from this (normalised) key."""
        return key in self._folds

    def clash(self, key: str) -> str | None:
        """Why `key` must not be written (another record claims one of its SKUs), or None."""
        for folded in sorted(self._folds.get(key, set()) | {sku_fold(key)}):
            owners = self._owners.get(folded, {})
            if len(owners) > 1:
                who = " and ".join(owners[k] for k in sorted(owners))
                return (
                    f"{who} would all be Magento SKU {folded!r} (Magento ignores case and "
                    "trailing spaces); none of them is written until one is renamed in "
                    "Counterpoint"
                )
        return None


def load_claims(conn: Connection, sent: Iterable[str], separator: str) -> SkuClaims:
    """The claims of every e-commerce item and grid cell, then of products already sent."""
    claims = SkuClaims()
    for row in conn.execute(sku_owners()):
        raw = "" if row.ITEM_NO is None else str(row.ITEM_NO)
        dims = (row.DIM_1_UPR, row.DIM_2_UPR, row.DIM_3_UPR)
        if all(d is None for d in dims):
            claims.add(raw, raw, f"item {raw!r}")
            continue
        try:
            sku = child_sku(raw, [None if d is None else str(d) for d in dims], separator)
        except DataError:
            continue  # refused on its own by the Items task
        cell = "/".join(str(d).strip() for d in dims if d is not None and str(d).strip() != "*")
        claims.add(raw, sku, f"grid cell {cell} of item {record_key(raw)!r}")
    for key in sent:
        if not claims.owns(key):
            claims.add(key, key, f"product {key!r} (already in Magento)")
    return claims
