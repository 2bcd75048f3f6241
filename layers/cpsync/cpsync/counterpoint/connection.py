"""Connecting to Counterpoint: a SQLAlchemy engine for SQL Server or the sample SQLite file."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from cpsync.counterpoint.schema import DB_CTL
from cpsync.errors import ConfigurationError
from cpsync.redact import describe, redact

__all__ = ["Health", "counterpoint_engine", "ping"]


def counterpoint_engine(url: str) -> Engine:
    """An engine for `CPSYNC_COUNTERPOINT_URL` (`mssql+pymssql://...` or `sqlite:///...`).

    Raises:
        ConfigurationError: The URL cannot be parsed or its driver is not installed.
    """
    try:
        return create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigurationError(
            f"CPSYNC_COUNTERPOINT_URL: cannot use {redact(url)!r}: {describe(exc)}"
        ) from exc


@dataclass(frozen=True)
class Health:
    """Whether Counterpoint answered, and in words what went wrong if not."""

    ok: bool
    detail: str


def ping(engine: Engine) -> Health:
    """Ask Counterpoint for its schema version (DB_CTL); never raises."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            version = conn.execute(select(DB_CTL.c.DB_VER).limit(1)).scalar()
    except SQLAlchemyError as exc:
        return Health(False, f"Counterpoint is not reachable: {describe(exc)}")
    return Health(True, f"connected (DB_VER {version or 'unknown'})")
