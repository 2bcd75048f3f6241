"""Words that may leave cpsync: passwords masked, no SQL text, no object addresses.

Every message that leaves the process (API answers, the run log, the CLI, log lines) goes
through `redact` or `describe`, so a database URL with its password, a SQL statement with its
parameters or `<_io.BytesIO object at 0x...>` never reach a screen or a log file:

- `redact(text)`: `scheme://user:***@host`, and `password=***` / `pwd=***` in ODBC-style
  connection strings;
- `describe(exc)`: an exception in words. For SQLAlchemy errors that is the driver's own
  message (`orig`), first line only, without the `[SQL: ...]`, `[parameters: ...]` blocks and
  the background link SQLAlchemy appends;
- `RedactingFilter`: a logging filter that does the same to every record (installed on the
  handlers by the CLI, `cpsync serve` and the Lambda handlers).
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "describe", "install_log_filter", "redact"]

MASK = "***"
# user:password@ in a URL (the password may hold anything but '@' and whitespace; the last
# '@' before the host ends it, as URL parsers read it).
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s'\"]*:)[^\s'\"]*@")
# password=... / pwd=... in ODBC-style strings, up to ';' or the end (braces allowed).
_KEY_PASSWORD = re.compile(r"(?i)\b(?P<key>password|pwd)(?P<eq>\s*=\s*)(?:\{[^}]*\}|[^;\s'\"]*)")
_OBJECT_REPR = re.compile(r"<(?P<name>[\w.]+) object at 0x[0-9a-fA-F]+>")
_SQL_BLOCK = re.compile(r"\s*\[(?:SQL|parameters|SQL parameters):.*", re.DOTALL)
_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")


def redact(text: str) -> str:
    """`text` with passwords masked and object reprs reduced to their type name."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
    text = _KEY_PASSWORD.sub(lambda m: f"{m['key']}{m['eq']}{MASK}", text)
    return _OBJECT_REPR.sub(lambda m: f"<{m['name'].rsplit('.', 1)[-1]}>", text)


def _sqlalchemy_words(exc: BaseException) -> str | None:
    """The driver's message of a SQLAlchemy error (first line), or None for other errors."""
    module = type(exc).__module__
    if not module.startswith("sqlalchemy"):
        return None
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc)
    text = _BACKGROUND.sub("", _SQL_BLOCK.sub("", text)).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first.strip("() ") or type(exc).__name__


def describe(exc: BaseException) -> str:
    """An exception in words a person may see: no passwords, SQL text or object addresses."""
    words = _sqlalchemy_words(exc)
    if words is None:
        words = _BACKGROUND.sub("", _SQL_BLOCK.sub("", str(exc))).strip() or type(exc).__name__
    return redact(words)


class RedactingFilter(logging.Filter):
    """Masks passwords in every record (message, arguments and traceback text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: leave it to the handler
            return True
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback carries the exception's own text: it is formatted and masked here
            # and joins the message, so every formatter (plain or JSON) shows it once.
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = redact(message), None
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Add `RedactingFilter` to every handler of `logger` (the root logger by default).

    Filters on handlers see records from every logger that propagates to them; a filter on a
    logger would not.
    """
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
