"""Contract: authentication (docs/reference/magento.md#authentication, #error-catalogue auth rows, docs/reference/magento.md#authorization-failure, #what-differs-between-stores integration Bearer and 2FA).

Each test names the reference row it checks and asserts status code and body.
"""

from __future__ import annotations

import time

import httpx
import pytest

from cpsync.magento.auth import OAuth1Auth
from cpsync_emulator import EmulatorHandle

UNAUTHORIZED = {
    "message": "The consumer isn't authorized to access %resources.",
    "parameters": {"resources": "Magento_Catalog::products"},
}
SEARCH = {
    "searchCriteria[filter_groups][0][filters][0][field]": "sku",
    "searchCriteria[filter_groups][0][filters][0][value]": "A-%",
    "searchCriteria[filter_groups][0][filters][0][condition_type]": "like",
    "searchCriteria[pageSize]": "5",
}


def oauth(magento: EmulatorHandle, consumer_secret: str | None = None) -> OAuth1Auth:
    config = magento.config
    return OAuth1Auth(
        config.oauth_consumer_key,
        consumer_secret if consumer_secret is not None else config.oauth_consumer_secret,
        config.oauth_access_token,
        config.oauth_access_token_secret,
    )


def test_row_no_token_401_names_the_acl_resource(anonymous: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue 'No/invalid/expired token, missing ACL' and docs/reference/magento.md#authorization-failure: 401 with %resources."""
    response = anonymous.get("/V1/products/ANY")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_row_invalid_token_401_like_no_token(anonymous: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue 'No/invalid/expired token': an unknown Bearer token is anonymous."""
    response = anonymous.get("/V1/products/ANY", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_row_bad_admin_credentials_401(anonymous: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue 'Bad admin credentials'."""
    response = anonymous.post(
        "/V1/integration/admin/token", json={"username": "admin", "password": "bad"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "message": "The account sign-in was incorrect or your account is disabled temporarily. "
        "Please wait and try again later."
    }


def test_row_expired_admin_token_401(anonymous: httpx.Client, magento: EmulatorHandle) -> None:
    """docs/reference/magento.md#bearer-tokens / #error-catalogue: an expired admin token is answered like no token."""
    magento.configure(admin_token_lifetime_seconds=0.1)
    token = anonymous.post(
        "/V1/integration/admin/token", json={"username": "admin", "password": "admin123"}
    ).json()
    time.sleep(0.15)
    response = anonymous.get("/V1/products/ANY", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_row_several_missing_parameters_aggregate_400(anonymous: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue 'Several input errors': both credentials missing → one aggregate InputException."""
    response = anonymous.post("/V1/integration/admin/token", json={})
    assert response.status_code == 400
    assert response.json() == {
        "message": "One or more input exceptions have occurred.",
        "errors": [
            {
                "message": '"%fieldName" is required. Enter and try again.',
                "parameters": {"fieldName": "username"},
            },
            {
                "message": '"%fieldName" is required. Enter and try again.',
                "parameters": {"fieldName": "password"},
            },
        ],
    }


def test_row_2fa_on_admin_token_refused(anonymous: httpx.Client, magento: EmulatorHandle) -> None:
    """docs/reference/magento.md#admin-token-and-two-factor-sign-in / #what-differs-between-stores: with 2FA on, right credentials still get the provider refusal (401)."""
    magento.configure(admin_two_factor=True)
    response = anonymous.post(
        "/V1/integration/admin/token", json={"username": "admin", "password": "admin123"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "message": "Please use the 2fa provider-specific endpoints to obtain a token.",
        "parameters": {"active_providers": ["google"]},
    }


def test_row_2fa_on_wrong_password_still_sign_in_incorrect(
    anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#admin-token-and-two-factor-sign-in: credentials are checked before the 2FA refusal."""
    magento.configure(admin_two_factor=True)
    response = anonymous.post(
        "/V1/integration/admin/token", json={"username": "admin", "password": "bad"}
    )
    assert response.status_code == 401
    assert response.json()["message"].startswith("The account sign-in was incorrect")


def test_row_integration_bearer_off_looks_like_acl(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#bearer-tokens / #what-differs-between-stores: Magento 2.4.4+ default refuses the integration token as Bearer."""
    magento.configure(integration_bearer_enabled=False)
    response = client.get("/V1/products/ANY")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_row_oauth_signed_search_with_brackets_accepted(
    anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#oauth-signatures / #oauth-and-searchcriteria: an OAuth-signed searchCriteria query (brackets encoded) verifies."""
    magento.configure(integration_bearer_enabled=False)  # OAuth works regardless
    response = anonymous.get("/V1/products", params=SEARCH, auth=oauth(magento))
    assert response.status_code == 200
    assert response.json()["total_count"] == 0


def test_row_oauth_signed_with_raw_brackets_accepted(
    anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#oauth-and-searchcriteria: brackets sent unencoded on the wire still verify (both sides sign decoded)."""
    query = "&".join(f"{k}={v}" for k, v in SEARCH.items() if "value" not in k)
    response = anonymous.get(f"/V1/products?{query}", auth=oauth(magento))
    assert b"[filter_groups]" in response.request.url.raw_path  # really raw on the wire
    assert response.status_code == 200, response.text


def test_row_bad_oauth_signature_401(anonymous: httpx.Client, magento: EmulatorHandle) -> None:
    """docs/reference/magento.md#error-catalogue 'Bad OAuth signature': signed with the wrong consumer secret."""
    response = anonymous.get("/V1/products", params=SEARCH, auth=oauth(magento, "wrong"))
    assert response.status_code == 401
    assert response.json() == {"message": "The signature is invalid. Verify and try again."}


def test_row_oauth_replayed_nonce_refused(anonymous: httpx.Client, magento: EmulatorHandle) -> None:
    """docs/reference/magento.md#oauth-signatures: the same signed request twice (same nonce and timestamp) is refused."""
    request = anonymous.build_request("GET", "/V1/products", params=SEARCH)
    signed = next(oauth(magento).auth_flow(request))
    assert anonymous.send(signed).status_code == 200
    replay = anonymous.send(signed)
    assert replay.status_code == 401
    assert replay.json() == {
        "message": "The nonce is already being used by the consumer with ID %1",
        "parameters": [1],
    }


@pytest.mark.parametrize(
    ("header", "status", "body"),
    [
        (
            'OAuth oauth_consumer_key="k"',
            400,
            {
                "message": '"%fieldName" is required. Enter and try again.',
                "parameters": {"fieldName": "oauth_signature"},
            },
        ),
        (
            'OAuth oauth_consumer_key="k", oauth_signature="s", oauth_signature_method="PLAINTEXT",'
            ' oauth_nonce="n", oauth_timestamp="1", oauth_token="t"',
            400,
            {"message": "Signature method %1 is not supported", "parameters": ["PLAINTEXT"]},
        ),
        (
            'OAuth oauth_consumer_key="unknown", oauth_signature="s", '
            'oauth_signature_method="HMAC-SHA256", oauth_nonce="n", oauth_timestamp="1", '
            'oauth_token="t"',
            401,
            UNAUTHORIZED,
        ),
    ],
)
def test_row_oauth_header_problems(
    anonymous: httpx.Client, header: str, status: int, body: dict[str, object]
) -> None:
    """docs/reference/magento.md#oauth-signatures: missing parameters (400), unsupported method (400), unknown consumer (401)."""
    response = anonymous.get("/V1/products/ANY", headers={"Authorization": header})
    assert response.status_code == status
    assert response.json() == body


def test_row_2fa_on_but_not_set_up_refused_with_the_configure_message(
    anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#admin-token-and-two-factor-sign-in: 2FA on and the admin user has no provider yet."""
    magento.configure(admin_two_factor=True, admin_two_factor_configured=False)
    response = anonymous.post(
        "/V1/integration/admin/token", json={"username": "admin", "password": "admin123"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "message": "You are required to configure personal Two-Factor Authorization in order "
        "to login. Please check your email.",
        "parameters": {"providers": ["google"], "active_providers": []},
    }


def test_row_2fa_google_token_with_a_valid_code(
    anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#admin-token-and-two-factor-sign-in: ``POST /V1/tfa/provider/google/authenticate`` → a bare token string."""
    from cpsync_emulator.totp import totp

    magento.configure(admin_two_factor=True)
    body = {
        "username": "admin",
        "password": "admin123",
        "otp": totp(magento.config.admin_two_factor_secret),
    }
    response = anonymous.post("/V1/tfa/provider/google/authenticate", json=body)
    assert response.status_code == 200
    token = response.json()
    assert isinstance(token, str)
    assert (
        anonymous.get("/V1/products/A", headers={"Authorization": f"Bearer {token}"}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("change", "right_code", "message"),
    [
        ({}, False, "Invalid code."),
        ({"admin_two_factor_configured": False}, True, "Provider is not configured."),
    ],
)
def test_row_2fa_google_token_refusals(
    anonymous: httpx.Client,
    magento: EmulatorHandle,
    change: dict[str, object],
    right_code: bool,
    message: str,
) -> None:
    """docs/reference/magento.md#admin-token-and-two-factor-sign-in: a wrong code, or no provider set up for the user."""
    from cpsync_emulator.totp import totp

    magento.configure(admin_two_factor=True, **change)
    code = totp(magento.config.admin_two_factor_secret)
    if not right_code:
        code = str((int(code) + 500_000) % 1_000_000).zfill(6)
    body = {"username": "admin", "password": "admin123", "otp": code}
    response = anonymous.post("/V1/tfa/provider/google/authenticate", json=body)
    assert response.status_code == 401
    assert response.json() == {"message": message}


def test_row_repeated_bad_sign_ins_lock_the_account_with_the_same_message(
    anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#bearer-tokens (authentication_lock, 6 failures): then even the right password is refused."""
    magento.configure(admin_lockout_failures=3)
    for _ in range(3):
        anonymous.post("/V1/integration/admin/token", json={"username": "admin", "password": "x"})
    response = anonymous.post(
        "/V1/integration/admin/token", json={"username": "admin", "password": "admin123"}
    )
    assert response.status_code == 401
    assert response.json()["message"].startswith("The account sign-in was incorrect")
