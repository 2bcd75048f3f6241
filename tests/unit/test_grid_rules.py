"""Rules of grid items: payloads, fingerprints, attribute mapping, versions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from cpsync.magento.grid_payloads import build_child_payload, build_parent_payload
from cpsync.model import ConfigurableState, GridChild, GridOption
from cpsync.tasks.base import _not_before
from cpsync.tasks.items import attribute_code_for


def _child(**kw: object) -> GridChild:
    fields: dict[str, object] = dict(
        sku="TEE|RED|S",
        enabled=True,
        name="Tee - Red / S",
        url_key="tee-red-s",
        attributes={"color": "Red", "size": "S"},
        price=Decimal("12.5"),
        qty=Decimal(3),
    )
    fields.update(kw)
    return GridChild(**fields)  # type: ignore[arg-type]


def _family(**kw: object) -> ConfigurableState:
    fields: dict[str, object] = dict(
        sku="TEE",
        enabled=True,
        name="Tee",
        url_key="tee",
        options=[GridOption(code="color", label="Color", values=["Red"])],
        children=[_child()],
    )
    fields.update(kw)
    return ConfigurableState(**fields)  # type: ignore[arg-type]


def test_a_new_child_is_complete_and_not_visible_on_its_own() -> None:
    body = build_child_payload(_child(), True, {"color": 7, "size": 9}, 11, 2)
    assert body["visibility"] == 1
    assert (body["type_id"], body["attribute_set_id"], body["price"]) == ("simple", 11, 12.5)
    assert body["extension_attributes"]["stock_item"] == {"qty": 3.0, "is_in_stock": True}
    custom = {a["attribute_code"]: a["value"] for a in body["custom_attributes"]}
    assert custom == {"url_key": "tee-red-s", "color": "7", "size": "9", "tax_class_id": "2"}


def test_a_child_update_never_sends_price_or_stock() -> None:
    body = build_child_payload(_child(qty=Decimal(-4)), False, {"color": 7})
    assert "price" not in body and "extension_attributes" not in body


def test_a_new_parent_carries_its_options_and_links_in_one_save() -> None:
    options = [{"attribute_id": "93", "label": "Color", "values": [{"value_index": 7}]}]
    body = build_parent_payload(_family(), True, 4, options, [21, 22])
    assert (body["type_id"], body["visibility"], body["status"]) == ("configurable", 4, 1)
    extension = body["extension_attributes"]
    assert extension["configurable_product_options"] == options
    assert extension["configurable_product_links"] == [21, 22]
    assert "price" not in body  # a configurable's price is its children's


def test_price_and_stock_of_children_do_not_count_as_a_change() -> None:
    assert (
        _family().fingerprint()
        == _family(children=[_child(price=Decimal(99), qty=0)]).fingerprint()
    )
    assert _family().fingerprint() != _family(children=[_child(name="Other")]).fingerprint()


def test_an_enabled_grid_item_needs_cells_and_a_disabled_one_lists_its_children() -> None:
    with pytest.raises(ValidationError):
        _family(children=[])
    gone = ConfigurableState.disabled("TEE", ["TEE|RED|S"])
    assert not gone.publish_if_new()
    assert [(c.sku, c.enabled) for c in gone.children] == [("TEE|RED|S", False)]


def test_dimension_tags_map_to_attribute_codes_any_case_else_their_slug() -> None:
    assert attribute_code_for("Colour", {"colour": "color"}) == "color"
    assert attribute_code_for("Size", {}) == "size"
    assert attribute_code_for("Shoe Width", {}) == "shoe_width"


def test_a_version_is_never_older_than_the_one_applied() -> None:
    applied = "2026-11-27T14:00:00.000000/00000000000000000001"
    assert _not_before(datetime(2026, 11, 27, 9, 0), applied) == datetime(2026, 11, 27, 14, 0)
    assert _not_before(datetime(2026, 11, 28), applied) == datetime(2026, 11, 28)
    assert _not_before(datetime(2026, 1, 1), None) == datetime(2026, 1, 1)
