"""What may leave cpsync: passwords masked, SQL text and object addresses dropped."""

from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from cpsync.redact import RedactingFilter, describe, redact


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "cannot use 'mssql+pymssql://sa:S3cr#t@db.local:1433/CPSQL'",
            "cannot use 'mssql+pymssql://sa:***@db.local:1433/CPSQL'",
        ),
        ("postgresql://u:p%40ss@h/db and more", "postgresql://u:***@h/db and more"),
        (
            "DRIVER={ODBC};SERVER=x;UID=sa;PWD={a;b};DB=y",
            "DRIVER={ODBC};SERVER=x;UID=sa;PWD=***;DB=y",
        ),
        ("Server=x;User Id=sa;Password=hunter2;", "Server=x;User Id=sa;Password=***;"),
        ("sqlite:///C:/cp/state.db", "sqlite:///C:/cp/state.db"),  # nothing to hide
        ("https://store.example/rest/V1", "https://store.example/rest/V1"),
        ("bad body <_io.BytesIO object at 0x7f3a2c1b>", "bad body <BytesIO>"),
    ],
)
def test_passwords_and_object_addresses_are_masked(given: str, expected: str) -> None:
    assert redact(given) == expected


def test_a_sqlalchemy_error_is_told_without_its_sql_or_parameters() -> None:
    engine = create_engine("sqlite://")
    with pytest.raises(SQLAlchemyError) as caught, engine.connect() as conn:
        conn.execute(text("SELECT secret_col FROM missing_table WHERE pw = :pw"), {"pw": "hunter2"})
    words = describe(caught.value)
    assert words == "no such table: missing_table"


def test_a_log_record_with_a_url_and_a_traceback_is_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("test_redact")
    log.addHandler(handler)
    try:
        try:
            raise ValueError("cannot use mssql+pymssql://sa:S3cret@host/db")
        except ValueError:
            log.exception("connect to %s failed", "mssql+pymssql://sa:S3cret@host/db")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert "S3cret" not in out
    assert out.startswith("connect to mssql+pymssql://sa:***@host/db failed\nTraceback")
    assert "ValueError: cannot use mssql+pymssql://sa:***@host/db" in out
