"""Admin tokens and Bearer authentication (docs/reference/magento.md#authentication)."""

from __future__ import annotations

import time

import httpx

from cpsync_emulator import EmulatorHandle

UNAUTHORIZED = {
    "message": "The consumer isn't authorized to access %resources.",
    "parameters": {"resources": "Magento_Catalog::products"},
}


def admin_token(anonymous: httpx.Client, username: str, password: str) -> httpx.Response:
    return anonymous.post(
        "/V1/integration/admin/token", json={"username": username, "password": password}
    )


def test_given_admin_credentials_when_asking_for_a_token_then_a_bare_string_that_works_as_bearer(
    anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    # WHEN
    response = admin_token(anonymous, magento.config.admin_username, magento.config.admin_password)
    # THEN the body is a bare JSON string
    assert response.status_code == 200
    token = response.json()
    assert isinstance(token, str)
    assert len(token) == 32
    # AND it authorizes catalog calls
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/V1/products/NOPE", headers=headers).status_code == 404


def test_given_wrong_credentials_when_asking_for_a_token_then_401_sign_in_incorrect(
    anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    response = admin_token(anonymous, magento.config.admin_username, "wrong")
    assert response.status_code == 401
    assert response.json() == {
        "message": "The account sign-in was incorrect or your account is disabled temporarily. "
        "Please wait and try again later."
    }


def test_given_no_password_when_asking_for_a_token_then_400_field_required(
    anonymous: httpx.Client,
) -> None:
    response = anonymous.post("/V1/integration/admin/token", json={"username": "admin"})
    assert response.status_code == 400
    assert response.json()["parameters"] == {"fieldName": "password"}


def test_given_an_admin_token_when_its_lifetime_has_passed_then_401_like_no_token(
    anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    # GIVEN a short admin token lifetime (long enough for one request on a loaded machine)
    magento.configure(admin_token_lifetime_seconds=1.0)
    token = admin_token(anonymous, "admin", magento.config.admin_password).json()
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/V1/products/NOPE", headers=headers).status_code == 404
    # WHEN it expires
    time.sleep(1.1)
    response = anonymous.get("/V1/products/NOPE", headers=headers)
    # THEN (docs/reference/magento.md#bearer-tokens: an expired token makes the request anonymous)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_given_integration_bearer_disabled_when_using_the_integration_token_then_401(
    client: httpx.Client, anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    # GIVEN Magento 2.4.4+ defaults: integration tokens are not accepted as Bearer
    magento.configure(integration_bearer_enabled=False)
    # WHEN / THEN the integration token looks like a missing ACL grant
    response = client.get("/V1/products/NOPE")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    # AND an admin token still works
    token = admin_token(anonymous, "admin", magento.config.admin_password).json()
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/V1/products/NOPE", headers=headers).status_code == 404


def test_given_a_reset_when_an_admin_token_was_issued_then_it_is_revoked(
    anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    token = admin_token(anonymous, "admin", magento.config.admin_password).json()
    magento.reset()
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/V1/products/NOPE", headers=headers).status_code == 401
