"""Price rules (IM_PRC_GRP / IM_PRC_RUL / IM_PRC_RUL_BRK),
docs/reference/counterpoint.md#price-rules, #which-rule-wins.

Why these groups: each one fails a different shortcut. The disabled and expired promotions come
first in GRP_SEQ_NO order and, like the contract group, target the same item as the running
promotion, so a sync that skips the ENABLED, date-window or GRP_TYP check prices that item
visibly wrong. All dates are server-local (America/New_York), naive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Table

from cpsync.counterpoint import schema
from cpsync_sample.common import Clock, Row

__all__ = ["GROUP_KEYS", "promotion_rows"]

_Break = tuple[int, str, str]  # (MIN_QTY, PRC_METH, AMT_OR_PCT)
_Rule = tuple[str, str, list[_Break]]  # (ITEM_FILT, ITEM_FILT_TEXT, breaks)

#: SampleInfo.special key -> GRP_COD
GROUP_KEYS = {
    "promo_disabled": "PROMO-OFF",
    "promo_expired": "PROMO-OLD",
    "promo_active_now": "PROMO-NOW",
    "promo_starts_later_today": "PROMO-LATE",
    "contract_group": "CONTRACT1",
}


@dataclass(frozen=True)
class _Group:
    grp_typ: str
    grp_cod: str
    seq: int
    descr: str
    beg: datetime
    end: datetime
    enabled: str
    rules: list[_Rule]


def _later_today(now: datetime) -> tuple[datetime, str | None]:
    """now + 3 h if that is still today; else 23:00 (23:59:59 after 23:00), with a note."""
    start = now + timedelta(hours=3)
    if start.date() == now.date():
        return start, None
    eleven = datetime.combine(now.date(), time(23, 0))
    start = eleven if now < eleven else datetime.combine(now.date(), time(23, 59, 59))
    note = f"promo_starts_later_today begins at {start:%H:%M:%S} because now + 3 h is tomorrow"
    if start <= now:
        note += "; now is 23:59:59, so it does not start after now"
    return start, note


def _item_rule(item_no: str, breaks: list[_Break]) -> _Rule:
    return f"(IM_ITEM.ITEM_NO = '{item_no}')", f"Item number is exactly {item_no}", breaks


def _groups(clock: Clock, special: dict[str, str]) -> tuple[list[_Group], str | None]:
    today = datetime.combine(clock.local.date(), time())
    day = timedelta(days=1)
    tomorrow_end = today + day + timedelta(hours=23, minutes=59, seconds=59)
    yesterday_end = today - timedelta(seconds=1)
    later, note = _later_today(clock.local)
    item = special["promo_item"]
    mugs: _Rule = ("(IM_ITEM.CATEG_COD = 'MUGS')", "Category is exactly MUGS", [(0, "A", "2.00")])
    groups = [
        _Group("P", "PROMO-OFF", 1, "Disabled flash sale", today - day, tomorrow_end, "N",
               [_item_rule(item, [(0, "F", "1.00")])]),
        _Group("P", "PROMO-OLD", 2, "Last week's sale", today - 10 * day, yesterday_end, "Y",
               [_item_rule(item, [(0, "D", "50")])]),
        _Group("P", "PROMO-NOW", 3, "Running sale", today - day, tomorrow_end, "Y", [
            _item_rule(item, [(0, "D", "20"), (5, "D", "30")]),
            mugs,
            _item_rule(special["promo_fixed_item"], [(0, "F", "9.99")]),
        ]),
        _Group("P", "PROMO-LATE", 4, "Evening sale", later, tomorrow_end, "Y",
               [_item_rule(special["promo_later_item"], [(0, "D", "15")])]),
        _Group("C", "CONTRACT1", 1, "Wholesale contract", today - 30 * day, tomorrow_end, "Y",
               [_item_rule(item, [(0, "D", "90")])]),
    ]  # fmt: skip
    return groups, note


def promotion_rows(
    clock: Clock, special: dict[str, str]
) -> tuple[list[tuple[Table, Row]], str | None]:
    """All price-rule rows, plus a note if the later-today start had to be clamped.

    PROMO-NOW holds three rules: 20% off `promo_item` (30% from 5 units), 2.00 off every
    CATEG_COD 'MUGS' item, and a fixed 9.99 for `promo_fixed_item`.
    """
    groups, note = _groups(clock, special)
    maint = clock.local - timedelta(days=2)
    rows: list[tuple[Table, Row]] = []
    for group in groups:
        rows.append((schema.IM_PRC_GRP, _group_row(group, maint)))
        for rul_seq, (item_filt, filt_text, breaks) in enumerate(group.rules, start=1):
            key = {"GRP_TYP": group.grp_typ, "GRP_COD": group.grp_cod, "RUL_SEQ_NO": rul_seq}
            rows.append((schema.IM_PRC_RUL, _rule_row(key, item_filt, filt_text, maint)))
            for min_qty, meth, amount in breaks:
                brk = {
                    **key,
                    "MIN_QTY": Decimal(min_qty),
                    "PRC_METH": meth,  # D = percent off, A = amount off, F = fixed price
                    "PRC_BASIS": "1",  # Price-1
                    "AMT_OR_PCT": Decimal(amount),
                    "PRC_BRK_DESCR": _break_text(meth, amount),
                    "LST_MAINT_DT": maint,
                }
                rows.append((schema.IM_PRC_RUL_BRK, brk))
    return rows, note


def _group_row(group: _Group, maint: datetime) -> Row:
    """BEG_DAT/END_DAT are the dates, BEG_DT/END_DT the effective date-times."""
    return {
        "GRP_TYP": group.grp_typ,
        "GRP_COD": group.grp_cod,
        "GRP_SEQ_NO": group.seq,
        "DESCR": group.descr,
        "CUST_FILT": "(AR_CUST.CATEG_COD = 'WHOLESALE')" if group.grp_typ == "C" else None,
        "BEG_DAT": datetime.combine(group.beg.date(), time()),
        "NO_BEG_DAT": "N",
        "BEG_DT": group.beg,
        "BEG_TIM_FLG": group.beg.hour,
        "END_DAT": datetime.combine(group.end.date(), time()),
        "NO_END_DAT": "N",
        "END_DT": group.end,
        "END_TIM_FLG": 0,
        "ENABLED": group.enabled,
        "LST_MAINT_DT": maint,
        "LST_MAINT_USR_ID": "MGR",
    }


def _rule_row(key: Row, item_filt: str, filt_text: str, maint: datetime) -> Row:
    return {
        **key,
        "DESCR": filt_text[:30],
        "ITEM_FILT": item_filt,
        "ITEM_FILT_TEXT": filt_text,
        "MIN_QTY": Decimal(0),
        "IS_CUSTOM": "N",
        "USE_BOGO_TWOFER": "N",
        "REQ_FULL_GRP_FOR_BOGO_TWOFER": "N",
        "LST_MAINT_DT": maint,
    }


def _break_text(meth: str, amount: str) -> str:
    return {"D": f"{amount}% off", "A": f"{amount} off", "F": f"Fixed price {amount}"}[meth]
