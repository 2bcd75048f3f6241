"""Prices in Magento through the bulk "efficient price API" only (docs/reference/magento.md#prices).

Magento answers a price call with 200 and a list of failures: invalid rows are skipped, valid
rows are saved. Each failure is `{message, parameters}` with *positional* parameters, and the
SKU is among them (base: `["SKU", sku]`; special: `[sku, store, from, to]`, after the price or
label for those messages). The writer maps each failure back to the record whose SKU it names;
a failure that names no SKU of the request (e.g. `["Price", "-1"]`) is found by sending that
chunk's rows one at a time, which is safe because every price write is an upsert. Whether a
failed record's product is simply not in Magento yet (retried) is asked of Magento with one
product search, not read from the failure's text, which is in the store's language.

Special prices: Magento Open Source keeps one special price per SKU and store: a save upserts
the price and each date it is given (a date left out keeps the old one), and a delete removes
the SKU's price and both dates at that store whatever row is sent
(`Catalog/Model/ResourceModel/Product/Price/SpecialPrice.php`). Adobe Commerce keeps one per
date range (a scheduled update) and refuses a range that overlaps another. With Website price
scope a store view's special price is copied to the other views of its website (the admin's
save, and the special-price API since the fix of issue 39521) but a delete removes one store's:
so a delete for a store view goes to each view of its website (`GET /V1/store/storeViews`, once).

So per chunk: one base-price save, then the special rows by what Magento holds. What it holds
is kept in state (`price_special`, the rows cpsync last wrote or read) and read from Magento
(`special-price-information`, one call for the chunk) only for SKUs state does not know, on a
forced Change, or after a failure forgot them. A special price whose dates did not move is
saved in place (no delete: the price is updated on both kinds of store); one that ended or
whose dates moved is deleted first, then the new one saved. Where a store refuses the in-place
save, that record falls back to delete and save. Where the read showed no row (in this run, or
in the one state remembers it from) and the new one leaves a date out, a delete goes first too:
a product save that cleared only `special_price` leaves dates the read cannot show and a save
would bring back. So a chunk makes at most one
base call, one special save and one delete (plus one read for unknown SKUs), and every store
ends with exactly the desired row.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cpsync.documents import PRICE_SPECIAL, SpecialHeld
from cpsync.errors import ConfigurationError
from cpsync.magento.client import MagentoClient
from cpsync.magento.errors import MagentoAuthError, MagentoRecordError, render_message
from cpsync.magento.inventory import INPUT_LIMIT, learn_input_limit, spread
from cpsync.magento.writer import Outcome, Writer
from cpsync.model import Change, Kind, PriceState, SpecialPrice
from cpsync.ports import StatePort

__all__ = [
    "BasePriceRow",
    "PriceApi",
    "PriceFailure",
    "PriceWriter",
    "SpecialPlan",
    "SpecialPriceRow",
    "build_price_rows",
    "plan_special",
]

logger = logging.getLogger(__name__)


class BasePriceRow(BaseModel):
    """One row of `POST /V1/products/base-prices`."""

    model_config = ConfigDict(frozen=True)

    price: float = Field(ge=0)
    store_id: int = 0
    sku: str = Field(min_length=1)


class SpecialPriceRow(BaseModel):
    """One row of the special-price endpoints (dates `YYYY-MM-DD hh:mm:ss` or None)."""

    model_config = ConfigDict(frozen=True)

    price: float = Field(ge=0)
    store_id: int = 0
    sku: str = Field(min_length=1)
    price_from: str | None = None
    price_to: str | None = None

    def same_as(self, other: SpecialPriceRow) -> bool:
        """Equal for Magento: same SKU (any case), store, price to the cent, and dates."""
        return (
            self.sku.lower() == other.sku.lower()
            and self.store_id == other.store_id
            and abs(self.price - other.price) < 0.005
            and (self.price_from or None) == (other.price_from or None)
            and (self.price_to or None) == (other.price_to or None)
        )


class PriceFailure(BaseModel):
    """One element of a price call's failure list."""

    message: str
    parameters: list[Any] = Field(default_factory=list)

    def text(self) -> str:
        """The message with its placeholders filled.

        Price failures carry named placeholders (`%fieldName`) but a *positional* list; the
        values come in the order the names first appear. When the counts differ the values
        are appended instead of guessed. Special-price failures come rendered already (the
        row's values are in the text, a null parameter for a date left out): only values the
        text lacks are appended.
        """
        values = ["" if p is None else str(p) for p in self.parameters]
        if re.search(r"%\d", self.message):
            return render_message(self.message, values)
        names = list(dict.fromkeys(re.findall(r"%([A-Za-z_]\w*)", self.message)))
        if names and len(names) == len(values):
            return render_message(self.message, dict(zip(names, values, strict=True)))
        if not names:
            values = [v for v in values if v and v not in self.message]
        return f"{self.message} ({', '.join(values)})" if values else self.message

    def sku_in(self, skus: dict[str, str]) -> str | None:
        """The record key among `skus` (lower-case SKU -> key) that a parameter names."""
        for value in self.parameters:
            if value is None:
                continue  # a date left out: null, never the SKU "None"
            key = skus.get(str(value).lower())
            if key is not None:
                return key
        return None


