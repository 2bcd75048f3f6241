"""Counterpoint's promotional price rules (docs/reference/counterpoint.md#price-rules, #which-rule-wins), without a database."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from cpsync.counterpoint.price_filter import (
    MAYBE,
    FilterError,
    compile_filter,
    compile_sale_filter,
    filter_columns,
)
from cpsync.counterpoint.pricing import (
    Break,
    Group,
    PriceMethods,
    Rule,
    Segment,
    next_boundary,
    promo_price,
    special_window,
)

NOW = datetime(2026, 11, 27, 9, 0)
DAY = timedelta(days=1)
METHODS = PriceMethods()
ITEM = {"ITEM_NO": "MUG-1", "CATEG_COD": "MUGS", "DESCR": "Blue Mug", "PRC_1": Decimal("40")}
BASIS = {"1": Decimal("40.00"), "2": Decimal("36.00")}


def rule(filt: str, *breaks: tuple[int, str, str], seq: int = 1, basis: str = "1") -> Rule:
    return Rule(
        seq=seq,
        matches=compile_filter(filt),
        breaks=tuple(Break(Decimal(q), m, basis, Decimal(a)) for q, m, a in breaks),
    )


def group(code: str, seq: int, *rules: Rule, begin: datetime | None = None,
          end: datetime | None = None, enabled: bool = True) -> Group:  # fmt: skip
    return Group(code, seq, begin, end, enabled, tuple(rules))


# --- item filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(IM_ITEM.ITEM_NO = 'MUG-1')", True),
        ("(IM_ITEM.ITEM_NO = 'mug-1 ')", True),  # SQL Server's collation: case, trailing blanks
        ("IM_ITEM.CATEG_COD = 'MUGS' AND IM_ITEM.PRC_1 >= 40", True),
        ("IM_ITEM.CATEG_COD = 'TEA' OR (IM_ITEM.DESCR LIKE '%blue%')", True),
        ("NOT (IM_ITEM.CATEG_COD IN ('TEA', 'HOME'))", True),
        ("IM_ITEM.CATEG_COD NOT IN ('MUGS')", False),
        ("IM_ITEM.PRC_1 BETWEEN 10 AND 39.99", False),
        ("IM_ITEM.DESCR LIKE 'Blue M_g'", True),
        ("[IM_ITEM].[SUBCAT_COD] IS NULL", True),
        ("IM_ITEM.SUBCAT_COD = 'X'", False),  # NULL compares as unknown: no match
        ("NOT IM_ITEM.SUBCAT_COD = 'X'", False),  # and NOT unknown is still unknown
        ("ITEM_NO = N'MUG-1'", True),
        ("", True),
    ],
)
def test_given_an_item_filter_when_evaluated_then_it_matches_like_sql_server(
    text: str, expected: bool
) -> None:
    assert (compile_filter(text)(ITEM) is True) is expected


@pytest.mark.parametrize(
    "text",
    [
        "AR_CUST.CATEG_COD = 'X'",  # another table
        "IM_ITEM.ITEM_NO = ",
        "IM_ITEM.ITEM_NO = 'A' GARBAGE",
        "dbo.fn(IM_ITEM.ITEM_NO) = 1",
    ],
)
def test_given_a_filter_outside_the_grammar_then_it_is_refused_not_guessed(text: str) -> None:
    with pytest.raises(FilterError):
        compile_filter(text)


def test_given_known_columns_when_a_filter_names_another_then_it_is_refused() -> None:
    with pytest.raises(FilterError, match="PROF_ALPHA_1"):
        compile_filter("IM_ITEM.PROF_ALPHA_1 = 'X'", columns=["ITEM_NO"])


# --- which rule wins ----------------------------------------------------------------------


def test_given_groups_in_order_when_several_match_then_the_first_wins_even_if_dearer() -> None:
    groups = [
        group("FIRST", 1, rule("ITEM_NO = 'MUG-1'", (0, "D", "10"))),
        group("SECOND", 2, rule("ITEM_NO = 'MUG-1'", (0, "D", "50"))),
    ]
    found = promo_price(groups, ITEM, BASIS, NOW, METHODS)
    assert found is not None
    assert (found.price, found.group) == (Decimal("36.00"), "FIRST")


def test_given_disabled_or_out_of_window_groups_then_they_are_skipped() -> None:
    groups = [
        group("OFF", 1, rule("", (0, "F", "1")), enabled=False),
        group("OLD", 2, rule("", (0, "D", "50")), begin=NOW - 10 * DAY, end=NOW - DAY),
        group("LATER", 3, rule("", (0, "D", "50")), begin=NOW + timedelta(hours=3)),
        group("NOW", 4, rule("", (0, "A", "2.00")), begin=NOW - DAY, end=NOW + DAY),
    ]
    found = promo_price(groups, ITEM, BASIS, NOW, METHODS)
    assert found is not None and (found.group, found.price) == ("NOW", Decimal("38.00"))


def test_given_rules_in_a_group_then_the_first_matching_rule_and_its_first_break_apply() -> None:
    groups = [
        group(
            "G", 1,
            rule("CATEG_COD = 'TEA'", (0, "F", "1"), seq=1),
            rule("CATEG_COD = 'MUGS'", (5, "D", "30"), (0, "D", "20"), seq=2),
            rule("", (0, "F", "1"), seq=3),
        )
    ]  # fmt: skip
    found = promo_price(groups, ITEM, BASIS, NOW, METHODS)
    assert found is not None and (found.rule, found.price) == (2, Decimal("32.00"))


@pytest.mark.parametrize(
    ("method", "amount", "basis", "expected"),
    [
        ("D", "15", "1", "34.00"),
        ("D", "33.333", "1", "26.67"),  # rounded half up to the cent
        ("A", "50", "1", "0.00"),  # never below zero
        ("F", "9.99", "1", "9.99"),
        ("D", "50", "2", "18.00"),  # basis Price-2
    ],
)
def test_given_each_method_then_the_price_follows(
    method: str, amount: str, basis: str, expected: str
) -> None:
    groups = [group("G", 1, rule("", (0, method, amount), basis=basis))]
    found = promo_price(groups, ITEM, BASIS, NOW, METHODS)
    assert found is not None and found.price == Decimal(expected)


def test_given_other_method_letters_as_a_setting_then_they_are_used() -> None:
    groups = [group("G", 1, rule("", (0, "O", "5.00")))]
    with pytest.raises(ValueError, match="G/1"):
        promo_price(groups, ITEM, BASIS, NOW, METHODS)
    found = promo_price(groups, ITEM, BASIS, NOW, PriceMethods(fixed="O"))
    assert found is not None and found.price == Decimal("5.00")


def test_given_a_rule_that_cannot_be_applied_then_no_later_rule_wins_instead() -> None:
    # GIVEN a first rule cpsync cannot apply (unreadable filter, unknown method letter...)
    broken = Rule(seq=1, matches=lambda row: MAYBE, breaks=(), problem="cannot read")
    unknown_method = Rule(
        seq=1, matches=compile_filter(""), breaks=(), problem="price method 'Z' is unknown"
    )
    later = rule("", (0, "D", "10"), seq=2)
    for first in (broken, unknown_method):
        # WHEN an item reaches it THEN the search stops there: no special price at all
        assert promo_price([group("G", 1, first, later)], ITEM, BASIS, NOW, METHODS) is None


def test_given_a_filter_naming_a_missing_column_then_only_items_it_could_match_stop() -> None:
    # GIVEN a rule on a merchant column this database lacks, AND'ed with a category
    text = "IM_ITEM.CATEG_COD = 'MUGS' AND IM_ITEM.USR_BRAND = 'ACME'"
    maybe = Rule(seq=1, matches=compile_filter(text, missing=["USR_BRAND"]), breaks=(),
                 problem="names IM_ITEM.USR_BRAND")  # fmt: skip
    groups = [group("G", 1, maybe, rule("", (0, "D", "10"), seq=2))]
    # WHEN a mug (which could match) and a tea (which cannot) are priced
    tea = {**ITEM, "CATEG_COD": "TEA"}
    # THEN the mug gets no special price, the tea goes on to the later rule
    assert promo_price(groups, ITEM, BASIS, NOW, METHODS) is None
    found = promo_price(groups, tea, BASIS, NOW, METHODS)
    assert found is not None and found.rule == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IM_ITEM.USR_X = 'A'", MAYBE),
        ("NOT IM_ITEM.USR_X = 'A'", MAYBE),
        ("IM_ITEM.USR_X IS NULL", MAYBE),
        ("IM_ITEM.USR_X = 'A' AND IM_ITEM.CATEG_COD = 'TEA'", False),
        ("NOT (IM_ITEM.USR_X = 'A' AND IM_ITEM.CATEG_COD = 'TEA')", True),
        ("IM_ITEM.USR_X = 'A' OR IM_ITEM.CATEG_COD = 'MUGS'", True),
        ("IM_ITEM.USR_X LIKE 'A%' OR IM_ITEM.CATEG_COD = 'TEA'", MAYBE),
        ("IM_ITEM.USR_X IN ('A') AND IM_ITEM.SUBCAT_COD = 'X'", MAYBE),
    ],
)
def test_given_a_missing_column_then_a_filter_says_maybe_only_where_it_decides(
    text: str, expected: object
) -> None:
    assert compile_filter(text, missing=["USR_X"])(ITEM) is expected


def test_given_a_filter_then_the_columns_it_names_are_known_before_reading_items() -> None:
    text = "[IM_ITEM].[CATEG_COD] = 'MUGS' OR (PROF_COD_1 LIKE 'A%' AND IM_ITEM.PRC_1 > 5)"
    assert filter_columns(text) == {"CATEG_COD", "PROF_COD_1", "PRC_1"}
    assert filter_columns(None) == frozenset()


def test_given_a_rule_with_a_customer_filter_then_items_it_matches_get_no_special() -> None:
    customers = Rule(seq=1, matches=compile_filter("CATEG_COD = 'MUGS'"),
                     breaks=(Break(Decimal(0), "D", "1", Decimal(50)),), customer_filter=True)  # fmt: skip
    groups = [group("G", 1, customers, rule("", (0, "D", "10"), seq=2))]
    assert promo_price(groups, ITEM, BASIS, NOW, METHODS) is None
    found = promo_price(groups, {**ITEM, "CATEG_COD": "TEA"}, BASIS, NOW, METHODS)
    assert found is not None and found.rule == 2


def test_given_a_rule_for_another_store_then_it_is_skipped_and_the_next_rule_wins() -> None:
    web = {"STR_ID": "WEB", "LOC_ID": "WEB", "PRC_LOC_ID": "WEB", "STK_LOC_ID": "WEB"}
    assert compile_sale_filter("(PS_DOC_HDR.STR_ID = 'WEB')")(web) is True
    assert compile_sale_filter("STR_ID IN ('MAIN', 'OUTLET')")(web) is False
    assert compile_sale_filter("")(web) is True
    with pytest.raises(FilterError):
        compile_sale_filter("PS_DOC_HDR.CUST_NO = 'X'")
    elsewhere = Rule(seq=1, matches=compile_filter(""), breaks=(), online=False)
    groups = [group("G", 1, elsewhere, rule("", (0, "D", "10"), seq=2))]
    found = promo_price(groups, ITEM, BASIS, NOW, METHODS)
    assert found is not None and found.rule == 2


def test_given_open_ended_dates_then_the_window_is_open_and_end_dates_last_the_day() -> None:
    assert Group.window("Y", NOW, NOW, "Y", NOW, NOW) == (None, None)
    assert Group.window("N", None, NOW, "N", None, datetime(2026, 11, 28)) == (
        NOW,
        datetime(2026, 11, 28, 23, 59, 59),
    )


# --- the window sent to Magento ------------------------------------------------------------


def test_given_a_running_promotion_then_its_window_is_its_begin_and_end() -> None:
    begin, end = NOW - DAY, NOW + DAY
    groups = [group("G", 1, rule("", (0, "D", "20")), begin=begin, end=end)]
    window = special_window(groups, ITEM, BASIS, NOW, 7 * DAY, METHODS)
    assert window == Segment(Decimal("32.00"), begin, end)


def test_given_a_promotion_starting_tomorrow_at_six_then_it_is_sent_ahead() -> None:
    six = datetime(2026, 11, 28, 6, 0)
    groups = [group("G", 1, rule("", (0, "D", "25")), begin=six, end=six + 2 * DAY)]
    window = special_window(groups, ITEM, BASIS, NOW, 7 * DAY, METHODS)
    assert window == Segment(Decimal("30.00"), six, six + 2 * DAY)
    assert special_window(groups, ITEM, BASIS, NOW, timedelta(hours=12), METHODS) is None


def test_given_a_promotion_starting_at_14_that_may_not_go_ahead_then_it_waits_for_its_start() -> (
    None
):
    """A whole-day store would start it at midnight: nobody may get its price before 14:00."""
    two = datetime(2026, 11, 28, 14, 0)
    groups = [group("G", 1, rule("", (0, "D", "25")), begin=two, end=two + 2 * DAY)]
    midnight_only = lambda moment: moment.time() == datetime.min.time()  # noqa: E731
    assert special_window(groups, ITEM, BASIS, NOW, 7 * DAY, METHODS, midnight_only) is None
    after = two + timedelta(minutes=5)
    window = special_window(groups, ITEM, BASIS, after, 7 * DAY, METHODS, midnight_only)
    assert window == Segment(Decimal("30.00"), two, two + 2 * DAY)


def test_given_a_mid_day_promotion_then_a_later_whole_day_one_is_sent_ahead_instead() -> None:
    two, midnight = datetime(2026, 11, 28, 14, 0), datetime(2026, 11, 30)
    groups = [
        group("PM", 1, rule("", (0, "D", "25")), begin=two, end=two + timedelta(hours=3)),
        group("DAY", 2, rule("", (0, "D", "10")), begin=midnight, end=midnight + DAY),
    ]
    midnight_only = lambda moment: moment.time() == datetime.min.time()  # noqa: E731
    window = special_window(groups, ITEM, BASIS, NOW, 7 * DAY, METHODS, midnight_only)
    assert window == Segment(Decimal("36.00"), midnight, midnight + DAY)


def test_given_a_better_group_starting_later_then_the_current_window_ends_before_it() -> None:
    later = NOW + 2 * DAY
    groups = [
        group("FIRST", 1, rule("", (0, "D", "50")), begin=later, end=later + DAY),
        group("SECOND", 2, rule("", (0, "D", "10")), begin=NOW - DAY, end=NOW + 5 * DAY),
    ]
    window = special_window(groups, ITEM, BASIS, NOW, 7 * DAY, METHODS)
    assert window == Segment(Decimal("36.00"), NOW - DAY, later - timedelta(seconds=1))


def test_given_no_promotion_within_the_horizon_then_there_is_no_special_price() -> None:
    groups = [group("G", 1, rule("CATEG_COD = 'TEA'", (0, "D", "10")))]
    assert special_window(groups, ITEM, BASIS, NOW, 7 * DAY, METHODS) is None


def test_given_a_first_match_whose_discount_starts_at_5_units_then_one_unit_has_none() -> None:
    groups = [
        group("BULK", 1, rule("", (5, "D", "30"))),  # matches first, but only from 5 units
        group("LATER", 2, rule("", (0, "D", "10"))),
    ]
    assert promo_price(groups, ITEM, BASIS, NOW, METHODS) is None
    needs_two = Rule(
        seq=1,
        matches=compile_filter(""),
        breaks=(Break(Decimal(0), "D", "1", Decimal(10)),),
        min_qty=Decimal(2),
    )
    assert promo_price([group("G", 1, needs_two)], ITEM, BASIS, NOW, METHODS) is None


# --- the next run a whole-day store needs ----------------------------------------------------


def test_given_a_promotion_starting_at_14_then_the_next_boundary_is_14() -> None:
    two = datetime(2026, 11, 28, 14, 0)
    groups = [group("G", 1, begin=two, end=two + DAY)]
    assert next_boundary(groups, NOW, 7 * DAY) == two


def test_given_a_promotion_ending_at_17_59_59_then_the_next_boundary_is_18() -> None:
    end = datetime(2026, 11, 27, 17, 59, 59)
    groups = [group("G", 1, begin=NOW - DAY, end=end)]
    assert next_boundary(groups, NOW, 7 * DAY) == datetime(2026, 11, 27, 18, 0)


def test_given_only_whole_day_promotions_then_no_run_is_needed() -> None:
    """Magento starts and ends them itself from the dates sent ahead."""
    day = datetime(2026, 11, 28)
    groups = [group("G", 1, begin=day, end=day + 2 * DAY - timedelta(seconds=1))]
    assert next_boundary(groups, NOW, 7 * DAY) is None


@pytest.mark.parametrize(
    ("begin", "enabled", "expected"),
    [
        (datetime(2026, 12, 5, 14, 0), True, None),  # beyond the 7-day horizon
        (datetime(2026, 11, 27, 8, 0), True, None),  # began already
        (datetime(2026, 11, 27, 9, 0), True, None),  # begins now: this run priced it
        (datetime(2026, 11, 28, 14, 0), False, None),  # disabled
        (datetime(2026, 12, 4, 8, 59, 59), True, datetime(2026, 12, 4, 8, 59, 59)),
    ],
)
def test_given_a_begin_then_it_is_the_next_boundary_only_when_ahead_within_the_horizon(
    begin: datetime, enabled: bool, expected: datetime | None
) -> None:
    assert next_boundary([group("G", 1, begin=begin, enabled=enabled)], NOW, 7 * DAY) == expected


def test_given_several_boundaries_then_the_earliest_mid_day_one_wins() -> None:
    groups = [
        group("A", 1, begin=datetime(2026, 11, 29, 10, 30)),
        group("B", 2, begin=datetime(2026, 11, 28), end=datetime(2026, 11, 28, 19, 59, 59)),
        group("C", 3, begin=datetime(2026, 11, 27, 9, 0, 1)),
    ]
    assert next_boundary(groups[:2], NOW, 7 * DAY) == datetime(2026, 11, 28, 20, 0)
    assert next_boundary(groups, NOW, 7 * DAY) == datetime(2026, 11, 27, 9, 0, 1)


def test_given_a_store_day_predicate_then_midnight_is_the_stores() -> None:
    utc_midnight = datetime(2026, 11, 27, 19, 0)  # 00:00 UTC in New York
    groups = [group("G", 1, begin=utc_midnight)]
    assert next_boundary(groups, NOW, 7 * DAY) == utc_midnight
    assert next_boundary(groups, NOW, 7 * DAY, whole_day=lambda m: m.hour == 19) is None
