"""The rows of Magento's ``catalog_product`` import for new products, and what each carries.

A row carries what the one-request create carries (magento/products.py ``plan_create``): name,
descriptions, weight, tax class, status, visibility, url key, price, special price and its
dates (from the Price Changes task's record, where the create sets them: global prices),
quantity and stock status (from the Inventory task's record, where the legacy stock item sets
them), category paths and the website. ``_Plan.carried`` names, per SKU, the records the row
applies whole (``carried_records``), which the importer notes once Magento holds the SKU.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from cpsync.magento.product_fields import (
    CreateRules,
    carried_records,
    links_carried,
    special_attributes,
    stock_item_of,
)
from cpsync.model import (
    ConfigurableState,
    GridChild,
    ImageState,
    PriceState,
    ProductState,
    SpecialPrice,
    StockState,
)

__all__ = ["TAX_CLASS_NAMES", "VISIBILITY_NAMES", "ImportPlan", "ImportRow", "build_rows"]

#: Tax class names of the ids cpsync sends (Magento's import takes names, and creates a
#: class for a name it does not know, so an unknown id is never guessed).
TAX_CLASS_NAMES = {0: "None", 2: "Taxable Goods"}
VISIBILITY_NAMES = {1: "Not Visible Individually", 4: "Catalog, Search"}
#: Characters that split a configurable_variations value.
_VARIATION_SEPARATORS = re.compile(r"[|,=]")
#: The import column of each special-price attribute a create sets.
_SPECIAL_COLUMNS = {
    "special_price": "special_price",
    "special_from_date": "special_price_from_date",
    "special_to_date": "special_price_to_date",
}

ImportRow = dict[str, str]


def _number(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


@dataclass
class ImportPlan:
    """Rows in sending order, which record each SKU belongs to, and what each row carries."""

    rows: list[ImportRow] = field(default_factory=list)
    owner: dict[str, str] = field(default_factory=dict)  # lower-case SKU -> record key
    grids: dict[str, ConfigurableState] = field(default_factory=dict)
    linked: set[str] = field(default_factory=set)  # grid keys whose parent row is imported
    category_ids: dict[str, list[int]] = field(default_factory=dict)
    galleries: dict[str, ImageState] = field(default_factory=dict)  # SKUs with image links
    #: SKU -> kind -> fingerprint of the records its row applies whole (see the docstring).
    carried: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, key: str, row: ImportRow, carried: dict[str, str] | None = None) -> None:
        """Append `row`, made for the record `key`, carrying `carried` (kind -> fingerprint)."""
        self.rows.append(row)
        if carried:
            self.carried[row["sku"]] = carried
        self.owner[row["sku"].lower()] = key


def _base_row(sku: str, name: str | None, weight: Decimal | None, url_key: str | None) -> ImportRow:
    return {
        "sku": sku,
        "attribute_set_code": "Default",
        "product_websites": "base",
        "name": name or "",
        "weight": _number(weight),
        "url_key": url_key or "",
    }


def _carry(
    row: ImportRow,
    price: Decimal | None,
    record: PriceState | None,
    stock: StockState | None,
    qty: Decimal,
    rules: CreateRules,
) -> dict[str, str]:
    """Fill the price, special price and stock columns as a create sets them.

    Returns:
        Kind -> fingerprint of the price and stock records the row applies whole.
    """
    stock_item, stock_set, _ = stock_item_of(stock, qty, rules.stock_mode)
    row["price"] = _number(record.price if record is not None else price)
    row["qty"] = _number(Decimal(str(stock_item["qty"])))
    row["is_in_stock"] = "1" if stock_item["is_in_stock"] else "0"
    special = record.special if record is not None and rules.prices_global else None
    if special is not None and not _whole_days(special):
        # The import keeps these dates as days only: the price writer sends this record.
        return carried_records(None, stock, stock_set, rules)
    if record is not None and special is not None:
        for name, value in special_attributes(record):  # as a create sends it
            row[_SPECIAL_COLUMNS[name]] = value or ""
    return carried_records(record, stock, stock_set, rules)


def _whole_days(special: SpecialPrice) -> bool:
    """Whether the special price's dates are days at 00:00:00, all the import can keep.

    Magento's product import stores `special_from_date` / `special_to_date` without their time
    (docs/reference/magento.md#special-prices); `CPSYNC_MAGENTO_SPECIAL_DATES=exact` sends times.
    """
    dates = (special.price_from, special.price_to)
    return all(d is None or d.endswith(" 00:00:00") for d in dates)


def _listed_row(
    state: ProductState | ConfigurableState, product_type: str, categories: str, tax: str
) -> ImportRow:
    """The row of a product shown in the catalog on its own (a simple item or a grid parent)."""
    row = _base_row(state.sku, state.name, state.weight, state.url_key)
    row.update(
        {
            "product_type": product_type,
            "product_online": "1",
            "visibility": VISIBILITY_NAMES[4],
            "description": state.description or "",
            "short_description": state.short_description or "",
            "tax_class_name": tax,
            "categories": categories,
        }
    )
    return row


def _simple_row(
    state: ProductState, categories: str, tax: str, rules: CreateRules
) -> tuple[ImportRow, dict[str, str]]:
    row = _listed_row(state, "simple", categories, tax)
    carried = _carry(row, state.price, state.price_record, state.stock_record, state.qty, rules)
    return row, carried


def _child_row(child: GridChild, tax: str, rules: CreateRules) -> tuple[ImportRow, dict[str, str]]:
    row = _base_row(child.sku, child.name, child.weight, child.url_key)
    row.update(
        {
            "product_type": "simple",
            "product_online": "1" if child.enabled else "0",
            "visibility": VISIBILITY_NAMES[1],
            "tax_class_name": tax,
            "additional_attributes": ",".join(
                f"{code}={value}" for code, value in sorted(child.attributes.items())
            ),
        }
    )
    carried = _carry(row, child.price, child.price_record, child.stock_record, child.qty, rules)
    return row, carried


def _parent_row(grid: ConfigurableState, categories: str, tax: str) -> ImportRow:
    row = _listed_row(grid, "configurable", categories, tax)
    variations = [
        ",".join([f"sku={c.sku}", *(f"{k}={v}" for k, v in c.attributes.items())])
        for c in grid.children
    ]
    row.update(
        {
            "is_in_stock": "1" if any(c.qty > 0 for c in grid.children) else "0",
            "configurable_variations": "|".join(variations),
            "configurable_variation_labels": ",".join(f"{o.code}={o.label}" for o in grid.options),
        }
    )
    return row


def _unsafe(*values: str) -> bool:
    return any(_VARIATION_SEPARATORS.search(v) for v in values)


def build_rows(
    simple: Sequence[ProductState],
    grids: Sequence[ConfigurableState],
    category_paths: dict[str, str],
    rules: CreateRules | None = None,
    category_ids: dict[str, list[int]] | None = None,
) -> tuple[ImportPlan, dict[str, str]]:
    """The import rows of new products: grid children, simple products, then grid parents.

    `category_paths` gives each SKU its ``categories`` column, `category_ids` the Magento
    categories those paths name (the links count as carried when every one has a path).

    Returns:
        The plan and, by record key, why a record cannot be imported (it goes the normal way).
    """
    rules = rules or CreateRules()
    category_ids = category_ids or {}

    def links(state: ProductState | ConfigurableState, paths: str) -> dict[str, str]:
        ids = category_ids.get(state.sku, [])
        if len([p for p in paths.split(",") if p]) != len(ids):
            return {}
        return links_carried(state, len(ids))

    plan = ImportPlan()
    refused: dict[str, str] = {}

    def tax_of(state: ProductState | ConfigurableState) -> str | None:
        if state.tax_class_id is None:
            return ""
        return TAX_CLASS_NAMES.get(state.tax_class_id)

    for grid in grids:
        tax = tax_of(grid)
        if tax is None:
            refused[grid.sku] = f"tax class {grid.tax_class_id} has no known name"
            continue
        for child in grid.children:
            plan.add(grid.sku, *_child_row(child, tax, rules))
        plan.grids[grid.sku] = grid
        if not _unsafe(
            *grid.child_skus(), *(v for c in grid.children for v in c.attributes.values())
        ):
            plan.linked.add(grid.sku)
    for state in simple:
        tax = tax_of(state)
        if tax is None or (state.price is None and state.price_record is None):
            refused[state.sku] = "no price" if tax is not None else "unknown tax class"
            continue
        paths = category_paths.get(state.sku, "")
        row, carried = _simple_row(state, paths, tax, rules)
        plan.add(state.sku, row, carried | links(state, paths))
    for key in sorted(plan.linked):
        grid = plan.grids[key]
        paths = category_paths.get(key, "")
        plan.add(key, _parent_row(grid, paths, tax_of(grid) or ""), links(grid, paths))
    return plan, refused
