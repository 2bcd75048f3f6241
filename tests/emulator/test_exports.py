"""The emulator package's public names are pinned: others import them (demo, bench, tests)."""

from __future__ import annotations

import pytest

import cpsync_emulator as emulator
from cpsync_emulator.fields import apply_fields, parse_fields


def test_given_the_package_when_imported_then_it_exports_exactly_the_public_api() -> None:
    assert sorted(emulator.__all__) == [
        "ENDPOINTS",
        "Emulator",
        "EmulatorConfig",
        "EmulatorHandle",
        "EmulatorServer",
        "Fault",
        "MagentoError",
        "create_app",
        "running_emulator",
    ]
    # Other areas add their endpoints; the framework's own are always there.
    assert {
        "products.get",
        "products.search",
        "products.save",
        "products.delete",
        "admin.token",
        "bulk.submit",
        "bulk.status",
        "bulk.detailed_status",
        "bulk.operation_count",
        "categories.tree",
        "categories.list",
        "categories.get",
        "categories.save",
        "categories.move",
        "categories.delete",
        "categories.products.get",
        "categories.products.save",
        "categories.products.delete",
        "inventory.source_items.save",
        "inventory.source_items.delete",
        "inventory.source_items.search",
        "inventory.sources.get",
        "inventory.sources.search",
        "inventory.sources.save",
        "stock_items.get",
        "stock_items.save",
        "prices.base.save",
        "prices.base.get",
        "prices.special.save",
        "prices.special.get",
        "prices.special.delete",
        "attributes.get",
        "attributes.options.list",
        "attributes.options.add",
        "configurable.options.save",
        "configurable.options.list",
        "configurable.options.get",
        "configurable.options.delete",
        "configurable.child.add",
        "configurable.children.list",
        "configurable.child.remove",
        "media.list",
        "media.get",
        "media.create",
        "media.update",
        "media.delete",
    } <= set(emulator.ENDPOINTS)


def test_given_a_nested_fields_expression_when_applied_then_only_named_members_stay() -> None:
    tree = parse_fields("items[sku,extension_attributes[stock_item[qty]]],total_count")
    data = {
        "items": [
            {"sku": "A", "name": "x", "extension_attributes": {"stock_item": {"qty": 1, "x": 2}}}
        ],
        "total_count": 1,
        "search_criteria": {},
    }
    assert apply_fields(data, tree) == {
        "items": [{"sku": "A", "extension_attributes": {"stock_item": {"qty": 1}}}],
        "total_count": 1,
    }
    assert parse_fields("items[sku") is None  # malformed: no filtering


def test_given_the_router_when_listing_endpoints_then_they_match_the_fault_names() -> None:
    # Async and bulk submissions of every route are counted as one endpoint, bulk.submit.
    routed = [*emulator.Emulator().router.endpoints, "bulk.submit"]
    assert sorted(emulator.ENDPOINTS) == sorted(routed)


@pytest.mark.parametrize("spec", ["product.save:503:1", "nosuch.*:503:1"])
def test_given_a_fault_on_an_unknown_endpoint_when_configured_then_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        emulator.EmulatorConfig(faults=[spec])


def test_given_a_family_pattern_when_configured_then_it_matches_that_family() -> None:
    fault = emulator.Fault.parse("products.*:503:1")
    assert fault.matches("products.save")
    assert not fault.matches("admin.token")
