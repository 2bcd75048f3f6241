"""SQLAlchemy Core definitions of the Counterpoint tables cpsync reads.

Columns follow docs/reference/counterpoint.md#the-columns-cpsync-reads. Only columns cpsync reads
(or the sample database needs) are declared: Counterpoint installs carry many more, and merchants
add their own, which is harmless because every query names its columns.

`DateTime` maps to DATETIME2/DATETIME on SQL Server and to ISO text on SQLite; `Numeric` maps to
DECIMAL. Flags are CHAR(1) 'Y'/'N' as in Counterpoint.
"""

from __future__ import annotations

from sqlalchemy import CHAR, BigInteger, Column, DateTime, Integer, MetaData, Numeric, String, Table

__all__ = [
    "DB_CTL",
    "EC_CATEG",
    "EC_CATEG_ITEM",
    "EC_CTL",
    "EC_ITEM_DESCR",
    "IM_BARCOD",
    "IM_GRID_DIM_1",
    "IM_GRID_DIM_2",
    "IM_GRID_DIM_3",
    "IM_INV",
    "IM_INV_CELL",
    "IM_ITEM",
    "IM_LOC",
    "IM_PRC",
    "IM_PRC_GRP",
    "IM_PRC_RUL",
    "IM_PRC_RUL_BRK",
    "PS_STR_CFG_PS",
    "metadata",
]

metadata = MetaData()


def _qty(name: str) -> Column[object]:
    return Column(name, Numeric(15, 4))


IM_ITEM = Table(
    "IM_ITEM",
    metadata,
    Column("ITEM_NO", String(20), primary_key=True),
    Column("DESCR", String(50)),
    Column("DESCR_UPR", String(50)),
    Column("LONG_DESCR", String(255)),
    Column("SHORT_DESCR", String(50)),
    Column("ADDL_DESCR_1", String(255)),
    Column("ITEM_TYP", CHAR(1)),
    Column("STAT", CHAR(1)),
    Column("TRK_METH", CHAR(1)),
    Column("CATEG_COD", String(10)),
    Column("SUBCAT_COD", String(10)),
    Column("ITEM_VEND_NO", String(15)),
    Column("STK_UNIT", String(15)),
    _qty("PRC_1"),
    _qty("REG_PRC"),
    _qty("LST_COST"),
    Column("IS_TXBL", CHAR(1)),
    Column("TAX_CATEG_COD", String(10)),
    _qty("WEIGHT"),
    Column("BARCOD", String(20)),
    Column("IS_DISCNTBL", CHAR(1)),
    Column("MIX_MATCH_COD", String(10)),
    Column("DIM_COUNT", Integer),
    Column("GRID_DIM_1_TAG", String(10)),
    Column("GRID_DIM_2_TAG", String(10)),
    Column("GRID_DIM_3_TAG", String(10)),
    Column("DIM_COD_LABEL", String(30)),
    Column("IS_ECOMM_ITEM", CHAR(1)),
    Column("ECOMM_IMG_FILE", String(255)),
    Column("URL", String(255)),
    Column("ECOMM_NEW", CHAR(1)),
    Column("ECOMM_NEW_UNTIL", DateTime),
    Column("ECOMM_ON_SPECL", CHAR(1)),
    Column("ECOMM_ON_SPECL_UNTIL", DateTime),
    Column("ECOMM_LST_CHNG_UTC_DT", DateTime),
    Column("PROF_COD_1", String(10)),
    Column("LST_MAINT_DT", DateTime),
    Column("LST_MAINT_USR_ID", String(10)),
    Column("RS_UTC_DT", DateTime, index=True),
    Column("RS_STAT", Integer),
    Column("ROW_TS", BigInteger),
)

EC_ITEM_DESCR = Table(
    "EC_ITEM_DESCR",
    metadata,
    Column("ITEM_NO", String(20), primary_key=True),
    Column("HTML_DESCR", String(4000)),
    Column("LST_MAINT_DT", DateTime),
    Column("LST_MAINT_USR_ID", String(10)),
)

