"""Magento's refusals rewritten as cause and next step, the raw message kept."""

from __future__ import annotations

import pytest

from cpsync.magento.refusals import GROUP_TITLES, explain, group_of


@pytest.mark.parametrize(
    ("raw", "group"),
    [
        (
            "product 10042: Magento POST /rest/all/V1/products answered 400: URL key for "
            "specified store already exists.",
            "url_key",
        ),
        ('product 1: Attribute "color" does not exist', "missing_attribute"),
        (
            "product 1: The option that was requested doesn't exist. Verify the entity and try "
            "again.",
            "missing_attribute",
        ),
        ('stock 1: Product with SKU "1" does not exist', "unknown_sku"),
        (
            "price 1: The product that was requested doesn't exist. Verify the product and "
            "try again.",
            "unknown_sku",
        ),
        ("product 1: Validation Failed: qty must be a number", "validation"),
        ("product 1: The product was unable to be saved. Please try again.", "validation"),
        ("gave up after 8 attempts: answered 503", "gave_up"),
        ("product 1: something nobody has seen", "other"),
    ],
)
def test_each_refusal_falls_in_its_group_with_a_next_step(raw: str, group: str) -> None:
    told = explain(raw)
    assert told.group == group == group_of(raw)
    assert told.title == GROUP_TITLES[group]
    assert told.raw == raw
    assert told.cause and told.next_step.endswith(".")


def test_a_url_key_clash_names_the_holder_and_counterpoints_url_field() -> None:
    told = explain("product 1: URL key for specified store already exists", "SKU 77, “Tee”")
    assert "SKU 77" in told.cause
    assert "IM_ITEM.URL" in told.next_step


def test_an_unknown_reason_keeps_its_words_as_the_cause() -> None:
    told = explain("product 1: the moon is full")
    assert told.cause == "The moon is full"
