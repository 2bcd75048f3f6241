"""The columns a Counterpoint database really has, and what each task needs of them.

Why: Counterpoint versions and installs differ
(docs/reference/counterpoint.md#versions-and-column-types: no per-version column list was found;
merchants add columns; some columns cpsync reads are only *assumed*). A query naming a column the
database lacks fails whole, so every task reads the catalog once per run (`read_catalog`; a task
started inside another's run uses its caller's), stops with one line naming table and column when a
*required* one is missing (`missing_required`), and builds its queries from what exists: an
*optional* column that is absent is replaced by its documented fallback (`fallbacks_in_use` lists
them for `cpsync check`).

SQL Server's catalog is `INFORMATION_SCHEMA.COLUMNS` (one query for every table, in the
login's default schema and dbo); other dialects (the SQLite sample) use SQLAlchemy's inspector.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    column,
    func,
    inspect,
    literal,
    null,
    or_,
    select,
    table,
)
from sqlalchemy.exc import NoSuchTableError

from cpsync.counterpoint.schema import metadata

__all__ = [
    "Catalog",
    "Need",
    "catalog_query",
    "fallbacks_in_use",
    "missing_required",
    "optional",
    "or_null",
    "read_catalog",
    "required",
]


@dataclass(frozen=True)
class Catalog:
    """Upper-case column names of each Counterpoint table cpsync knows (absent: no table)."""

    tables: Mapping[str, frozenset[str]]

    @classmethod
    def declared(cls) -> Catalog:
        """Every table and column of `schema.py`: what the sample database has."""
        return cls(
            {t.name: frozenset(c.name.upper() for c in t.c) for t in metadata.tables.values()}
        )

    def has_table(self, name: str) -> bool:
        """Whether the table exists."""
        return name.upper() in self.tables

    def has(self, table_name: str, column_name: str) -> bool:
        """Whether `table_name.column_name` exists (names compare without case, as T-SQL)."""
        return column_name.upper() in self.tables.get(table_name.upper(), frozenset())

    def columns(self, table_name: str) -> frozenset[str]:
        """The columns of one table (empty when the table is missing)."""
        return self.tables.get(table_name.upper(), frozenset())

    def without(self, table_name: str, *columns: str) -> Catalog:
        """This catalog with some columns of a table removed (what a test or `check` imagines)."""
        tables = dict(self.tables)
        tables[table_name] = self.columns(table_name) - {c.upper() for c in columns}
        return Catalog(tables)


def _has(catalog: Catalog | None, table_: Table, name: str) -> bool:
    return catalog is None or catalog.has(table_.name, name)


def or_null(table_: Table, name: str, catalog: Catalog | None) -> ColumnElement[Any]:
    """`table.name` when the column exists, else `NULL AS name`: a select stays the same shape."""
    if _has(catalog, table_, name):
        return table_.c[name]
    return null().label(name)


def catalog_query(names: Sequence[str]) -> Select[tuple[object, ...]]:
    """SQL Server: the columns of these tables where cpsync's unqualified names find them.

    That is the login's default schema, then dbo.
    """
    columns = table(
        "COLUMNS",
        column("TABLE_SCHEMA"),
        column("TABLE_NAME"),
        column("COLUMN_NAME"),
        schema="INFORMATION_SCHEMA",
    )
    return select(columns.c.TABLE_NAME, columns.c.COLUMN_NAME).where(
        columns.c.TABLE_NAME.in_(list(names)),
        or_(columns.c.TABLE_SCHEMA == func.schema_name(), columns.c.TABLE_SCHEMA == literal("dbo")),
    )


def read_catalog(conn: Connection, names: Iterable[str] | None = None) -> Catalog:
    """The columns of cpsync's Counterpoint tables (all of `schema.py` unless `names`).

    Raises:
        SQLAlchemyError: Counterpoint cannot be read (the caller maps it for the operator).
    """
    wanted = sorted(names if names is not None else metadata.tables)
    found: dict[str, set[str]] = {}
    if conn.dialect.name == "mssql":
        by_upper = {n.upper(): n for n in wanted}
        for row in conn.execute(catalog_query(wanted)):
            name = by_upper.get(str(row.TABLE_NAME).upper())
            if name is not None:
                found.setdefault(name, set()).add(str(row.COLUMN_NAME).strip().upper())
    else:
        inspector = inspect(conn)
        for name in wanted:
            try:
                found[name] = {str(c["name"]).upper() for c in inspector.get_columns(name)}
            except NoSuchTableError:
                continue
    return Catalog({name: frozenset(cols) for name, cols in found.items() if cols})


@dataclass(frozen=True)
class Need:
    """One column a task reads: required (no fallback) or optional (its fallback in words)."""

    table: str
    column: str
    fallback: str | None = None

    @property
    def required(self) -> bool:
        """A required column missing stops the task."""
        return self.fallback is None

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


def required(table_name: str, *columns: str) -> tuple[Need, ...]:
    """Columns a task cannot work without."""
    return tuple(Need(table_name, c) for c in columns)


def optional(table_name: str, column_name: str, fallback: str) -> tuple[Need, ...]:
    """A column a task uses when present, and what it does without it."""
    return (Need(table_name, column_name, fallback),)


def missing_required(catalog: Catalog, needs: Iterable[Need]) -> list[str]:
    """What is missing, in words (`no table X`, `no column X.Y`), first missing table first."""
    problems: list[str] = []
    tables_missing: set[str] = set()
    for need in needs:
        if not catalog.has_table(need.table):
            if need.required and need.table not in tables_missing:
                tables_missing.add(need.table)
                problems.append(f"no table {need.table}")
            continue
        if need.required and not catalog.has(need.table, need.column):
            problems.append(f"no column {need}")
    return list(dict.fromkeys(problems))


def fallbacks_in_use(catalog: Catalog, needs: Iterable[Need]) -> list[Need]:
    """The optional columns this database lacks (each with the fallback a task uses instead)."""
    return [
        n for n in dict.fromkeys(needs) if not n.required and not catalog.has(n.table, n.column)
    ]