def build_price_rows(
    state: PriceState, store_id: int
) -> tuple[BasePriceRow, SpecialPriceRow | None]:
    """The base price row and, when there is a promotion, the special price row of one SKU."""
    base = BasePriceRow(price=float(state.price), store_id=store_id, sku=state.sku)
    return base, _special_row(state.special, store_id, state.sku)


class PriceApi:
    """Typed price endpoints over `MagentoClient.request()`."""

    def __init__(self, client: MagentoClient) -> None:
        self.client = client

    def _post(self, path: str, endpoint: str, body: dict[str, Any]) -> list[PriceFailure]:
        result = self.client.request("POST", path, endpoint=endpoint, json=body)
        return [PriceFailure.model_validate(f) for f in (result or [])]

    def save_base(self, rows: Sequence[BasePriceRow]) -> list[PriceFailure]:
        """POST /V1/products/base-prices; the failures (valid rows are saved)."""
        body = {"prices": [r.model_dump() for r in rows]}
        return self._post("products/base-prices", "prices.base.save", body)

    def save_special(self, rows: Sequence[SpecialPriceRow]) -> list[PriceFailure]:
        """POST /V1/products/special-price; the failures."""
        body = {"prices": [r.model_dump(exclude_none=True) for r in rows]}
        return self._post("products/special-price", "prices.special.save", body)

    def delete_special(self, rows: Sequence[SpecialPriceRow]) -> list[PriceFailure]:
        """POST /V1/products/special-price-delete; the failures."""
        body = {"prices": [r.model_dump(exclude_none=True) for r in rows]}
        return self._post("products/special-price-delete", "prices.special.delete", body)

    def base_prices(self, skus: Sequence[str]) -> list[BasePriceRow]:
        """POST /V1/products/base-prices-information (unknown SKUs are left out)."""
        result = self.client.request(
            "POST",
            "products/base-prices-information",
            endpoint="prices.base.get",
            json={"skus": list(skus)},
        )
        return [BasePriceRow.model_validate(r) for r in (result or [])]

    def sibling_views(self, store_id: int) -> list[int]:
        """GET /V1/store/storeViews: the other store views of `store_id`'s website."""
        views = self.client.request("GET", "store/storeViews", endpoint="store.views", store="all")
        views = [v for v in views or [] if isinstance(v, dict)]
        website = next((v.get("website_id") for v in views if v.get("id") == store_id), None)
        return sorted(
            int(v["id"])
            for v in views
            if website is not None and v.get("website_id") == website
            and v.get("id") not in (0, store_id)
        )  # fmt: skip

    def special_prices(self, skus: Sequence[str]) -> list[SpecialPriceRow]:
        """POST /V1/products/special-price-information, each distinct row once.

        Magento joins a store's price with the dates of every store, so a store's row comes
        back once per combination: alike when other store views hold the same dates.
        """
        result = self.client.request(
            "POST",
            "products/special-price-information",
            endpoint="prices.special.get",
            json={"skus": list(skus)},
        )
        return list(dict.fromkeys(SpecialPriceRow.model_validate(r) for r in (result or [])))


def _special_row(special: SpecialPrice | None, store_id: int, sku: str) -> SpecialPriceRow | None:
    if special is None:
        return None
    return SpecialPriceRow(
        price=float(special.price),
        store_id=store_id,
        sku=sku,
        price_from=special.price_from,
        price_to=special.price_to,
    )


def _held_doc(row: SpecialPriceRow | None, store_id: int, loose: bool) -> SpecialHeld:
    if row is None:
        return SpecialHeld(store_id=store_id, loose_dates=loose)
    special = SpecialPrice(
        price=Decimal(str(round(row.price, 4))),
        price_from=row.price_from or None,
        price_to=row.price_to or None,
    )
    return SpecialHeld(store_id=store_id, special=special)


