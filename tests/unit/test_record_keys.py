"""Record keys: trimmed once, and two records that would be one Magento SKU are refused."""

from __future__ import annotations

from decimal import Decimal

from cpsync.settings import load_settings
from cpsync.skus import record_key
from cpsync.tasks._claims import SkuClaims
from cpsync.tasks._sanity import sanity_warnings, suspicious_characters


def test_keys_lose_the_trailing_spaces_char_columns_pad_with_and_null_is_empty() -> None:
    assert record_key("BAD5   ") == "BAD5"
    assert record_key(" LEAD") == " LEAD"
    assert record_key(None) == ""


def test_given_keys_equal_but_for_case_or_trailing_spaces_then_both_clash() -> None:
    claims = SkuClaims()
    for raw in ("case1", "CASE1", "BAD5", "BAD5 ", "OK1"):
        claims.add(raw, raw, f"item {raw!r}")
    assert claims.clash("case1") and claims.clash("CASE1")
    assert "'BAD5 '" in (claims.clash("BAD5") or "")
    assert claims.clash("OK1") is None


def test_given_an_item_named_like_a_grid_cell_then_item_parent_and_cell_clash() -> None:
    claims = SkuClaims()
    claims.add("TSHIRT-GRID", "TSHIRT-GRID", "item 'TSHIRT-GRID'")
    claims.add("TSHIRT-GRID", "TSHIRT-GRID|RED|S", "grid cell RED/S of item 'TSHIRT-GRID'")
    claims.add("TSHIRT-GRID|RED|S", "TSHIRT-GRID|RED|S", "item 'TSHIRT-GRID|RED|S'")
    assert claims.clash("TSHIRT-GRID|RED|S") and claims.clash("TSHIRT-GRID")


def test_the_stored_clashes_refuse_the_same_keys_as_the_full_claims() -> None:
    claims = SkuClaims()
    claims.add("TSHIRT-GRID", "TSHIRT-GRID", "item 'TSHIRT-GRID'")
    claims.add("TSHIRT-GRID", "TSHIRT-GRID|RED|S", "grid cell RED/S of item 'TSHIRT-GRID'")
    claims.add("TSHIRT-GRID|RED|S", "TSHIRT-GRID|RED|S", "item 'TSHIRT-GRID|RED|S'")
    for raw in ("case1", "CASE1", "OK1", "OK2"):
        claims.add(raw, raw, f"item {raw!r}")
    stored = SkuClaims.from_clashing(claims.clashing())
    assert len(claims.clashing()) == 2  # only the clashes are kept, not every claim
    for key in ("TSHIRT-GRID", "TSHIRT-GRID|RED|S", "tshirt-grid|red|s", "case1", "CASE1", "OK1"):
        assert stored.clash(key) == claims.clash(key), key


def test_control_and_bidi_override_characters_are_named() -> None:
    assert suspicious_characters("a\u202eb\x07c\u2066") == ["U+202E", "U+0007", "U+2066"]
    assert suspicious_characters("Caf\u00e9 \u2615") == []


def test_high_prices_and_weights_are_warnings_at_the_configured_limits() -> None:
    settings = load_settings(price_max=Decimal(100), weight_max=Decimal(5))
    found = sanity_warnings(settings, "Mug", Decimal(6), Decimal(101))
    assert len(found) == 2
    assert sanity_warnings(settings, "Mug", Decimal(5), Decimal(100)) == []
