"""The response classification table and Magento's placeholder messages."""

from __future__ import annotations

import re

import httpx
import pytest

from cpsync.errors import ConfigurationError
from cpsync.magento.errors import (
    STATUS_ACTIONS,
    Action,
    MagentoAuthError,
    MagentoRecordError,
    MagentoRetryableError,
    classify,
    error_from_response,
    render_message,
)
from cpsync.settings import Settings, load_settings


@pytest.mark.parametrize(("status", "action"), sorted(STATUS_ACTIONS.items()))
def test_every_status_in_the_table_is_classified_as_listed(status: int, action: Action) -> None:
    assert classify(status) is action


def test_unknown_statuses_get_a_safe_default() -> None:
    assert classify(599) is Action.RETRY
    assert classify(418) is Action.RECORD


def test_deadlocks_reported_as_400_are_retried() -> None:
    assert classify(400, "Database deadlock found when trying to get lock") is Action.RETRY


def test_placeholders_are_filled_positionally_and_by_name() -> None:
    assert render_message("Invalid product data: %1", ["bad"]) == "Invalid product data: bad"
    message = "The consumer isn't authorized to access %resources."
    assert "Magento_Catalog::products" in render_message(
        message, {"resources": "Magento_Catalog::products"}
    )


def _response(status: int, **kw: object) -> httpx.Response:
    request = httpx.Request("POST", "http://shop/rest/all/V1/products")
    return httpx.Response(status, request=request, **kw)  # type: ignore[arg-type]


def test_responses_map_to_the_most_specific_error() -> None:
    assert isinstance(
        error_from_response(_response(503, text="<html>down</html>")), MagentoRetryableError
    )
    assert isinstance(error_from_response(_response(401, json={"message": "x"})), MagentoAuthError)
    refused = error_from_response(
        _response(400, json={"message": "URL key for specified store already exists."})
    )
    assert isinstance(refused, MagentoRecordError)
    assert "URL key for specified store already exists." in str(refused)


def test_a_maintenance_page_becomes_a_readable_message() -> None:
    error = error_from_response(_response(503, text="<html><h1>Service Unavailable</h1></html>"))
    assert "Service Unavailable" in str(error)
    assert "<h1>" not in str(error)


def test_retry_after_is_read() -> None:
    error = error_from_response(_response(429, headers={"Retry-After": "7"}, text="slow down"))
    assert isinstance(error, MagentoRetryableError)
    assert error.retry_after == 7.0


def test_a_stores_own_words_for_a_lock_wait_are_retried_when_configured() -> None:
    french = "Délai d'attente de verrouillage de la base de données dépassé"
    assert classify(400, french) is Action.RECORD
    words = re.compile(
        Settings(magento_transient_messages="verrouillage|impasse").magento_transient_messages
        or "",
        re.IGNORECASE,
    )
    assert classify(400, french, words) is Action.RETRY
    assert classify(400, "Invalid product data: name", words) is Action.RECORD


def test_a_transient_messages_setting_that_is_not_a_pattern_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"CPSYNC_MAGENTO_TRANSIENT_MESSAGES.*regular"):
        load_settings(magento_transient_messages="(unclosed")
