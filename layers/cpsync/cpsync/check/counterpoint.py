"""`cpsync check`, Counterpoint: login, read rights, columns, the server's clock, indexes.

Every statement is built with SQLAlchemy Core so it compiles to valid T-SQL on SQL Server and
runs on the SQLite sample too (tests/unit/test_tsql.py compiles each builder here). SQL Server
specifics (its clock, `sys.indexes`) are read only on SQL Server; elsewhere the inspector
answers, or the finding says "not SQL Server".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Select,
    and_,
    column,
    func,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.exc import SQLAlchemyError

from cpsync.check import Area, Finding
from cpsync.counterpoint.columns import Catalog, Need, fallbacks_in_use, missing_required
from cpsync.counterpoint.images import item_stems
from cpsync.redact import describe

if TYPE_CHECKING:
    from cpsync.runtime import Runtime

__all__ = [
    "STAMP_INDEXES",
    "CounterpointFacts",
    "check_counterpoint",
    "clock_findings",
    "clock_query",
    "create_index_statement",
    "grid_tags_query",
    "image_names_query",
    "index_query",
    "probe_query",
]

#: The change stamps the 10-minute (changed-only) queries filter on: (table, column, who).
STAMP_INDEXES: tuple[tuple[str, str, str], ...] = (
    ("IM_ITEM", "RS_UTC_DT", "Items, Inventory, Category Items"),
    ("IM_ITEM", "LST_MAINT_DT", "Items, Inventory, Category Items (rows without RS_UTC_DT)"),
    ("IM_INV", "RS_UTC_DT", "Items, Inventory"),
    ("IM_INV_CELL", "RS_UTC_DT", "Items, Inventory (grid cells)"),
    ("EC_CATEG_ITEM", "LST_MAINT_DT", "Category Items"),
)
#: A server clock further off than this moves watermarks wrongly.
CLOCK_TOLERANCE = timedelta(minutes=5)
_AREA: Area = "counterpoint"


@dataclass
class CounterpointFacts:
    """What the Magento and image checks need to know of Counterpoint (empty: not read)."""

    read: bool = False
    #: Grid dimension tags of e-commerce grid items, with how many items use each.
    grid_tags: dict[str, int] = field(default_factory=dict)
    #: Lower-case file-name stems of e-commerce items, and their ECOMM_IMG_FILE names.
    item_stems: set[str] = field(default_factory=set)
    image_files: set[str] = field(default_factory=set)


# --- the statements ---------------------------------------------------------------------------
def probe_query(name: str) -> Select[tuple[object, ...]]:
    """`SELECT TOP 0 1 FROM <table>`: fails only when the login may not read the table."""
    return select(literal_column("1")).select_from(table(name)).limit(0)


def clock_query() -> Select[tuple[object, ...]]:
    """SQL Server: its UTC clock and its UTC offset in minutes (`SYSDATETIMEOFFSET()`)."""
    now = func.sysdatetimeoffset()
    return select(
        func.sysutcdatetime().label("UTC_NOW"),
        func.datepart(literal_column("TZOFFSET"), now).label("OFFSET_MINUTES"),
    )


def index_query(names: Sequence[str]) -> Select[tuple[object, ...]]:
    """SQL Server: the leading key column of every index of these tables (login's schema, dbo)."""
    indexes = table("indexes", column("object_id"), column("index_id"), schema="sys").alias("i")
    keys = table(
        "index_columns",
        column("object_id"),
        column("index_id"),
        column("column_id"),
        column("key_ordinal"),
        schema="sys",
    ).alias("k")
    columns = table(
        "columns", column("object_id"), column("column_id"), column("name"), schema="sys"
    ).alias("c")
    tables = table(
        "tables", column("object_id"), column("name"), column("schema_id"), schema="sys"
    ).alias("t")
    return (
        select(tables.c.name.label("TABLE_NAME"), columns.c.name.label("COLUMN_NAME"))
        .select_from(
            indexes.join(
                keys,
                and_(
                    keys.c.object_id == indexes.c.object_id, keys.c.index_id == indexes.c.index_id
                ),
            )
            .join(
                columns,
                and_(
                    columns.c.object_id == keys.c.object_id,
                    columns.c.column_id == keys.c.column_id,
                ),
            )
            .join(tables, tables.c.object_id == indexes.c.object_id)
        )
        .where(
            keys.c.key_ordinal == 1,
            tables.c.name.in_(list(names)),
            or_(
                func.schema_name(tables.c.schema_id) == func.schema_name(),
                func.schema_name(tables.c.schema_id) == literal("dbo"),
            ),
        )
    )


def grid_tags_query() -> Select[tuple[object, ...]]:
    """The grid dimension tags of e-commerce grid items (`TRK_METH = 'G'`), one row per item."""
    item = table(
        "IM_ITEM",
        column("GRID_DIM_1_TAG"),
        column("GRID_DIM_2_TAG"),
        column("GRID_DIM_3_TAG"),
        column("IS_ECOMM_ITEM"),
        column("TRK_METH"),
    )
    return select(item.c.GRID_DIM_1_TAG, item.c.GRID_DIM_2_TAG, item.c.GRID_DIM_3_TAG).where(
        literal("Y") == item.c.IS_ECOMM_ITEM, literal("G") == item.c.TRK_METH
    )


def image_names_query(with_file: bool) -> Select[tuple[object, ...]]:
    """Item numbers of e-commerce items (and their ECOMM_IMG_FILE when the column exists)."""
    item = table("IM_ITEM", column("ITEM_NO"), column("ECOMM_IMG_FILE"), column("IS_ECOMM_ITEM"))
    picked = [item.c.ITEM_NO, item.c.ECOMM_IMG_FILE] if with_file else [item.c.ITEM_NO]
    return select(*picked).where(literal("Y") == item.c.IS_ECOMM_ITEM)


def create_index_statement(table_name: str, column_name: str) -> str:
    """The advice: an index a DBA can create (cpsync never does)."""
    return f"CREATE INDEX IX_{table_name}_{column_name} ON dbo.{table_name} ({column_name});"


# --- the checks -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _TaskNeeds:
    title: str
    enabled: bool
    needs: tuple[Need, ...]


def _all_needs(runtime: Runtime) -> dict[str, _TaskNeeds]:
    """Each task's columns, and whether it is switched on (a task that is off blocks nothing)."""
    from cpsync.control import task_control
    from cpsync.tasks import TASKS

    found = {}
    for name, task in TASKS.items():
        try:
            enabled = task_control(runtime.state, name).enabled
        except Exception:  # cpsync's own state unreadable: every task counts
            enabled = True
        found[name] = _TaskNeeds(task.title or name, enabled, tuple(task.needs))
    return found


def check_counterpoint(runtime: Runtime, facts: CounterpointFacts) -> list[Finding]:
    """Every Counterpoint finding; fills `facts` for the other parts when the database answers."""
    settings = runtime.settings
    try:
        engine = runtime.counterpoint
        with engine.connect() as conn:
            conn.execute(select(literal(1))).scalar()
            return _with_connection(conn, settings.zone, _all_needs(runtime), facts)
    except SQLAlchemyError as exc:
        return [
            Finding(
                _AREA,
                "blocking",
                f"Counterpoint does not answer: {describe(exc)}.",
                "Check CPSYNC_COUNTERPOINT_URL (server, port, database, user, password), that "
                "the SQL Server login exists and may connect, and that this machine reaches the "
                "server (firewall, port 1433).",
            )
        ]


def _with_connection(
    conn: Connection, zone: ZoneInfo, needs: dict[str, _TaskNeeds], facts: CounterpointFacts
) -> list[Finding]:
    tables = sorted({n.table for task in needs.values() for n in task.needs})
    found = [Finding(_AREA, "ok", f"Connected to Counterpoint ({conn.dialect.name}).")]
    catalog = _read_catalog(conn, tables)
    found += _columns(catalog, needs)
    found += _rights(conn, catalog, tables)
    found += _clock(conn, zone)
    found += _indexes(conn, catalog)
    _read_facts(conn, catalog, facts)
    return found


def _read_catalog(conn: Connection, tables: Sequence[str]) -> Catalog:
    from cpsync.counterpoint.columns import read_catalog

    return read_catalog(conn, tables)


def _columns(catalog: Catalog, needs: dict[str, _TaskNeeds]) -> list[Finding]:
    """Findings for the columns the tasks need and the database lacks.

    A required column missing blocks, naming the tasks that stop (a warning when only tasks
    that are switched off read it); an optional one missing warns, naming the fallback.
    """
    stopped: dict[str, list[_TaskNeeds]] = {}
    for task in needs.values():
        for problem in missing_required(catalog, task.needs):
            stopped.setdefault(problem, []).append(task)
    found: list[Finding] = []
    for problem, tasks in stopped.items():
        what = problem.removeprefix("no table ").removeprefix("no column ")
        table_name = what.split(".", 1)[0]
        on = [t.title for t in tasks if t.enabled]
        off = [t.title for t in tasks if not t.enabled]
        if on:
            sentence = f"Counterpoint has {problem}: {', '.join(on)} cannot run."
        else:
            sentence = (
                f"Counterpoint has {problem}: {', '.join(off)} could not run (switched off, "
                "so nothing stops now)."
            )
        found.append(
            Finding(
                _AREA,
                "blocking" if on else "warning",
                sentence,
                f"Check that CPSYNC_COUNTERPOINT_URL names the company database, and that the "
                f"login may read {table_name} (GRANT SELECT ON dbo.{table_name} TO <login>; a "
                "table the login cannot read looks missing). cpsync cannot work without "
                f"{what}.",
            )
        )
    every = [n for task in needs.values() for n in task.needs]
    fallbacks: dict[tuple[str, str], list[str]] = {}
    for need in fallbacks_in_use(catalog, every):
        if catalog.has_table(need.table):
            fallbacks.setdefault((need.table, need.column), []).append(str(need.fallback))
    for (table_name, column_name), words in fallbacks.items():
        found.append(
            Finding(
                _AREA,
                "warning",
                f"Counterpoint has no column {table_name}.{column_name} (optional): "
                f"{'; '.join(dict.fromkeys(words))}.",
                "Nothing to do unless that fallback is not good enough; an older Counterpoint "
                "version may lack the column.",
            )
        )
    columns = {(n.table, n.column) for n in every}
    if not any(t.enabled for tasks in stopped.values() for t in tasks):
        found.append(
            Finding(
                _AREA,
                "ok",
                (
                    "Every required column is there"
                    if not stopped
                    else "Every column the switched-on tasks require is there"
                )
                + f" ({len(columns)} columns read by {len(needs)} tasks; "
                f"{len(fallbacks)} optional ones missing).",
            )
        )
    return found


def _rights(conn: Connection, catalog: Catalog, tables: Sequence[str]) -> list[Finding]:
    """`SELECT TOP 0` from every table the catalog shows: the login's read rights."""
    refused: list[Finding] = []
    present = [t for t in tables if catalog.has_table(t)]
    for name in present:
        try:
            conn.execute(probe_query(name)).fetchall()
        except SQLAlchemyError as exc:
            refused.append(
                Finding(
                    _AREA,
                    "blocking",
                    f"The login cannot read {name}: {describe(exc)}.",
                    f"GRANT SELECT ON dbo.{name} TO <the login in CPSYNC_COUNTERPOINT_URL>; "
                    "cpsync only reads.",
                )
            )
            if conn.in_transaction():
                conn.rollback()
    if refused:
        return refused
    return [Finding(_AREA, "ok", f"The login can read all {len(present)} tables cpsync reads.")]


def _clock(conn: Connection, zone: ZoneInfo) -> list[Finding]:
    """SQL Server's clock and UTC offset against CPSYNC_TIMEZONE (LST_MAINT_DT is local time)."""
    if conn.dialect.name != "mssql":
        return [
            Finding(
                _AREA,
                "ok",
                "The server's clock and time zone were not checked: not SQL Server.",
            )
        ]
    row = conn.execute(clock_query()).one()
    return clock_findings(row.UTC_NOW, int(row.OFFSET_MINUTES), zone, datetime.now(UTC))


def clock_findings(
    server_utc: datetime, offset_minutes: int, zone: ZoneInfo, now: datetime
) -> list[Finding]:
    """The server's UTC clock and offset (minutes) against CPSYNC_TIMEZONE and this clock."""
    server_utc = server_utc.replace(tzinfo=UTC)
    offset = timedelta(minutes=offset_minutes)
    found: list[Finding] = []
    expected = now.astimezone(zone).utcoffset() or timedelta(0)
    if offset != expected:
        found.append(
            Finding(
                _AREA,
                "blocking",
                f"The Counterpoint server's clock is at UTC{_hours(offset)}, but CPSYNC_TIMEZONE "
                f"({zone}) is at UTC{_hours(expected)} now: changes dated by LST_MAINT_DT "
                "would be read at the wrong time (or missed).",
                "Set CPSYNC_TIMEZONE to the server's time zone (an IANA name such as "
                "America/Chicago).",
            )
        )
    skew = abs(now - server_utc)
    if skew > CLOCK_TOLERANCE:
        found.append(
            Finding(
                _AREA,
                "warning",
                f"The Counterpoint server's clock is {round(skew.total_seconds() / 60)} minutes "
                "off this machine's.",
                "Synchronise both clocks with NTP; cpsync's lookback covers only small "
                "differences.",
            )
        )
    if not found:
        found.append(
            Finding(_AREA, "ok", f"The server's clock and UTC{_hours(offset)} fit {zone}.")
        )
    return found


def _hours(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _leading_columns(conn: Connection, names: Iterable[str]) -> set[tuple[str, str]]:
    """(TABLE, COLUMN) of every index's first column, upper case."""
    names = list(names)
    if conn.dialect.name == "mssql":
        rows = conn.execute(index_query(names))
        return {(str(r.TABLE_NAME).upper(), str(r.COLUMN_NAME).upper()) for r in rows}
    inspector = inspect(conn)
    leading: set[tuple[str, str]] = set()
    for name in names:
        for index in inspector.get_indexes(name):
            cols = index.get("column_names") or []
            if cols and cols[0]:
                leading.add((name.upper(), str(cols[0]).upper()))
        primary = inspector.get_pk_constraint(name).get("constrained_columns") or []
        if primary:
            leading.add((name.upper(), str(primary[0]).upper()))
    return leading


def _indexes(conn: Connection, catalog: Catalog) -> list[Finding]:
    """Advice: an index on each change stamp the changed-only queries filter on."""
    stamps = [(t, c, who) for t, c, who in STAMP_INDEXES if catalog.has(t, c)]
    leading = _leading_columns(conn, sorted({t for t, _, _ in stamps}))
    found: list[Finding] = []
    for table_name, column_name, who in stamps:
        if (table_name, column_name) in leading:
            continue
        found.append(
            Finding(
                _AREA,
                "warning",
                f"No index starts with {table_name}.{column_name}: the 10-minute runs of {who} "
                "read the whole table to find what changed.",
                f"Ask the database administrator to consider "
                f"{create_index_statement(table_name, column_name)} cpsync never changes "
                "Counterpoint.",
            )
        )
    if not found:
        found.append(
            Finding(
                _AREA,
                "ok",
                f"Every change stamp the 10-minute runs use is indexed ({len(stamps)}).",
            )
        )
    return found


def _read_facts(conn: Connection, catalog: Catalog, facts: CounterpointFacts) -> None:
    """Grid tags and image names, for the Magento and image checks (best effort)."""
    try:
        tag_columns = ("GRID_DIM_1_TAG", "GRID_DIM_2_TAG", "GRID_DIM_3_TAG", "TRK_METH")
        if all(catalog.has("IM_ITEM", c) for c in tag_columns):
            for row in conn.execute(grid_tags_query()):
                for tag in {str(t).strip() for t in row if t is not None and str(t).strip()}:
                    facts.grid_tags[tag] = facts.grid_tags.get(tag, 0) + 1
        with_file = catalog.has("IM_ITEM", "ECOMM_IMG_FILE")
        for row in conn.execute(image_names_query(with_file)):
            values: tuple[object, ...] = tuple(row)
            facts.item_stems.update(item_stems(str(values[0]).strip()))
            if with_file and values[1] is not None and str(values[1]).strip():
                name = str(values[1]).strip().replace("\\", "/").rsplit("/", 1)[-1]
                facts.image_files.add(name.lower())
        facts.read = True
    except SQLAlchemyError:
        facts.read = False