@dataclass
class SpecialPlan:
    """The special-price calls of one chunk: rows to delete, then rows to save (by record)."""

    delete: list[tuple[str, SpecialPriceRow]] = field(default_factory=list)
    save: list[tuple[str, SpecialPriceRow]] = field(default_factory=list)
    #: Records saved in place over a row with the same dates (no delete sent for them).
    in_place: dict[str, list[SpecialPriceRow]] = field(default_factory=dict)
    #: Records whose store may hold dates without a price: deleted first, failures ignored.
    clear: list[tuple[str, SpecialPriceRow]] = field(default_factory=list)


def plan_special(
    desired: dict[str, SpecialPriceRow | None],
    held: dict[str, list[SpecialPriceRow]],
    loose: Collection[str] = (),
) -> SpecialPlan:
    """What to send so Magento holds exactly the desired special row of each record.

    Unchanged: nothing. Same dates, other price: saved in place. Ended, or dates moved (a
    save would keep a date it leaves out): the held row deleted, the new one saved. A record
    in `loose` (no row held, as Magento's read showed it now or once before) may still hold
    dates without a price (a product save that cleared only `special_price`), which the read
    cannot show: when the new row leaves a date out, a delete clears them first.
    """
    plan = SpecialPlan()
    for key, wanted in desired.items():
        rows = held.get(key, [])
        if wanted is None:
            plan.delete += [(key, r) for r in rows]
            continue
        if len(rows) == 1 and rows[0].same_as(wanted):
            continue
        if not rows and key in loose and not (wanted.price_from and wanted.price_to):
            plan.clear.append((key, wanted))
        same_dates = len(rows) == 1 and (rows[0].price_from or None, rows[0].price_to or None) == (
            wanted.price_from or None,
            wanted.price_to or None,
        )
        if same_dates:
            plan.in_place[key] = rows
        else:
            plan.delete += [(key, r) for r in rows]
        plan.save.append((key, wanted))
    return plan


@dataclass
class _Chunk:
    """The records of one chunk and what went wrong with each so far."""

    states: dict[str, PriceState]
    #: Records whose special price is read from Magento (forced, or not known in state).
    unknown: set[str] = field(default_factory=set)
    #: What state says Magento holds for the other records.
    held: dict[str, list[SpecialPriceRow]] = field(default_factory=dict)
    #: Records state knows hold no special price, but maybe dates a read could not show.
    loose: set[str] = field(default_factory=set)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Failed records whose SKU Magento does not have (yet): looked up, not read from the
    # failure's text, which is in the store's language.
    missing: set[str] = field(default_factory=set)

    @property
    def skus(self) -> dict[str, str]:
        return {s.sku.lower(): key for key, s in self.states.items()}

    def part(self, keys: Sequence[str]) -> _Chunk:
        """A chunk of some of these records, with what is known of them."""
        return _Chunk(
            {k: self.states[k] for k in keys},
            {k for k in keys if k in self.unknown},
            {k: self.held[k] for k in keys if k in self.held},
            {k for k in keys if k in self.loose},
        )

    def fail(self, key: str, failure: PriceFailure) -> None:
        self.errors.setdefault(key, []).append(failure.text())

    def outcome(self, key: str) -> Outcome:
        """Applied; or retried when the product is only missing; else refused for good."""
        if key not in self.errors:
            return Outcome.ok(key)
        text = "; ".join(self.errors[key])
        if key in self.missing:
            text += " (the product may still be on its way from the Items task: retried)"
            return Outcome(key, False, text, retryable=True)
        return Outcome(key, False, text)


#: What a chunk learned of Magento's special prices: a record's held row, or None to forget.
Learned = dict[str, SpecialHeld | None]