EC_CATEG = Table(
    "EC_CATEG",
    metadata,
    Column("CATEG_ID", String(16), primary_key=True),
    Column("PARENT_ID", String(16)),
    Column("DESCR", String(50)),
    Column("DESCR_UPR", String(50)),
    Column("IMG_FILE", String(255)),
    Column("HTML_DESCR", String(4000)),
    Column("DISP_SEQ_NO", Integer),
    Column("LST_MAINT_DT", DateTime),
    Column("LST_MAINT_USR_ID", String(10)),
)

EC_CATEG_ITEM = Table(
    "EC_CATEG_ITEM",
    metadata,
    Column("ITEM_NO", String(20), primary_key=True),
    Column("CATEG_ID", String(16), primary_key=True),
    Column("ENTRY_SEQ_NO", Integer),
    Column("LST_MAINT_DT", DateTime),
    Column("LST_MAINT_USR_ID", String(10)),
)

IM_LOC = Table(
    "IM_LOC",
    metadata,
    Column("LOC_ID", String(10), primary_key=True),
    Column("DESCR", String(50)),
    Column("DESCR_UPR", String(50)),
    Column("LST_MAINT_DT", DateTime),
    Column("LST_MAINT_USR_ID", String(10)),
    Column("RS_UTC_DT", DateTime),
    Column("RS_STAT", Integer),
)

IM_INV = Table(
    "IM_INV",
    metadata,
    Column("ITEM_NO", String(20), primary_key=True),
    Column("LOC_ID", String(10), primary_key=True),
    _qty("MIN_QTY"),
    _qty("MAX_QTY"),
    _qty("QTY_ON_HND"),
    _qty("QTY_COMMIT"),
    _qty("QTY_ON_PO"),
    _qty("QTY_ON_SO"),
    _qty("QTY_ON_LWY"),
    _qty("QTY_AVAIL"),
    _qty("NET_QTY"),
    _qty("LST_COST"),
    Column("LST_MAINT_DT", DateTime),
    Column("LST_MAINT_USR_ID", String(10)),
    Column("RS_UTC_DT", DateTime, index=True),
    Column("RS_STAT", Integer),
)

IM_INV_CELL = Table(
    "IM_INV_CELL",
    metadata,
    Column("ITEM_NO", String(20), primary_key=True),
    Column("LOC_ID", String(10), primary_key=True),
    Column("DIM_1_UPR", String(15), primary_key=True),
    Column("DIM_2_UPR", String(15), primary_key=True),
    Column("DIM_3_UPR", String(15), primary_key=True),
    _qty("QTY_ON_HND"),
    _qty("QTY_COMMIT"),
    _qty("QTY_AVAIL"),
    Column("LST_MAINT_DT", DateTime),
    Column("RS_UTC_DT", DateTime, index=True),
)


def _grid_dim(n: int) -> Table:
    return Table(
        f"IM_GRID_DIM_{n}",
        metadata,
        Column("ITEM_NO", String(20), primary_key=True),
        Column(f"DIM_{n}", String(15)),
        Column(f"DIM_{n}_UPR", String(15), primary_key=True),
        Column(f"DIM_{n}_SEQ_NO", Integer),
    )


IM_GRID_DIM_1 = _grid_dim(1)
IM_GRID_DIM_2 = _grid_dim(2)
IM_GRID_DIM_3 = _grid_dim(3)

IM_BARCOD = Table(
    "IM_BARCOD",
    metadata,
    Column("ITEM_NO", String(20), nullable=False),
    Column("BARCOD_ID", String(10), nullable=False),
    Column("BARCOD", String(20), primary_key=True),
    Column("DIM_1_UPR", String(15)),
    Column("DIM_2_UPR", String(15)),
    Column("DIM_3_UPR", String(15)),
)

