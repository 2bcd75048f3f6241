"""Client helpers others build on: sku_path, chunks_for_limit, auth settings, typed payloads."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cpsync.errors import ConfigurationError
from cpsync.magento.auth import AdminTokenAuth, BearerAuth, OAuth1Auth, auth_from_settings
from cpsync.magento.client import MagentoClient, chunks_for_limit, sku_path
from cpsync.magento.models import ProductPayload
from cpsync.settings import Settings


@pytest.mark.parametrize(
    ("sku", "segment"),
    [
        ("MUG/12", "MUG%2F12"),
        ("RED MUG", "RED%20MUG"),
        ("A+B&C?", "A%2BB%26C%3F"),
        ("Ä1", "%C3%841"),
    ],
)
def test_given_awkward_skus_when_put_in_a_path_then_one_encoded_segment(
    sku: str, segment: str
) -> None:
    assert sku_path(sku) == segment


def test_given_items_when_chunked_for_the_input_limit_then_no_batch_is_larger() -> None:
    batches = list(chunks_for_limit(range(45), 20))
    assert [len(b) for b in batches] == [20, 20, 5]
    assert [x for b in batches for x in b] == list(range(45))
    assert list(chunks_for_limit([], 20)) == []
    with pytest.raises(ValueError):
        list(chunks_for_limit([1], 0))


def test_given_the_setting_when_the_client_chunks_then_it_uses_it() -> None:
    client = MagentoClient("http://127.0.0.1:1", "t", max_items_per_request=3)
    try:
        assert [len(b) for b in client.chunks_for_limit(range(7))] == [3, 3, 1]
    finally:
        client.close()


def test_given_admin_mode_without_credentials_when_configured_then_the_error_names_them() -> None:
    settings = Settings(magento_auth="admin")
    with pytest.raises(ConfigurationError) as caught:
        auth_from_settings(settings)
    message = str(caught.value)
    assert "CPSYNC_MAGENTO_ADMIN_USERNAME" in message
    assert "CPSYNC_MAGENTO_ADMIN_PASSWORD" in message


def test_given_oauth_mode_with_one_secret_missing_then_only_that_one_is_named() -> None:
    settings = Settings(
        magento_auth="oauth",
        magento_oauth_consumer_key="k",
        magento_oauth_consumer_secret="s",
        magento_oauth_access_token="t",
    )
    with pytest.raises(ConfigurationError) as caught:
        MagentoClient.from_settings(settings)
    assert str(caught.value) == (
        "CPSYNC_MAGENTO_AUTH=oauth needs CPSYNC_MAGENTO_OAUTH_ACCESS_TOKEN_SECRET (not set)"
    )


def test_given_each_mode_fully_configured_then_the_matching_auth_flow() -> None:
    assert isinstance(auth_from_settings(Settings()), BearerAuth)
    admin = Settings(magento_auth="admin", magento_admin_username="a", magento_admin_password="p")
    assert isinstance(auth_from_settings(admin), AdminTokenAuth)
    oauth = Settings(
        magento_auth="oauth",
        magento_oauth_consumer_key="k",
        magento_oauth_consumer_secret="s",
        magento_oauth_access_token="t",
        magento_oauth_access_token_secret="ts",
    )
    assert isinstance(auth_from_settings(oauth), OAuth1Auth)


def test_given_an_unknown_auth_mode_then_settings_refuse_it() -> None:
    with pytest.raises(ValidationError):
        Settings(magento_auth="basic")  # type: ignore[arg-type]


def test_given_a_product_payload_then_unset_fields_are_left_out_and_typos_refused() -> None:
    payload = ProductPayload(sku="A", name="Mug", status=1)
    assert payload.to_json() == {"sku": "A", "name": "Mug", "status": 1}
    with pytest.raises(ValidationError):
        ProductPayload(sku="A", nmae="typo")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        ProductPayload(sku="A" * 65)


def test_given_retry_after_as_an_http_date_then_seconds_until_then() -> None:
    from datetime import UTC, datetime

    import httpx

    from cpsync.magento.errors import retry_after_seconds

    now = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)
    response = httpx.Response(503, headers={"Retry-After": "Fri, 27 Nov 2026 09:00:30 GMT"})
    assert retry_after_seconds(response, now) == 30.0
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "7"})) == 7.0
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) is None


def test_given_nothing_listening_when_calling_then_a_retryable_connection_error() -> None:
    from cpsync.magento.client import RetryPolicy
    from cpsync.magento.errors import MagentoRetryableError

    waits: list[float] = []
    client = MagentoClient(
        "http://127.0.0.1:9", "t", retry=RetryPolicy(max_attempts=2), sleep=waits.append
    )
    try:
        with pytest.raises(MagentoRetryableError, match="connection failed"):
            client.get_product("A")
    finally:
        client.close()
    assert len(waits) == 1
    assert client.stats()["limiter"]["in_flight"] == 0


def test_given_an_aggregate_input_error_then_the_message_lists_each_filled_error() -> None:
    import httpx

    from cpsync.magento.errors import MagentoRecordError, error_from_response

    body = {
        "message": "One or more input exceptions have occurred.",
        "errors": [
            {"message": '"%fieldName" is required.', "parameters": {"fieldName": "sku"}},
            {"message": "Invalid value %1", "parameters": ["x"]},
        ],
    }
    response = httpx.Response(400, json=body, request=httpx.Request("POST", "http://m/rest/V1/p"))
    error = error_from_response(response)
    assert isinstance(error, MagentoRecordError)
    assert error.magento_message == (
        'One or more input exceptions have occurred. ("sku" is required.; Invalid value x)'
    )


def test_given_the_rfc_6238_vector_when_computing_a_code_then_it_matches() -> None:
    from cpsync.magento.auth import totp

    # RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 s -> 94287082 (8 digits)
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp(secret, 59, digits=8) == "94287082"
    assert totp(secret, 1111111109, digits=8) == "07081804"


def test_given_a_proxy_page_with_200_when_reading_then_retryable_not_a_crash() -> None:
    """A 200 HTML page (captive proxy) cannot come from the emulator: a mock transport."""
    import httpx

    from cpsync.magento.client import RetryPolicy
    from cpsync.magento.errors import MagentoRetryableError

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html><body>Please sign in</body></html>")

    client = MagentoClient("http://m", "t", retry=RetryPolicy(max_attempts=2), sleep=lambda _: None)
    client._http._transport = httpx.MockTransport(answer)
    try:
        with pytest.raises(MagentoRetryableError, match="not JSON"):
            client.get_product("A")
    finally:
        client.close()