class PriceWriter(Writer):
    """Writes `price` Changes with the bulk base-price and special-price endpoints.

    Args:
        client: The Magento client.
        store_id: store_id of every row (0 = global).
        chunk_size: Rows per request (20 when the store has input limits on).
        concurrency: Chunks in flight at once.
        state: Where the special prices Magento holds are remembered; without it they are
            read from Magento for every chunk.
    """

    kind: ClassVar[Kind] = "price"

    def __init__(
        self,
        client: MagentoClient,
        store_id: int = 0,
        chunk_size: int = 500,
        concurrency: int = 4,
        state: StatePort | None = None,
    ) -> None:
        super().__init__(concurrency)
        self.api = PriceApi(client)
        self.store_id = store_id
        self.chunk_size = chunk_size
        self.state = state
        self._siblings: list[int] | None = None
        self._siblings_lock = threading.Lock()

    def apply(self, changes: Sequence[Change]) -> dict[str, Outcome]:
        """Write base and special prices in chunks of about `chunk_size` SKUs, several at once.

        What each record's special price now is goes to state in one write for the group.
        """
        states = {c.key: PriceState.model_validate(c.payload) for c in changes}
        keys = list(states)
        known, loose = self._known({c.key for c in changes if not c.force}, states)
        whole = _Chunk(states, {k for k in keys if k not in known}, known, loose)
        size = spread(len(keys), self.chunk_size)
        chunks = [whole.part(keys[i : i + size]) for i in range(0, len(keys), size)]
        if self.concurrency <= 1 or len(chunks) <= 1:
            results = [self._guarded(c) for c in chunks]
        else:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                results = list(pool.map(self._guarded, chunks))
        outcomes: dict[str, Outcome] = {}
        learned: Learned = {}
        for result, learnt in results:
            outcomes.update(result)
            learned.update(learnt)
        self._remember(learned)
        return outcomes

    def _known(
        self, keys: set[str], states: dict[str, PriceState]
    ) -> tuple[dict[str, list[SpecialPriceRow]], set[str]]:
        """The held special rows state knows of, for the records not forced; the loose ones."""
        if self.state is None or not keys:
            return {}, set()
        docs = PRICE_SPECIAL.get(self.state, sorted(keys))
        known: dict[str, list[SpecialPriceRow]] = {}
        loose: set[str] = set()
        for key, held in docs.items():
            if held.store_id == self.store_id:
                row = _special_row(held.special, held.store_id, states[key].sku)
                known[key] = [] if row is None else [row]
                if row is None and held.loose_dates:
                    loose.add(key)
        return known, loose

    def _remember(self, learned: Learned) -> None:
        """One state write for the whole group: what each record's special now is."""
        if self.state is None:
            return
        PRICE_SPECIAL.put(self.state, {k: v for k, v in learned.items() if v is not None})
        PRICE_SPECIAL.delete(self.state, [k for k, v in learned.items() if v is None])

    def _guarded(self, chunk: _Chunk) -> tuple[dict[str, Outcome], Learned]:
        try:
            learned = self._write(chunk)
            self._find_missing(chunk)
        except ConfigurationError:
            raise
        except MagentoRecordError as exc:
            # A price call answers 200 with failures; a 400 refuses the whole call, which on
            # a call over 20 rows is the store's input limit (its text is localized).
            forget: Learned = dict.fromkeys(chunk.states)
            if len(chunk.states) <= INPUT_LIMIT or exc.status != 400:
                return {key: Outcome.from_exception(key, exc) for key in chunk.states}, forget
            self.chunk_size = learn_input_limit(self.chunk_size, len(chunk.states), exc)
            keys = list(chunk.states)
            outcomes: dict[str, Outcome] = {}
            for i in range(0, len(keys), INPUT_LIMIT):
                result, learnt = self._guarded(chunk.part(keys[i : i + INPUT_LIMIT]))
                outcomes.update(result)
                forget.update(learnt)
            return outcomes, forget
        except Exception as exc:
            # Every step is an upsert or a delete of a known row: repeating the chunk is safe,
            # and what Magento holds is read again next time.
            outcomes = {key: Outcome.from_exception(key, exc) for key in chunk.states}
            return outcomes, dict.fromkeys(chunk.states)
        return {key: chunk.outcome(key) for key in chunk.states}, learned

    def _find_missing(self, chunk: _Chunk) -> None:
        """Mark the failed records whose product is not in Magento (one search per chunk)."""
        failed = [key for key in chunk.states if key in chunk.errors]
        if not failed:
            return
        online = self.api.client.find_products(chunk.states[key].sku for key in failed)
        chunk.missing = {key for key in failed if chunk.states[key].sku.lower() not in online}

    def _read_held(self, chunk: _Chunk) -> dict[str, list[SpecialPriceRow]]:
        """The held rows: from state, and from Magento (one read) for the unknown records."""
        held = dict(chunk.held)
        if not chunk.unknown:
            return held
        held.update({key: [] for key in chunk.unknown})
        skus = chunk.skus
        unknown = [chunk.states[k].sku for k in chunk.states if k in chunk.unknown]
        for row in self.api.special_prices(unknown):
            key = skus.get(row.sku.lower())
            if key in chunk.unknown and row.store_id == self.store_id:
                held[key].append(row)
        return held

    def _write(self, chunk: _Chunk) -> Learned:
        """Send the chunk's rows; what each record's special now is in Magento."""
        rows = {key: build_price_rows(s, self.store_id) for key, s in chunk.states.items()}
        self._settle(chunk, self.api.save_base, [(key, r[0]) for key, r in rows.items()])
        desired = {key: r[1] for key, r in rows.items()}
        held = self._read_held(chunk)
        loose = chunk.loose | {key for key in chunk.unknown if not held[key]}
        plan = plan_special(desired, held, loose)
        if plan.delete or plan.clear:
            had = {key: len(chunk.errors.get(key, [])) for key, _ in plan.clear}
            self._delete_everywhere(chunk, plan.delete + plan.clear)
            self._forgive(chunk, had)
        if plan.save:
            self._settle(chunk, self.api.save_special, plan.save)
        self._redo_refused_in_place(chunk, plan)
        return {
            key: None
            if key in chunk.errors
            else _held_doc(desired[key], self.store_id, desired[key] is None and key in loose)
            for key in chunk.states
        }

    @staticmethod
    def _forgive(chunk: _Chunk, had: dict[str, int]) -> None:
        """Drop the failures of the deletes that only cleared old dates.

        A store may refuse to delete a special price it does not hold; `had` is each record's
        failure count before those deletes.
        """
        for key, count in had.items():
            errors = chunk.errors.get(key, [])
            if len(errors) > count:
                logger.info("Clearing old special dates of %s refused: %s", key, errors[count:])
                del errors[count:]
            if not errors:
                chunk.errors.pop(key, None)

    def _sibling_views(self) -> list[int]:
        """The other store views of `store_id`'s website, asked of Magento once.

        With Website price scope Magento copies a store view's special price to its website's
        other views (the admin always, the special-price API since the fix of issue 39521),
        but a special-price delete removes one store's (docs/reference/magento.md#special-prices).
        """
        if self.store_id == 0:
            return []
        with self._siblings_lock:
            if self._siblings is None:
                try:
                    self._siblings = self.api.sibling_views(self.store_id)
                except (MagentoRecordError, MagentoAuthError) as exc:
                    logger.warning(
                        "Store views unreadable (%s): special prices are deleted in store %d "
                        "only; grant Magento_Backend::store to delete the website's copies",
                        exc,
                        self.store_id,
                    )
                    self._siblings = []
            return self._siblings

    def _delete_everywhere(self, chunk: _Chunk, rows: list[tuple[str, SpecialPriceRow]]) -> None:
        """Delete `rows` in `store_id` and in the other store views of its website."""
        copies = [
            (key, row.model_copy(update={"store_id": view}))
            for view in self._sibling_views()
            for key, row in rows
        ]
        self._settle(chunk, self.api.delete_special, rows + copies)

    def _redo_refused_in_place(self, chunk: _Chunk, plan: SpecialPlan) -> None:
        """Delete, then save again, the rows a store refused to save over.

        A store may refuse a save over a row with the same dates (Adobe Commerce's scheduled
        updates may).
        """
        refused = [k for k in plan.in_place if k in chunk.errors]
        if not refused:
            return
        errors = {k: chunk.errors.pop(k) for k in refused}
        logger.info("%d in-place special prices refused; deleting and saving again", len(refused))
        self._delete_everywhere(chunk, [(k, r) for k in refused for r in plan.in_place[k]])
        again = [(k, r) for k, r in plan.save if k in errors and k not in chunk.errors]
        if again:
            self._settle(chunk, self.api.save_special, again)
        for key in refused:
            if key in chunk.errors:
                chunk.errors[key] = errors[key] + chunk.errors[key]

    def _settle(
        self,
        chunk: _Chunk,
        call: Callable[[list[Any]], list[PriceFailure]],
        rows: list[tuple[str, Any]],
    ) -> None:
        """Send `rows` (record key, row) and file each failure under the record it names."""
        skus = chunk.skus
        placed: list[tuple[str, PriceFailure]] = []
        unplaced: list[PriceFailure] = []
        for failure in call([row for _, row in rows]):
            key = failure.sku_in(skus)
            if key is None:
                unplaced.append(failure)
            else:
                placed.append((key, failure))
        if unplaced and len(rows) > 1:
            logger.info("%d price failures name no SKU; sending rows one by one", len(unplaced))
            for pair in rows:
                self._settle(chunk, call, [pair])
            return
        placed += [(rows[0][0], f) for f in unplaced]
        for key, failure in placed:
            chunk.fail(key, failure)
