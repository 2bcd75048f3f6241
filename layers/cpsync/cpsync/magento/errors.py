"""Magento's error answers, and what cpsync does about each (a table, not an if-ladder)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any

import httpx

from cpsync.errors import ConfigurationError, RecordError, RetryableError

__all__ = [
    "Action",
    "MagentoAuthError",
    "MagentoRecordError",
    "MagentoRetryableError",
    "MagentoTimeUp",
    "classify",
    "error_from_response",
    "render_message",
]

logger = logging.getLogger(__name__)


class Action(Enum):
    """What to do with a failed request."""

    RETRY = "retry"  # transient: the same request may succeed later
    RECORD = "record"  # permanent for this record: dead-letter with Magento's message
    AUTH = "auth"  # the credentials are wrong: stop, nothing record-specific is wrong


STATUS_ACTIONS: dict[int, Action] = {
    400: Action.RECORD,
    401: Action.AUTH,
    403: Action.AUTH,
    404: Action.RECORD,
    405: Action.RECORD,
    406: Action.RECORD,
    408: Action.RETRY,
    409: Action.RETRY,
    413: Action.RECORD,
    422: Action.RECORD,
    423: Action.RETRY,
    425: Action.RETRY,
    429: Action.RETRY,
    500: Action.RETRY,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
}

# Magento answers lock waits and deadlocks with 400 (TemporaryStateExceptionInterface), in
# the store's language: other languages' words come from CPSYNC_MAGENTO_TRANSIENT_MESSAGES.
_TRANSIENT_MESSAGES = re.compile(
    r"deadlock|lock wait timeout|database connection error|try again later", re.IGNORECASE
)


def classify(status: int, message: str = "", transient: re.Pattern[str] | None = None) -> Action:
    """The action for an HTTP status (and message, for Magento's transient 400s).

    Args:
        status: The HTTP status of the answer.
        message: Magento's message, its placeholders filled in.
        transient: The store's own words for a transient 400, besides the English ones.

    Returns:
        What to do with the record; an unknown status retries when 5xx and parks otherwise.
    """
    if status == 400 and (
        _TRANSIENT_MESSAGES.search(message) or (transient is not None and transient.search(message))
    ):
        return Action.RETRY
    action = STATUS_ACTIONS.get(status)
    if action is None:
        action = Action.RETRY if status >= 500 else Action.RECORD
        logger.warning("unexpected HTTP status %s from Magento treated as %s", status, action.value)
    return action


def render_message(message: str, parameters: Any) -> str:
    """Fill Magento's `%1` / `%name` placeholders from `parameters` (Magento leaves them raw)."""
    if isinstance(parameters, list):
        for index, value in reversed(list(enumerate(parameters, start=1))):
            message = message.replace(f"%{index}", str(value))
    elif isinstance(parameters, dict):
        for name in sorted(parameters, key=len, reverse=True):
            message = message.replace(f"%{name}", str(parameters[name]))
    return message


class MagentoError(Exception):
    """Magento refused a request: the status and Magento's own message, placeholders filled."""

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(f"Magento {method} {path} answered {status}: {message}")
        self.status = status
        self.magento_message = message


class MagentoRetryableError(MagentoError, RetryableError):
    """A transient Magento failure that outlived the client's own retries."""

    def __init__(
        self, status: int, message: str, method: str, path: str, retry_after: float | None = None
    ) -> None:
        MagentoError.__init__(self, status, message, method, path)
        self.retry_after = retry_after


#: Why a request was not sent when the updater's deadline passed.
STOPPED_FIRST = "the updater stopped first (its time limit, or a shutdown)"


class MagentoTimeUp(MagentoRetryableError):
    """A request not sent because the caller's deadline passed (`MagentoClient.until`).

    The updater function sets one before Lambda's timeout, `cpsync serve` when it shuts down.

    Nothing is wrong with the record or the store: it goes back to the queue for a batch that
    has time left.
    """

    def __init__(self, method: str, path: str, after: MagentoRetryableError | None = None) -> None:
        retry_after = after.retry_after if after is not None else 0.0  # Magento's wait still holds
        super().__init__(0, STOPPED_FIRST, method, path, retry_after)
        what = f"{after}; not retried" if after is not None else f"{method} {path} not sent"
        self.args = (f"{what}: {STOPPED_FIRST}, the record goes back to the queue",)


class MagentoRecordError(MagentoError, RecordError):
    """Magento refused this record; the message says why (validation, unknown SKU, ...)."""


class MagentoAuthError(MagentoError, ConfigurationError):
    """Magento refused our credentials: fix CPSYNC_MAGENTO_TOKEN or the integration's access."""

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(status, message, method, path)
        self.args = (
            f"{self.args[0]}. Check CPSYNC_MAGENTO_TOKEN and the integration's resource access; "
            "since Magento 2.4.4 an integration token is accepted as Bearer only when "
            "Stores > Configuration > Services > OAuth > Consumer Settings > "
            "'Allow OAuth Access Tokens to be used as standalone Bearer tokens' is Yes.",
        )


def _text_of(response: httpx.Response) -> tuple[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = re.sub(r"<[^>]+>", " ", response.text)
        text = " ".join(text.split())[:200]
        return f"HTTP {response.status_code} (not a Magento answer: {text or 'empty body'})", None
    if isinstance(body, dict):
        if "message" in body:
            message = render_message(str(body["message"]), body.get("parameters"))
            details = [
                render_message(str(e.get("message", "")), e.get("parameters"))
                for e in body.get("errors") or []
                if isinstance(e, dict)
            ]
            # An aggregate InputException says little by itself; its errors[] say what.
            return (f"{message} ({'; '.join(details)})" if details else message), None
        messages = body.get("messages", {}).get("error", [])
        if messages:
            return str(messages[0].get("message", "")), None
    return f"HTTP {response.status_code}: {str(body)[:200]}", None


def retry_after_seconds(response: httpx.Response, now: datetime | None = None) -> float | None:
    """The `Retry-After` header in seconds: a number, or an HTTP date (RFC 9110 §10.2.3)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_from_response(
    response: httpx.Response, transient: re.Pattern[str] | None = None
) -> MagentoError:
    """Turn a failed response into the most specific MagentoError.

    `transient` is the store's own words for a transient 400 (see `classify`).
    """
    template, parameters = _text_of(response)
    message = render_message(template, parameters)
    method, path = response.request.method, response.request.url.path
    action = classify(response.status_code, message, transient)
    if action is Action.RETRY:
        return MagentoRetryableError(
            response.status_code, message, method, path, retry_after_seconds(response)
        )
    if action is Action.AUTH:
        return MagentoAuthError(response.status_code, message, method, path)
    return MagentoRecordError(response.status_code, message, method, path)
