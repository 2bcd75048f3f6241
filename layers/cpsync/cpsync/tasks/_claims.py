"""Which Counterpoint records would write each Magento SKU, to refuse two writing one.

Magento compares SKUs without case and trailing spaces, so `case1` and `CASE1`, `BAD5 ` and
`BAD5`, or an item named like a grid cell's SKU (`TSHIRT-GRID|RED|S`) would silently be one
product, the later write winning. The Items task, which creates the products, reads the claims
once per run before anything is queued: every e-commerce item and grid cell in Counterpoint (so
a changed run sees what a full run sees), plus every product key already sent (a product another
key owns in Magento), and stores the clashes it found. The other tasks read only those stored
clashes (one small state document), not the whole catalog, on every run. A key in a collision is
reported with every other claimant, and none of them is written.

A changed Items run does not read every claim either (`load_claims_of`): a clash needs two
claimants of one folded SKU, and one of them is a record the run reads, so the run looks up only
the records whose number folds like one of its keys or a grid parent of one (the part before a
separator), then, from the SKUs that finds (grid cells included), the items named like them:
only items whose number holds the separator can be, and those are read once per run
(`separated_items`), so a grid cell costs a lookup only when such an item exists. The stored
clashes stand for every other record. What a changed run cannot see this way (a product
sent under a key that differs only in case from a new item and no longer in Counterpoint; a
fold SQL's LOWER reads otherwise than Python's casefold) the next full run finds: it reads
every claim, as a first run and `--full` do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection

from cpsync.counterpoint.queries import MAX_IN_LIST, separated_items, sku_owners
from cpsync.errors import DataError
from cpsync.skus import child_sku, record_key, sku_fold

__all__ = ["SkuClaims", "load_claims", "load_claims_of", "separated"]


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

    def add_owners(self, owners: Mapping[str, Mapping[str, str]]) -> None:
        """Add claims as `owners()` or `clashing()` give them."""
        for folded, claimants in owners.items():
            for raw, label in claimants.items():
                self.add(raw, folded, label)

    def add_sent(self, keys: Iterable[str]) -> None:
        """Add the products already sent under `keys` that no record claims from that key."""
        for key in keys:
            if not self.owns(key):
                self.add(key, key, f"product {key!r} (already in Magento)")

    @classmethod
    def from_clashing(cls, owners: Mapping[str, Mapping[str, str]]) -> SkuClaims:
        """Claims rebuilt from `clashing()`: `clash()` answers as the full claims did."""
        claims = cls()
        claims.add_owners(owners)
        return claims

    def owners(self) -> dict[str, dict[str, str]]:
        """Every claim: folded SKU -> claimant key -> how it claims the SKU."""
        return {folded: dict(o) for folded, o in self._owners.items()}

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


def _add_owner(claims: SkuClaims, row: Any, separator: str) -> str | None:
    """Add the claim of one `sku_owners` row; the SKU it claims (None: no valid SKU)."""
    raw = "" if row.ITEM_NO is None else str(row.ITEM_NO)
    dims = (row.DIM_1_UPR, row.DIM_2_UPR, row.DIM_3_UPR)
    if all(d is None for d in dims):
        claims.add(raw, raw, f"item {raw!r}")
        return raw
    try:
        sku = child_sku(raw, [None if d is None else str(d) for d in dims], separator)
    except DataError:
        return None  # refused on its own by the Items task
    cell = "/".join(str(d).strip() for d in dims if d is not None and str(d).strip() != "*")
    claims.add(raw, sku, f"grid cell {cell} of item {record_key(raw)!r}")
    return sku


def load_claims(conn: Connection, sent: Iterable[str], separator: str) -> SkuClaims:
    """The claims of every e-commerce item and grid cell, then of products already sent."""
    claims = SkuClaims()
    for row in conn.execute(sku_owners()):
        _add_owner(claims, row, separator)
    claims.add_sent(sent)
    return claims


def _candidates(skus: Iterable[str], separator: str) -> set[str]:
    """Folded item numbers that could claim one of `skus`.

    The SKU itself, and each grid parent (the part before a separator) a cell could make it from.
    """
    found: set[str] = set()
    for sku in skus:
        folded = sku_fold(sku)
        found.add(folded)
        if separator:
            parts = folded.split(sku_fold(separator))
            found.update(sku_fold(separator).join(parts[:n]).rstrip() for n in range(1, len(parts)))
    found.discard("")
    return found


def separated(conn: Connection, separator: str) -> set[str]:
    """The folded e-commerce item numbers that hold `separator` (see the module docstring)."""
    return {sku_fold(str(row.ITEM_NO)) for row in conn.execute(separated_items(separator))}


#: Folded numbers per lookup: the list may be bound once per branch of `sku_owners`, and SQL
#: Server takes 2,100 parameters a statement.
_FOLDS_PER_LOOKUP = 2 * MAX_IN_LIST


def load_claims_of(
    conn: Connection,
    keys: Iterable[str],
    separator: str,
    stored: Mapping[str, Mapping[str, str]],
    sent_of: Callable[[list[str]], Iterable[str]],
    with_separator: set[str],
) -> SkuClaims:
    """The claims that can clash with `keys`, over the stored clashes of every other record.

    Looked up by fold (see the module docstring): the keys and their grid parents, then the
    items of `with_separator` (from `separated`) named like a SKU found, until nothing new
    turns up. `sent_of` gives which of some keys were sent as products (state).
    """
    fresh = SkuClaims()
    asked: set[str] = set()
    # Keys a product may have been sent under: looked up in state as they are spelt.
    maybe_sent = {record_key(k) for k in keys}
    pending = _candidates(maybe_sent, separator)
    while pending:
        todo = sorted(pending)
        asked.update(todo)
        claimed: set[str] = set()
        for start in range(0, len(todo), _FOLDS_PER_LOOKUP):
            for row in conn.execute(sku_owners(todo[start : start + _FOLDS_PER_LOOKUP])):
                sku = _add_owner(fresh, row, separator)
                if sku is not None:
                    claimed.add(sku)
        maybe_sent |= {record_key(sku) for sku in claimed}
        # Past the keys themselves, a name with the separator is the only kind left to find.
        pending = (_candidates(claimed, separator) - asked) & with_separator
    claims = SkuClaims()
    for folded, claimants in stored.items():
        for raw, label in claimants.items():
            if sku_fold(record_key(raw)) in asked:
                maybe_sent.add(record_key(raw))  # looked at again below
            else:
                claims.add(raw, folded, label)  # not looked at again: as stored
    claims.add_owners(fresh.owners())
    claims.add_sent(sent_of(sorted(maybe_sent)))
    return claims
