"""Steps several test packages share, as plain functions (fixtures stay in each conftest)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from sqlalchemy import update

from cpsync.counterpoint.schema import IM_ITEM
from cpsync.model import Change, Desired, PriceState, SourceQuantity, SpecialPrice, StockState
from cpsync.ports import QueuePort
from cpsync.runtime import Runtime
from cpsync_emulator.server import EmulatorHandle


def wait_until(predicate: Callable[[], object], what: str, seconds: float = 30.0) -> None:
    """Poll `predicate` until it is true; fail naming `what` after `seconds`.

    The bound is for a loaded 2-core CI machine running two suites at once: generous, since a
    passing test never waits it out.
    """
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {seconds:.0f} s waiting for {what}"
        time.sleep(0.05)


def queue_settled(queue: QueuePort) -> bool:
    """Nothing waits on the queue or is being worked on (parked letters aside).

    One `depth()` read: two reads could see a retried message in flight in the first and
    visible again in the second, and count it in neither.
    """
    depth = queue.depth()
    return depth.visible + depth.in_flight == 0


def clash_url_key(runtime: Runtime, emulator: EmulatorHandle, item_no: str) -> None:
    """Give `item_no` a URL key another Magento product holds: Magento refuses it for good."""
    taken = f"taken-{uuid.uuid4().hex[:8]}"
    with runtime.counterpoint.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == item_no).values(URL=taken))
    other = {"sku": f"OTHER-{taken}", "name": "Other", "price": 1, "attribute_set_id": 4}
    other["custom_attributes"] = [{"attribute_code": "url_key", "value": taken}]
    httpx.post(
        f"{emulator.url}/rest/all/V1/products",
        json={"product": other},
        headers={"Authorization": f"Bearer {emulator.token}"},
    ).raise_for_status()


def change(state: Desired, version: str = "v") -> Change:
    """A queued Change of `state`, as a detection task would send it."""
    return Change(
        kind=state.kind,
        key=state.key(),
        version=version,
        fingerprint=state.fingerprint(),
        payload=state.payload(),
        task="test",
        run_id="r",
        detected_at=datetime.now(UTC),
    )


def stock(sku: str, qty: int, source: str = "default", version: str = "v") -> Change:
    """A stock Change of one SKU at one source."""
    item = SourceQuantity(source_code=source, quantity=Decimal(qty), in_stock=qty > 0)
    return change(StockState(sku=sku, sources=(item,)), version)


def price(sku: str, amount: str, special: SpecialPrice | None = None, version: str = "v") -> Change:
    """A price Change of one SKU."""
    return change(PriceState(sku=sku, price=Decimal(amount), special=special), version)
