"""Naming rules of the Items task and the product payload."""

from __future__ import annotations

from decimal import Decimal

from cpsync.magento.products import build_product_payload
from cpsync.model import ProductState
from cpsync.tasks.items import url_key_for


def test_url_keys_differ_for_products_with_the_same_name() -> None:
    assert url_key_for("Coffee Mug", "M1") != url_key_for("Coffee Mug", "M2")


def test_skus_that_slug_alike_still_get_different_url_keys() -> None:
    assert url_key_for("Mug", "MUG/12") != url_key_for("Mug", "MUG 12")


def test_counterpoint_url_column_wins_and_unicode_is_transliterated() -> None:
    assert url_key_for("x", "A", "Summer Sale!") == "summer-sale"
    assert url_key_for("Café Crème", "c1") == "cafe-creme-c1"


def _state(**kw: object) -> ProductState:
    fields: dict[str, object] = dict(
        sku="A1", enabled=True, name="A", url_key="a-a1", price=Decimal("5"), qty=Decimal(-2)
    )
    fields.update(kw)
    return ProductState(**fields)  # type: ignore[arg-type]


def test_update_payload_never_touches_price_or_stock() -> None:
    payload = build_product_payload(_state(), create=False)
    assert "price" not in payload
    assert "extension_attributes" not in payload
    assert payload["status"] == 1


def test_create_payload_is_complete_and_negative_stock_is_out_of_stock() -> None:
    payload = build_product_payload(_state(), create=True, attribute_set_id=9)
    assert payload["price"] == 5.0
    assert payload["attribute_set_id"] == 9
    assert payload["extension_attributes"]["stock_item"] == {"qty": 0.0, "is_in_stock": False}


def test_a_disable_sends_only_the_status() -> None:
    assert build_product_payload(ProductState.disabled("A1"), create=False) == {
        "sku": "A1",
        "status": 2,
    }


def test_child_sku_drops_unused_dimensions_and_refuses_over_64_characters() -> None:
    import pytest

    from cpsync.errors import DataError
    from cpsync.skus import child_sku

    assert child_sku("TSHIRT", ["RED", "XL", "*"]) == "TSHIRT|RED|XL"
    assert child_sku("TSHIRT", ["RED", "*", "*"], separator="-") == "TSHIRT-RED"
    with pytest.raises(DataError, match="64"):
        child_sku("X" * 20, ["Y" * 30, "Z" * 20, "*"])


def test_the_tax_class_from_the_settings_goes_up_with_the_product() -> None:
    payload = build_product_payload(_state(tax_class_id=0), create=False)
    custom = {a["attribute_code"]: a["value"] for a in payload["custom_attributes"]}
    assert custom["tax_class_id"] == "0"
