"""The Categories task: the EC_CATEG tree as Magento categories.

EC_CATEG is an adjacency list (`PARENT_ID -> CATEG_ID`); the row `'0'` is the root and is not
synced, its children (and rows with a NULL parent) are top-level categories under the store's
root category. `DISP_SEQ_NO` is the position among siblings. Every run reads the whole table:
it is small, nothing dates a deleted row, and a cycle or an orphan can only be seen in the
whole tree. A category in a cycle, under a missing parent, or below such a one is reported as
a record error naming the chain; the rest of the tree still syncs. A category removed from
Counterpoint is deactivated in Magento, never deleted (its URL and links survive).

URL keys: the slug of the name, unique among siblings (Magento's category URL is the parent's
path plus the key, so only siblings can clash); a second sibling with the same slug gets its
CATEG_ID appended, the first by (DISP_SEQ_NO, CATEG_ID) keeps the plain slug.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from sqlalchemy import Connection

from cpsync.counterpoint import needs
from cpsync.counterpoint.categories import ROOT_CATEG_ID, category_rows
from cpsync.counterpoint.columns import Catalog, Need
from cpsync.errors import DataError
from cpsync.model import CategoryState, Kind
from cpsync.tasks.base import Task, Window

__all__ = [
    "CategoriesTask",
    "CategoryRow",
    "CategoryTree",
    "category_slug",
    "linkable",
    "load_category_tree",
]


def category_slug(text: str) -> str:
    """Lower-case ASCII words joined by `-` (what Magento's URL-key filter makes of a name)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class CategoryRow:
    """One EC_CATEG row, as the task uses it."""

    categ_id: str
    parent_id: str | None  # None: top level (PARENT_ID '0', NULL or blank)
    name: str | None
    description: str | None
    position: int


class CategoryTree:
    """The whole EC_CATEG table: depth of each category, or why it cannot be placed."""

    def __init__(self, rows: Sequence[CategoryRow]) -> None:
        self.rows = {row.categ_id: row for row in rows}
        self.depth: dict[str, int] = {}
        self.problem: dict[str, str] = {}
        for categ_id in self.rows:
            self._place(categ_id)
        self.url_keys = self._url_keys()

    def _place(self, start: str) -> None:
        """Walk up from `start` to the root; record the depth or the problem of each on the way."""
        chain: list[str] = []
        current: str | None = start
        while current is not None and current not in self.depth and current not in self.problem:
            if current in chain:
                loop = [*chain[chain.index(current) :], current]
                self._fail(chain, "PARENT_ID makes a cycle: " + " -> ".join(loop))
                return
            if current not in self.rows:
                self._fail(chain, f"its parent {current} is not in EC_CATEG (orphan)")
                return
            chain.append(current)
            current = self.rows[current].parent_id
        if current is not None and current in self.problem:
            self._fail(chain, f"ancestor {current} cannot be synced: {self.problem[current]}")
            return
        base = 0 if current is None else self.depth[current]
        for offset, categ_id in enumerate(reversed(chain), start=1):
            self.depth[categ_id] = base + offset

    def _fail(self, chain: list[str], reason: str) -> None:
        for categ_id in chain:
            self.problem.setdefault(categ_id, reason)

    def _url_keys(self) -> dict[str, str]:
        siblings: dict[str | None, list[CategoryRow]] = {}
        for row in self.rows.values():
            siblings.setdefault(row.parent_id, []).append(row)
        keys: dict[str, str] = {}
        for group in siblings.values():
            taken: set[str] = set()
            for row in sorted(group, key=lambda r: (r.position, r.categ_id)):
                slug = category_slug(row.name or "") or "category"
                if slug in taken or slug == "category":
                    slug = f"{slug}-{category_slug(row.categ_id) or 'x'}"
                taken.add(slug)
                keys[row.categ_id] = slug
        return keys


def _row(raw: Any) -> CategoryRow:
    parent = _text(raw.PARENT_ID)
    return CategoryRow(
        categ_id=str(raw.CATEG_ID).strip(),
        parent_id=None if parent in (None, ROOT_CATEG_ID) else parent,
        name=_text(raw.DESCR),
        description=_text(raw.HTML_DESCR),
        position=int(raw.DISP_SEQ_NO or 0),
    )


def load_category_tree(conn: Connection, catalog: Catalog | None = None) -> CategoryTree:
    """The whole EC_CATEG tree (small: read at once), without the root row."""
    rows = [_row(raw) for raw in conn.execute(category_rows(catalog=catalog))]
    return CategoryTree([r for r in rows if r.categ_id != ROOT_CATEG_ID])


def linkable(
    task: Task, key: str, categ_ids: Iterable[str], tree: CategoryTree | None
) -> Iterator[str]:
    """The category ids of `key` that can exist in Magento; each other link is reported.

    A category missing from EC_CATEG, or one the Categories task refuses (a cycle, its own
    parent, an orphan), can never be created, so waiting for it would hold the product's
    valid links for nothing. A category in EC_CATEG not yet in Magento is kept: the writer
    retries it until the Categories task has created it.
    """
    for raw in categ_ids:
        categ_id = str(raw).strip()
        if tree is None or categ_id in tree.depth:
            yield categ_id
            continue
        why = tree.problem.get(categ_id, "it is not in EC_CATEG")
        task.report(
            key,
            f"{task.kind} {key}: the link to category {categ_id} is left out ({why}); "
            "the other links sync",
        )


class CategoriesTask(Task):
    """EC_CATEG -> Magento categories: added, renamed, moved, deactivated."""

    name: ClassVar[str] = "categories"
    title: ClassVar[str] = "Categories"
    kind: ClassVar[Kind] = "category"
    schedule: ClassVar[str] = "rate(1 hour)"
    sku_keyed: ClassVar[bool] = False  # CATEG_IDs are not SKUs
    needs: ClassVar[tuple[Need, ...]] = needs.CATEGORY_TREE

    _tree: CategoryTree | None = None

    def full_every(self) -> timedelta:
        """Every run reads the whole (small) table: see the module docstring."""
        return timedelta(0)

    def rows(self, window: Window | None, keys: Sequence[str] | None) -> Iterator[CategoryRow]:
        """Every EC_CATEG row (or those of `keys`); `window` is not used, the table is small.

        The whole tree is read each time, so a row's depth and URL key see its parents.
        """
        with self.ctx.counterpoint.connect() as conn:
            self._tree = load_category_tree(conn, self.catalog)
        wanted = None if keys is None else set(keys)
        for row in self._tree.rows.values():
            if wanted is None or row.categ_id in wanted:
                yield row

    def key_of(self, row: CategoryRow) -> str:
        """The CATEG_ID (not a SKU)."""
        return row.categ_id

    def enrich(self, rows: Sequence[CategoryRow]) -> CategoryTree:
        """The tree `rows()` read: depths, URL keys and why a category cannot be placed."""
        assert self._tree is not None  # rows() ran first
        return self._tree

    def build(self, row: CategoryRow, extra: CategoryTree) -> CategoryState:
        """The category as Magento should have it: active, named, under its parent.

        Raises:
            DataError: The category cannot be placed in the tree (a loop, a missing parent),
                or its DESCR is empty.
        """
        problem = extra.problem.get(row.categ_id)
        if problem is not None:
            raise DataError(problem)
        if row.name is None:
            raise DataError("DESCR is empty, and Magento needs a category name")
        return CategoryState(
            categ_id=row.categ_id,
            active=True,
            name=row.name,
            parent_id=row.parent_id,
            position=row.position,
            url_key=extra.url_keys[row.categ_id],
            description=row.description,
            depth=extra.depth[row.categ_id],
        )

    def gone(self, key: str) -> CategoryState:
        """A category deleted in Counterpoint is deactivated in Magento, never deleted."""
        return CategoryState.removed(key)