IM_PRC = Table(
    "IM_PRC",
    metadata,
    Column("ITEM_NO", String(20), primary_key=True),
    Column("LOC_ID", String(10), primary_key=True),
    _qty("PRC_1"),
    _qty("PRC_2"),
    _qty("PRC_3"),
    _qty("PRC_4"),
    _qty("PRC_5"),
    _qty("PRC_6"),
    Column("LST_MAINT_DT", DateTime),
    Column("RS_UTC_DT", DateTime),
)

IM_PRC_GRP = Table(
    "IM_PRC_GRP",
    metadata,
    Column("GRP_TYP", CHAR(1), primary_key=True),
    Column("GRP_COD", String(10), primary_key=True),
    Column("GRP_SEQ_NO", Integer),
    Column("DESCR", String(30)),
    Column("CUST_FILT", String(4000)),
    Column("BEG_DAT", DateTime),
    Column("NO_BEG_DAT", CHAR(1)),
    Column("BEG_DT", DateTime),
    Column("BEG_TIM_FLG", Integer),
    Column("END_DAT", DateTime),
    Column("NO_END_DAT", CHAR(1)),
    Column("END_DT", DateTime),
    Column("END_TIM_FLG", Integer),
    Column("ENABLED", CHAR(1)),
    Column("MIX_MATCH_COD", String(10)),
    Column("LST_MAINT_DT", DateTime),
    Column("LST_MAINT_USR_ID", String(10)),
)

IM_PRC_RUL = Table(
    "IM_PRC_RUL",
    metadata,
    Column("GRP_TYP", CHAR(1), primary_key=True),
    Column("GRP_COD", String(10), primary_key=True),
    Column("RUL_SEQ_NO", Integer, primary_key=True),
    Column("DESCR", String(30)),
    Column("CUST_FILT", String(4000)),
    Column("ITEM_FILT", String(4000)),
    Column("ITEM_FILT_TEXT", String(4000)),
    Column("SAL_FILT", String(4000)),
    _qty("MIN_QTY"),
    Column("IS_CUSTOM", CHAR(1)),
    Column("USE_BOGO_TWOFER", CHAR(1)),
    Column("REQ_FULL_GRP_FOR_BOGO_TWOFER", CHAR(1)),
    Column("ITEM_NO", String(20)),
    Column("CUST_NO", String(15)),
    Column("LST_MAINT_DT", DateTime),
)

IM_PRC_RUL_BRK = Table(
    "IM_PRC_RUL_BRK",
    metadata,
    Column("GRP_TYP", CHAR(1), primary_key=True),
    Column("GRP_COD", String(10), primary_key=True),
    Column("RUL_SEQ_NO", Integer, primary_key=True),
    Column("MIN_QTY", Numeric(15, 4), primary_key=True),
    Column("PRC_METH", CHAR(1)),
    Column("PRC_BASIS", CHAR(1)),
    _qty("AMT_OR_PCT"),
    Column("PRC_BRK_DESCR", String(50)),
    Column("LST_MAINT_DT", DateTime),
)

EC_CTL = Table(
    "EC_CTL",
    metadata,
    Column("KEY_ID", Integer, primary_key=True),
    Column("USE_ECOMM", CHAR(1)),
    Column("STR_ID", String(10)),
    Column("ITEM_PRC_CUST_NO", String(15)),
    Column("ITEM_QTY_METH", CHAR(1)),
    Column("ITEM_SELL_PRC_METH", CHAR(1)),
    Column("ITEM_LIST_PRC_METH", CHAR(1)),
    Column("ITEM_IMG_METH", CHAR(1)),
    Column("LST_MAINT_DT", DateTime),
)

PS_STR_CFG_PS = Table(
    "PS_STR_CFG_PS",
    metadata,
    Column("STR_ID", String(10), primary_key=True),
    Column("STK_LOC_ID", String(10)),
    Column("PRC_LOC_ID", String(10)),
)

DB_CTL = Table(
    "DB_CTL",
    metadata,
    Column("KEY_ID", Integer, primary_key=True),
    Column("DB_VER", String(10)),
    Column("SHARED_DIR", String(255)),
)
