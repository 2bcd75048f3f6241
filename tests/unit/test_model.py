"""Fingerprints, versions and the Change message."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from cpsync.model import Change, ProductState, fingerprint, make_version


def _product(**overrides: object) -> ProductState:
    fields: dict[str, object] = {
        "sku": "MUG/12",
        "enabled": True,
        "name": "Café Mug",
        "url_key": "cafe-mug",
        "price": Decimal("9.99"),
        "qty": Decimal(3),
    }
    fields.update(overrides)
    return ProductState(**fields)  # type: ignore[arg-type]


def test_equal_numbers_in_different_forms_give_the_same_fingerprint() -> None:
    assert fingerprint({"w": Decimal("1.5000")}) == fingerprint({"w": 1.5})
    assert fingerprint({"w": 10}) == fingerprint({"w": Decimal("10.0")})


def test_key_order_does_not_change_a_fingerprint_but_values_do() -> None:
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_price_and_stock_alone_do_not_make_a_product_change() -> None:
    assert _product(price=Decimal(1)).fingerprint() == _product(price=Decimal(2)).fingerprint()
    assert _product(qty=Decimal(0)).fingerprint() == _product(qty=Decimal(9)).fingerprint()
    assert _product(name="Other").fingerprint() != _product().fingerprint()


def test_fingerprint_survives_a_trip_through_the_queue() -> None:
    state = _product(weight=Decimal("0.2500"))
    change = Change(
        kind="product",
        key=state.key(),
        version=make_version(None),
        fingerprint=state.fingerprint(),
        payload=state.payload(),
        task="items",
        run_id="r1",
        detected_at=datetime.now(UTC),
    )
    again = ProductState.model_validate(Change.from_json(change.to_json()).payload)
    assert again.fingerprint() == change.fingerprint


def test_versions_order_by_source_time_then_detection() -> None:
    early = make_version(datetime(2026, 1, 1, tzinfo=UTC))
    late = make_version(datetime(2026, 1, 2, tzinfo=UTC))
    same_time_later = make_version(datetime(2026, 1, 2, tzinfo=UTC))
    assert early < late < same_time_later


def test_an_enabled_product_needs_a_name_but_a_disable_does_not() -> None:
    with pytest.raises(ValidationError):
        ProductState(sku="X", enabled=True)
    assert ProductState.disabled("X").publish_if_new() is False


def test_a_sku_longer_than_magento_allows_is_refused_not_truncated() -> None:
    with pytest.raises(ValidationError):
        _product(sku="X" * 65)
