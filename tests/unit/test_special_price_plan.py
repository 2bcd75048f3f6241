"""Which special-price calls a chunk needs, from what Magento holds (no Magento involved)."""

from __future__ import annotations

from cpsync.magento.prices import SpecialPriceRow, plan_special


def row(price: float, start: str | None = None, end: str | None = None) -> SpecialPriceRow:
    return SpecialPriceRow(price=price, sku="A", price_from=start, price_to=end)


def test_given_the_held_row_is_the_desired_one_then_nothing_is_sent() -> None:
    plan = plan_special(
        {"A": row(8, "2026-12-01 00:00:00")}, {"A": [row(8, "2026-12-01 00:00:00")]}
    )
    assert (plan.delete, plan.save) == ([], [])


def test_given_only_the_price_moved_then_it_is_saved_in_place_without_a_delete() -> None:
    held = row(8, "2026-12-01 00:00:00", "2026-12-24 23:59:59")
    wanted = row(7, "2026-12-01 00:00:00", "2026-12-24 23:59:59")
    plan = plan_special({"A": wanted}, {"A": [held]})
    assert (plan.delete, plan.save, plan.in_place) == ([], [("A", wanted)], {"A": [held]})


def test_given_a_date_dropped_then_the_row_is_deleted_first_since_a_save_would_keep_it() -> None:
    held, wanted = row(8, None, "2026-12-24 23:59:59"), row(8)
    plan = plan_special({"A": wanted}, {"A": [held]})
    assert (plan.delete, plan.save, plan.in_place) == ([("A", held)], [("A", wanted)], {})


def test_given_the_promotion_ended_then_only_a_delete_is_sent() -> None:
    held = row(8)
    plan = plan_special({"A": None}, {"A": [held]})
    assert (plan.delete, plan.save) == ([("A", held)], [])


def test_given_two_held_rows_then_both_go_and_the_desired_one_is_saved() -> None:
    """A store keeping one row per date range may hold several."""
    a, b = row(8, "2026-12-01 00:00:00"), row(6, "2026-12-10 00:00:00")
    plan = plan_special({"A": a}, {"A": [a, b]})
    assert (plan.delete, plan.save) == ([("A", a), ("A", b)], [("A", a)])


def test_given_magento_showed_no_row_then_dates_the_new_row_leaves_out_are_cleared_first() -> None:
    """The read cannot show dates kept without a price; a save would bring them back."""
    open_start, both = (
        row(8, None, "2026-12-24 23:59:59"),
        row(8, "2026-12-01 00:00:00", "2026-12-24 23:59:59"),
    )
    read = plan_special({"A": open_start}, {"A": []}, loose={"A"})
    trusted = plan_special({"A": open_start}, {"A": []})
    complete = plan_special({"A": both}, {"A": []}, loose={"A"})
    assert (read.clear, read.delete, read.save) == ([("A", open_start)], [], [("A", open_start)])
    assert (trusted.clear, complete.clear) == ([], [])  # state's word, or both dates sent
