"""The sample generator writes a Counterpoint-like database and image folder with every awkward
case a sync must survive; these tests check what a user of the sample would notice."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageOps
from sqlalchemy import CHAR, String, create_engine, func, select, text
from sqlalchemy.engine import Connection

from cpsync.counterpoint import schema
from cpsync_sample.__main__ import main
from cpsync_sample.generate import IMAGE_ITEM_LIMIT, MIN_ITEMS, SampleInfo, generate, image_stem

NY = ZoneInfo("America/New_York")
# The day after DST ended: the last week of changes straddles the switch from UTC-4 to UTC-5.
NOW = datetime(2024, 11, 4, 10, 15, tzinfo=NY)


@pytest.fixture(scope="module")
def info(tmp_path_factory: pytest.TempPathFactory) -> SampleInfo:
    return generate(tmp_path_factory.mktemp("sample"), items=200, seed=7, now=NOW)


@pytest.fixture(scope="module")
def conn(info: SampleInfo) -> Iterator[Connection]:
    engine = create_engine(info.database_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def sql(conn: Connection, query: str, **params: Any) -> list[Any]:
    """Rows of a raw SQL query; single-column results come back as plain values."""
    rows = conn.execute(text(query), params).all()
    return [row[0] if len(row) == 1 else tuple(row) for row in rows]


def table_contents(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as c:
            return {
                t.name: [tuple(r) for r in c.execute(select(t).order_by(*t.columns)).all()]
                for t in schema.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def image_snapshot(image_dir: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(image_dir.iterdir())}


def to_utc(local: datetime) -> datetime:
    return local.replace(tzinfo=NY).astimezone(UTC).replace(tzinfo=None)


# --- determinism and size -----------------------------------------------------------------------


def test_same_seed_and_now_give_identical_tables_and_images(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", items=80, seed=3, now=NOW)
    second = generate(tmp_path / "b", items=80, seed=3, now=NOW)
    assert table_contents(first.db_path) == table_contents(second.db_path)
    assert image_snapshot(first.image_dir) == image_snapshot(second.image_dir)
    assert first.special == second.special
    assert first.image_files == second.image_files


def test_rerun_into_same_directory_replaces_output(tmp_path: Path) -> None:
    generate(tmp_path, items=90, seed=1, now=NOW)
    (tmp_path / "ItemImages" / "stale.jpg").write_bytes(b"old")
    info = generate(tmp_path, items=MIN_ITEMS, seed=1, now=NOW)
    assert not (info.image_dir / "stale.jpg").exists()
    assert len(table_contents(info.db_path)["IM_ITEM"]) == MIN_ITEMS


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", items=80, seed=1, now=NOW)
    b = generate(tmp_path / "b", items=80, seed=2, now=NOW)
    assert table_contents(a.db_path)["IM_INV"] != table_contents(b.db_path)["IM_INV"]


@pytest.mark.parametrize("items", [MIN_ITEMS, 137])
def test_items_is_the_item_count(tmp_path: Path, items: int) -> None:
    info = generate(tmp_path, items=items, now=NOW)
    contents = table_contents(info.db_path)
    assert len(contents["IM_ITEM"]) == len(info.item_nos) == items
    assert len(contents["IM_INV"]) == items * len(info.location_ids)


def test_too_few_items_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=str(MIN_ITEMS)):
        generate(tmp_path, items=MIN_ITEMS - 1, now=NOW)


def test_default_now_is_the_current_time(tmp_path: Path) -> None:
    info = generate(tmp_path, items=MIN_ITEMS)
    assert abs(info.now_utc - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)
    assert info.now_local == info.now_utc.replace(tzinfo=UTC).astimezone(NY).replace(tzinfo=None)


def test_naive_now_is_utc(tmp_path: Path) -> None:
    info = generate(tmp_path, items=MIN_ITEMS, now=datetime(2024, 7, 1, 16, 0))
    assert info.now_utc == datetime(2024, 7, 1, 16, 0)
    assert info.now_local == datetime(2024, 7, 1, 12, 0)  # EDT


def test_images_are_bounded_for_large_samples(tmp_path: Path) -> None:
    info = generate(tmp_path, items=IMAGE_ITEM_LIMIT + 150, now=NOW)
    first = set(info.ecommerce_item_nos[:IMAGE_ITEM_LIMIT])
    assert set(info.image_files) <= first
    assert len(info.image_files) > IMAGE_ITEM_LIMIT // 2


def test_cli_prints_one_summary_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--items", "60", "--seed", "7", "--out", str(tmp_path), "--now", NOW.isoformat()]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "60 items" in out
    assert (tmp_path / "counterpoint.db").is_file()


def test_strings_fit_declared_column_lengths(conn: Connection) -> None:
    """Otherwise the same rows would not load into SQL Server."""
    for table in schema.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, String | CHAR) and column.type.length:
                longest = conn.execute(select(func.max(func.length(column)))).scalar()
                assert (longest or 0) <= column.type.length, f"{table.name}.{column.name}"


# --- items --------------------------------------------------------------------------------------


def test_item_lists_match_the_database(info: SampleInfo, conn: Connection) -> None:
    products = sql(conn, "SELECT ITEM_NO FROM IM_ITEM WHERE IS_ECOMM_ITEM='Y' AND STAT='A'")
    assert set(info.ecommerce_item_nos) == set(products)
    assert set(info.non_ecommerce_item_nos) == set(
        sql(conn, "SELECT ITEM_NO FROM IM_ITEM WHERE IS_ECOMM_ITEM='N'")
    )
    assert set(info.inactive_item_nos) == set(
        sql(conn, "SELECT ITEM_NO FROM IM_ITEM WHERE STAT<>'A'")
    )
    assert set(info.grid_item_nos) == set(
        sql(conn, "SELECT ITEM_NO FROM IM_ITEM WHERE TRK_METH='G'")
    )
    assert info.special["discontinued_item"] in info.inactive_item_nos
    non_inventory = info.special["non_inventory_item"]
    assert sql(conn, "SELECT ITEM_TYP FROM IM_ITEM WHERE ITEM_NO=:n", n=non_inventory) == ["N"]
    assert non_inventory in info.non_ecommerce_item_nos
    assert len(info.non_ecommerce_item_nos) >= 3
    assert 0 < len(info.inactive_item_nos) < len(info.item_nos) // 5  # most are active
    assert sql(conn, "SELECT DISTINCT TRK_METH FROM IM_ITEM ORDER BY 1") == ["G", "N"]


def test_awkward_item_numbers(info: SampleInfo, conn: Connection) -> None:
    special = info.special
    assert "/" in special["slash_item"]
    assert " " in special["space_item"]
    assert len(special["twenty_char_item"]) == 20
    assert special["numeric_item"].isdigit()
    assert special["leading_zero_item"].startswith("0")
    assert special["leading_zero_item"].isdigit()
    stored = set(sql(conn, "SELECT ITEM_NO FROM IM_ITEM"))
    assert {special[k] for k in ("slash_item", "space_item", "twenty_char_item")} <= stored
    assert "I00003" in stored
    assert any(re.fullmatch(r"I\d{5}", n) for n in stored)


def test_unicode_and_duplicate_descriptions(info: SampleInfo, conn: Connection) -> None:
    names = set(sql(conn, "SELECT DESCR FROM IM_ITEM"))
    assert {"Café Crème Mug", "Größe Jacke", "日本茶 Sencha"} <= names
    assert sql(
        conn, "SELECT DESCR FROM IM_ITEM WHERE ITEM_NO=:n", n=info.special["unicode_item"]
    ) == ["Café Crème Mug"]
    counts = Counter(sql(conn, "SELECT DESCR FROM IM_ITEM"))
    shared = [descr for descr, n in counts.items() if n > 1]
    assert len(shared) == 1 and counts[shared[0]] == 2
    sharing = sql(conn, "SELECT ITEM_NO FROM IM_ITEM WHERE DESCR=:d", d=shared[0])
    assert set(sharing) == set(info.duplicate_descr_item_nos)


def test_descriptions_weights_and_prices(info: SampleInfo, conn: Connection) -> None:
    blank = "SELECT COUNT(*) FROM IM_ITEM WHERE IS_ECOMM_ITEM='Y' AND COALESCE(TRIM(DESCR),'')=''"
    assert sql(conn, blank) == [0]
    null_long = info.special["null_long_descr_item"]
    assert sql(
        conn, "SELECT LONG_DESCR, SHORT_DESCR FROM IM_ITEM WHERE ITEM_NO=:n", n=null_long
    ) == [(None, None)]
    assert sql(
        conn, "SELECT WEIGHT FROM IM_ITEM WHERE ITEM_NO=:n", n=info.special["null_weight_item"]
    ) == [None]
    assert sql(conn, "SELECT COUNT(*) FROM IM_ITEM WHERE WEIGHT <= 0") == [0]
    assert sql(conn, "SELECT COUNT(*) FROM IM_ITEM WHERE WEIGHT > 0")[0] > len(info.item_nos) * 0.8
    assert sql(conn, "SELECT COUNT(*) FROM IM_ITEM WHERE PRC_1 IS NULL OR REG_PRC IS NULL") == [0]
    markdown = info.special["markdown_item"]
    assert sql(conn, "SELECT REG_PRC > PRC_1 FROM IM_ITEM WHERE ITEM_NO=:n", n=markdown) == [1]


def test_html_descriptions(info: SampleInfo, conn: Connection) -> None:
    def html_of(key: str) -> list[Any]:
        q = "SELECT HTML_DESCR FROM EC_ITEM_DESCR WHERE ITEM_NO=:n"
        return sql(conn, q, n=info.special[key])

    assert html_of("null_html_descr_item") == [None]
    assert html_of("empty_html_descr_item") == [""]
    assert html_of("no_ec_item_descr_item") == []
    [cafe] = html_of("unicode_item")
    assert "<p>" in cafe and "<ul>" in cafe and "Café" in cafe
    all_html = sql(conn, "SELECT HTML_DESCR FROM EC_ITEM_DESCR WHERE HTML_DESCR <> ''")
    assert any("<p>" in h for h in all_html)
    assert any("<" not in h for h in all_html)  # plain text too


# --- change tracking ----------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["IM_ITEM", "IM_INV", "IM_INV_CELL", "IM_PRC", "IM_LOC"])
def test_rs_utc_dt_is_lst_maint_dt_in_utc(conn: Connection, table: str) -> None:
    t = schema.metadata.tables[table]
    rows = conn.execute(select(t.c.LST_MAINT_DT, t.c.RS_UTC_DT)).all()
    with_rs = [(lst, rs) for lst, rs in rows if rs is not None]
    assert with_rs
    assert all(rs == to_utc(lst) for lst, rs in with_rs)


def test_null_rs_utc_dt_rows_are_old_and_both_dst_offsets_occur(
    info: SampleInfo, conn: Connection
) -> None:
    t = schema.IM_ITEM
    rows = {
        r.ITEM_NO: r for r in conn.execute(select(t.c.ITEM_NO, t.c.LST_MAINT_DT, t.c.RS_UTC_DT))
    }
    nulls = [r for r in rows.values() if r.RS_UTC_DT is None]
    assert {r.ITEM_NO for r in nulls} == set(info.null_rs_utc_dt_item_nos)
    assert info.special["null_rs_utc_dt_item"] in info.null_rs_utc_dt_item_nos
    assert all(r.LST_MAINT_DT < info.now_local - timedelta(days=2 * 365) for r in nulls)
    offsets = {r.RS_UTC_DT - r.LST_MAINT_DT for r in rows.values() if r.RS_UTC_DT}
    assert offsets == {timedelta(hours=4), timedelta(hours=5)}
    winter, summer = rows[info.special["dst_winter_item"]], rows[info.special["dst_summer_item"]]
    assert winter.RS_UTC_DT - winter.LST_MAINT_DT == timedelta(hours=5)
    assert summer.RS_UTC_DT - summer.LST_MAINT_DT == timedelta(hours=4)


def test_recent_changes_for_watermarks(info: SampleInfo, conn: Connection) -> None:
    t = schema.IM_ITEM
    stamps = conn.execute(select(t.c.ITEM_NO, t.c.LST_MAINT_DT, t.c.RS_UTC_DT)).all()
    assert max(s.LST_MAINT_DT for s in stamps) <= info.now_local
    last_day = [s for s in stamps if s.RS_UTC_DT and s.RS_UTC_DT > info.now_utc - timedelta(days=1)]
    last_week = [
        s for s in stamps if s.RS_UTC_DT and s.RS_UTC_DT > info.now_utc - timedelta(days=7)
    ]
    assert 0 < len(last_day) < len(last_week) < len(stamps)
    newest = max(stamps, key=lambda s: s.LST_MAINT_DT)
    assert newest.ITEM_NO == info.special["newest_item"]


# --- grids and inventory ------------------------------------------------------------------------


def test_grid_items(info: SampleInfo, conn: Connection) -> None:
    def item(key: str) -> Any:
        t = schema.IM_ITEM
        return conn.execute(select(t).where(t.c.ITEM_NO == info.special[key])).one()

    two, three = item("grid_2d_item"), item("grid_3d_item")
    assert (two.TRK_METH, two.DIM_COUNT, two.DIM_COD_LABEL) == ("G", 2, "Color / Size")
    assert (two.GRID_DIM_1_TAG, two.GRID_DIM_2_TAG, two.GRID_DIM_3_TAG) == ("Color", "Size", None)
    assert (three.DIM_COUNT, three.GRID_DIM_3_TAG) == (3, "Width")
    colours = sql(
        conn,
        "SELECT DIM_1, DIM_1_UPR, DIM_1_SEQ_NO FROM IM_GRID_DIM_1 WHERE ITEM_NO=:n "
        "ORDER BY DIM_1_SEQ_NO",
        n=two.ITEM_NO,
    )
    assert colours == [("Red", "RED", 1), ("Yellow", "YELLOW", 2), ("Blue", "BLUE", 3)]
    web_cells = (
        "SELECT DIM_1_UPR, DIM_2_UPR, DIM_3_UPR FROM IM_INV_CELL WHERE ITEM_NO=:n AND LOC_ID='WEB'"
    )
    cells = sql(conn, web_cells, n=two.ITEM_NO)
    assert len(cells) == 3 * 4 and {c[2] for c in cells} == {"*"}
    cells = sql(conn, web_cells, n=three.ITEM_NO)
    assert len(cells) == 2 * 3 * 2 and {c[2] for c in cells} == {"MEDIUM", "WIDE"}
    not_grid = "SELECT ITEM_NO FROM IM_ITEM WHERE TRK_METH<>'G'"
    assert sql(conn, f"SELECT COUNT(*) FROM IM_INV_CELL WHERE ITEM_NO IN ({not_grid})") == [0]
    assert len(info.grid_item_nos) > 2  # random grids besides the two fixed ones


def test_every_grid_cell_has_a_row_per_location(info: SampleInfo, conn: Connection) -> None:
    for item_no in info.grid_item_nos:
        sizes = [
            sql(conn, f"SELECT COUNT(*) FROM IM_GRID_DIM_{n} WHERE ITEM_NO=:i", i=item_no)[0] or 1
            for n in (1, 2, 3)
        ]
        per_loc = sql(
            conn,
            "SELECT LOC_ID, COUNT(*) FROM IM_INV_CELL WHERE ITEM_NO=:i GROUP BY LOC_ID",
            i=item_no,
        )
        assert dict(per_loc) == {loc: sizes[0] * sizes[1] * sizes[2] for loc in info.location_ids}


def test_inventory_arithmetic(info: SampleInfo, conn: Connection) -> None:
    inv = schema.IM_INV
    rows = conn.execute(select(inv)).all()
    assert {(r.ITEM_NO, r.LOC_ID) for r in rows} == {
        (i, loc) for i in info.item_nos for loc in info.location_ids
    }
    for r in rows:
        assert r.QTY_AVAIL == r.QTY_ON_HND - r.QTY_COMMIT
        assert r.NET_QTY == r.QTY_AVAIL + r.QTY_ON_PO
    cells = conn.execute(select(schema.IM_INV_CELL)).all()
    assert all(c.QTY_AVAIL == c.QTY_ON_HND - c.QTY_COMMIT for c in cells)
    totals: Counter[tuple[str, str]] = Counter()
    for c in cells:
        totals[c.ITEM_NO, c.LOC_ID] += c.QTY_ON_HND
    for r in rows:
        if r.ITEM_NO in info.grid_item_nos:
            assert r.QTY_ON_HND == totals[r.ITEM_NO, r.LOC_ID]
    negative = [r for r in rows if r.ITEM_NO == info.special["negative_commit_item"]]
    assert any(r.LOC_ID == info.web_location and r.QTY_COMMIT < 0 for r in negative)
    out = [r for r in rows if r.ITEM_NO == info.special["out_of_stock_item"]]
    assert all(r.QTY_AVAIL == 0 for r in out)


# --- prices, categories, settings ---------------------------------------------------------------


def test_prices(info: SampleInfo, conn: Connection) -> None:
    all_locations = sql(
        conn,
        "SELECT COUNT(*) FROM IM_ITEM i JOIN IM_PRC p ON p.ITEM_NO=i.ITEM_NO AND p.LOC_ID='*' "
        "WHERE p.PRC_1 = i.PRC_1 AND p.PRC_2 IS NOT NULL AND p.PRC_3 IS NOT NULL",
    )
    assert all_locations == [len(info.item_nos)]
    web = info.special["web_price_override_item"]
    prices = dict(sql(conn, "SELECT LOC_ID, PRC_1 FROM IM_PRC WHERE ITEM_NO=:n", n=web))
    assert set(prices) == {"*", info.web_location} and prices["WEB"] < prices["*"]
    outlet = info.special["outlet_price_override_item"]
    assert set(sql(conn, "SELECT LOC_ID FROM IM_PRC WHERE ITEM_NO=:n", n=outlet)) == {"*", "OUTLET"}


def test_category_tree(info: SampleInfo, conn: Connection) -> None:
    categ = dict(sql(conn, "SELECT CATEG_ID, PARENT_ID FROM EC_CATEG"))
    assert categ["0"] is None and info.special["root_category"] == "0"
    assert all(re.fullmatch(r"\d{16}", c) for c in categ if c != "0")
    top = [c for c, parent in categ.items() if parent == "0"]
    assert len(top) >= 4

    def depth(c: str) -> int:
        return 0 if categ[c] is None else 1 + depth(categ[c])

    assert max(depth(c) for c in categ) == 3
    seqs = sql(conn, "SELECT DISP_SEQ_NO FROM EC_CATEG WHERE PARENT_ID='0' ORDER BY DISP_SEQ_NO")
    assert len(set(seqs)) == len(top)

    def subtree(root: str) -> set[str]:
        return {c for c in categ if c == root or (categ[c] and root in _ancestors(categ, c))}

    linked = set(sql(conn, "SELECT CATEG_ID FROM EC_CATEG_ITEM"))
    empty = info.special["empty_category"]
    assert categ[empty] == "0" and len(subtree(empty)) >= 3
    assert not subtree(empty) & linked
    assert info.special["empty_leaf_category"] in subtree(empty)
    mid = info.special["mid_category"]
    assert mid in linked and mid in categ.values()  # holds items and has children
    assert linked <= set(categ) - {"0"}


def _ancestors(parents: dict[str, str | None], categ: str) -> set[str]:
    found: set[str] = set()
    while (parent := parents[categ]) is not None:
        found.add(parent)
        categ = parent
    return found


def test_category_links(info: SampleInfo, conn: Connection) -> None:
    links = sql(conn, "SELECT ITEM_NO, CATEG_ID, ENTRY_SEQ_NO FROM EC_CATEG_ITEM")
    per_item = Counter(item for item, _, _ in links)
    assert per_item[info.special["multi_category_item"]] >= 2
    assert per_item[info.special["uncategorized_item"]] == 0
    assert per_item[info.special["non_ecommerce_in_category_item"]] >= 1
    assert info.special["non_ecommerce_in_category_item"] in info.non_ecommerce_item_nos
    assert sum(1 for n in per_item.values() if n > 1) > 1
    seq_keys = [(categ, seq) for _, categ, seq in links]
    assert len(seq_keys) == len(set(seq_keys))  # ENTRY_SEQ_NO unique within a category


def test_settings_point_at_the_web_location(info: SampleInfo, conn: Connection) -> None:
    # Codes come padded like SQL Server's CHAR(10): readers must trim them.
    assert sql(conn, "SELECT KEY_ID, USE_ECOMM, STR_ID FROM EC_CTL") == [(1, "Y", "WEB       ")]
    store = sql(conn, "SELECT STK_LOC_ID, PRC_LOC_ID FROM PS_STR_CFG_PS WHERE RTRIM(STR_ID)='WEB'")
    assert store == [("WEB       ", "WEB       ")]
    assert set(sql(conn, "SELECT RTRIM(LOC_ID) FROM IM_LOC")) == {"MAIN", "WEB", "OUTLET"}
    assert len(sql(conn, "SELECT DB_VER FROM DB_CTL")) == 1


def test_some_codes_are_padded_as_sql_server_char_columns_send_them(conn: Connection) -> None:
    codes = sql(conn, "SELECT DISTINCT CATEG_COD FROM IM_ITEM")
    assert codes and all(len(c) == 10 and c == c.rstrip().ljust(10) for c in codes)
    assert all(len(loc) == 10 for loc in sql(conn, "SELECT LOC_ID FROM IM_LOC"))
    # item numbers keep their identity: never padded
    assert all(n == n.rstrip() for n in sql(conn, "SELECT ITEM_NO FROM IM_ITEM"))


# --- promotions ---------------------------------------------------------------------------------


def test_promotion_windows_relative_to_now(info: SampleInfo, conn: Connection) -> None:
    g = schema.IM_PRC_GRP
    groups = {r.GRP_COD: r for r in conn.execute(select(g)).all()}
    now = info.now_local
    today = datetime.combine(now.date(), time())
    active = groups[info.special["promo_active_now"]]
    assert (active.GRP_TYP, active.ENABLED) == ("P", "Y")
    assert active.BEG_DT == today - timedelta(days=1)
    assert active.END_DT == today + timedelta(days=1, hours=23, minutes=59, seconds=59)
    later = groups[info.special["promo_starts_later_today"]]
    assert later.BEG_DT.date() == now.date() and later.BEG_DT > now and later.ENABLED == "Y"
    expired = groups[info.special["promo_expired"]]
    assert expired.END_DT < now and expired.END_DT.date() == now.date() - timedelta(days=1)
    disabled = groups[info.special["promo_disabled"]]
    assert disabled.ENABLED == "N" and disabled.BEG_DT <= now <= disabled.END_DT
    contract = groups[info.special["contract_group"]]
    assert contract.GRP_TYP == "C" and contract.BEG_DT <= now <= contract.END_DT
    for r in groups.values():
        assert r.BEG_DAT == datetime.combine(r.BEG_DT.date(), time())
        assert r.END_DAT == datetime.combine(r.END_DT.date(), time())
        assert (r.NO_BEG_DAT, r.NO_END_DAT) == ("N", "N")
    p_order = sorted((r.GRP_SEQ_NO, r.GRP_COD) for r in groups.values() if r.GRP_TYP == "P")
    assert len({seq for seq, _ in p_order}) == len(p_order)


def test_price_rules_are_valid_item_filters(info: SampleInfo, conn: Connection) -> None:
    rules = sql(conn, "SELECT GRP_COD, RUL_SEQ_NO, ITEM_FILT FROM IM_PRC_RUL")
    for _, _, item_filt in rules:
        assert sql(conn, f"SELECT ITEM_NO FROM IM_ITEM WHERE {item_filt}")  # runs, matches
    [first] = [f for g, seq, f in rules if g == info.special["promo_active_now"] and seq == 1]
    assert (
        first
        == "(IM_ITEM.ITEM_NO = 'I00003')"
        == f"(IM_ITEM.ITEM_NO = '{info.special['promo_item']}')"
    )
    assert sql(conn, f"SELECT ITEM_NO FROM IM_ITEM WHERE {first}") == [info.special["promo_item"]]
    assert any("IM_ITEM.CATEG_COD = 'MUGS'" in f for _, _, f in rules)
    breaks = sql(
        conn, "SELECT GRP_COD, RUL_SEQ_NO, MIN_QTY, PRC_METH, PRC_BASIS FROM IM_PRC_RUL_BRK"
    )
    assert {b[3] for b in breaks} == {"D", "A", "F"}
    assert {b[4] for b in breaks} == {"1"}
    assert sorted(b[2] for b in breaks if b[:2] == ("PROMO-NOW", 1)) == [Decimal(0), Decimal(5)]


@pytest.mark.parametrize(
    ("clock", "expected_start", "noted"),
    [(time(10, 15), time(13, 15), False), (time(22, 30), time(23, 0), True)],
)
def test_later_today_promotion_stays_today(
    tmp_path: Path, clock: time, expected_start: time, noted: bool
) -> None:
    now = datetime.combine(NOW.date(), clock, tzinfo=NY)
    info = generate(tmp_path, items=MIN_ITEMS, now=now)
    g = schema.IM_PRC_GRP
    engine = create_engine(info.database_url)
    try:
        with engine.connect() as c:
            query = select(g.c.BEG_DT).where(
                g.c.GRP_COD == info.special["promo_starts_later_today"]
            )
            beg = c.execute(query).scalar_one()
    finally:
        engine.dispose()
    assert beg == datetime.combine(NOW.date(), expected_start)
    assert bool(info.notes) is noted


# --- images -------------------------------------------------------------------------------------


def load(path: Path) -> Image.Image:
    with Image.open(path) as img:
        img.load()
        return img.copy()


def test_images_open_except_the_corrupt_one(info: SampleInfo) -> None:
    corrupt = info.special["corrupt_image"]
    files = sorted(info.image_dir.iterdir())
    assert len(files) > 100
    for path in files:
        if path.name == corrupt:
            with pytest.raises(OSError), Image.open(path) as img:
                img.load()
        else:
            assert load(path).size[0] >= 64, path.name


def test_image_cases(info: SampleInfo, conn: Connection) -> None:
    special, image_dir = info.special, info.image_dir
    big = image_dir / special["big_image"]
    assert big.stat().st_size > 2 * 1024 * 1024
    assert load(big).size == (1024, 1024)  # decodes fully
    with Image.open(image_dir / special["png_image"]) as png:
        assert png.format == "PNG"
    assert (image_dir / special["extra_image"]).is_file()
    assert special["slash_image"] == f"{image_stem(special['slash_item'])}.jpg" == "MUG_12.jpg"
    assert (image_dir / special["slash_image"]).is_file()
    for colour in sql(
        conn, "SELECT DIM_1_UPR FROM IM_GRID_DIM_1 WHERE ITEM_NO=:n", n=special["grid_2d_item"]
    ):
        assert (image_dir / f"{special['grid_2d_item']}^{colour}.jpg").is_file()
    assert special["grid_image"] == "TSHIRT-GRID^YELLOW.jpg"
    custom = sql(
        conn, "SELECT ECOMM_IMG_FILE FROM IM_ITEM WHERE ITEM_NO=:n", n=special["custom_image_item"]
    )
    assert custom == [special["custom_image"]] and (image_dir / special["custom_image"]).is_file()
    assert sql(conn, "SELECT COUNT(*) FROM IM_ITEM WHERE ECOMM_IMG_FILE IS NOT NULL") == [1]
    orphan = Path(special["orphan_image"]).stem
    assert (image_dir / special["orphan_image"]).is_file() and orphan not in info.item_nos
    assert special["no_image_item"] not in info.image_files
    assert set(info.image_files) <= set(info.ecommerce_item_nos)


def test_sideways_image_needs_exif_rotation(info: SampleInfo) -> None:
    with Image.open(info.image_dir / info.special["sideways_image"]) as img:
        assert img.getexif().get(0x0112) == 6
        assert img.width > img.height  # stored landscape
        upright = ImageOps.exif_transpose(img)
    assert upright.width < upright.height  # displayed portrait
    pixel = upright.getpixel((upright.width // 2, 5))
    assert isinstance(pixel, tuple)
    red, green, blue = pixel[:3]
    assert red > 180 and green < 80 and blue < 80  # the red bar is on top


def test_image_folder_is_small_with_reproducible_mtimes(info: SampleInfo) -> None:
    files = list(info.image_dir.iterdir())
    assert sum(p.stat().st_size for p in files) < 4 * 1024 * 1024
    now = NOW.timestamp()
    assert all(now - 31 * 86_400 <= p.stat().st_mtime <= now for p in files)


def test_image_file_listing_matches_folder(info: SampleInfo) -> None:
    listed = {name for names in info.image_files.values() for name in names}
    on_disk = {p.name for p in info.image_dir.iterdir()}
    assert on_disk - listed == {info.special["orphan_image"]}
