"""Who gets in: anonymous callers refused, Magento sign-in, lockout, idle expiry, keys, IPs."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from cpsync.api.auth import COOKIE_NAME
from cpsync.errors import ConfigurationError

OPEN = {("GET", "/api/health"), ("POST", "/api/session")}
GOOD = {"username": "admin", "password": "admin123"}
BAD = {"username": "admin", "password": "wrong"}


def _routes(api) -> list[tuple[str, str]]:
    doc = api.keyed().get("/api/openapi.json").json()
    found = []
    for path, methods in doc["paths"].items():
        for method in methods:
            concrete = path.replace("{name}", "items").replace("{ident}", "1")
            found.append((method.upper(), concrete))
    return found


def test_given_no_session_when_any_route_is_called_then_it_is_refused(api) -> None:
    routes = _routes(api)
    assert len(routes) >= 25
    anonymous = api.client()
    for method, path in routes:
        if (method, path) in OPEN:
            continue
        response = anonymous.request(method, path, json={})
        assert response.status_code == 401, (method, path, response.text)
        assert "sign in" in response.json()["detail"].lower()
    assert anonymous.get("/api/openapi.json").status_code == 401
    assert anonymous.get("/api/health").json() == {"status": "ok"}
    # Nothing happened on the anonymous calls.
    assert api.runtime.state.runs(limit=5) == []
    assert api.runtime.queue.depth().visible == 0


def test_given_the_magento_admin_when_signing_in_then_a_strict_httponly_cookie_opens_the_api(
    make_api: Callable,
) -> None:
    api = make_api(api_cookie_secure=True)
    client = api.client()
    response = client.post("/api/session", json=GOOD)
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
    assert "max-age=1800" in cookie


def test_given_a_session_when_signing_out_then_it_no_longer_works(api) -> None:
    client = api.signed_in()
    assert client.get("/api/session").json()["user"] == "admin"
    stolen = client.cookies[COOKIE_NAME]
    assert client.delete("/api/session").status_code == 200
    assert client.get("/api/dashboard").status_code == 401
    # A copy of the cookie kept from before the sign-out is refused too.
    replay = httpx.Client(base_url=api.url, cookies={COOKIE_NAME: stolen})
    assert replay.get("/api/dashboard").status_code == 401


def test_given_six_failed_sign_ins_when_the_seventh_has_the_right_password_then_it_is_refused(
    make_api,
) -> None:
    api = make_api(api_lockout_seconds=1)  # the counters run on real time: a short period
    api.emulator.configure(admin_lockout_failures=0)  # cpsync's own lock, not Magento's
    client = api.client()
    for _ in range(6):
        response = client.post("/api/session", json=BAD)
        assert response.status_code == 401
        assert "not right" in response.json()["detail"]
    seventh = client.post("/api/session", json=GOOD)
    assert seventh.status_code == 429
    assert "admin" in seventh.json()["detail"] and "minute" in seventh.json()["detail"]
    assert COOKIE_NAME not in seventh.cookies
    # Another user is not locked, and the lock ends after the period.
    assert (
        client.post("/api/session", json={"username": "other", "password": "x"}).status_code == 401
    )
    time.sleep(1.2)
    assert client.post("/api/session", json=GOOD).status_code == 200


def test_given_five_failures_when_the_sixth_try_succeeds_then_the_count_starts_over(api) -> None:
    client = api.client()
    for _ in range(5):
        client.post("/api/session", json=BAD)
    assert client.post("/api/session", json=GOOD).status_code == 200
    for _ in range(5):
        client.post("/api/session", json=BAD)
    assert client.post("/api/session", json=GOOD).status_code == 200


def test_given_an_idle_session_when_it_is_used_after_the_idle_time_then_it_is_refused(api) -> None:
    client = api.signed_in()
    idle = api.runtime.settings.api_session_idle_seconds
    # Use within the idle time keeps it alive (the cookie is refreshed on every call).
    for _ in range(3):
        api.clock.advance(idle - 60)
        assert client.get("/api/dashboard").status_code == 200
    api.clock.advance(idle + 1)
    response = client.get("/api/dashboard")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_given_a_forged_cookie_when_used_then_it_is_refused(api) -> None:
    client = api.signed_in()
    value = client.cookies[COOKIE_NAME]
    name, sid, seen, mac = value.split(".")
    forged = httpx.Client(
        base_url=api.url, cookies={COOKIE_NAME: f"{name}.{sid}.{int(seen) + 9999}.{mac}"}
    )
    assert forged.get("/api/dashboard").status_code == 401


@pytest.mark.parametrize("configured", [True, False])
def test_given_a_two_factor_store_when_signing_in_then_the_message_suggests_an_api_key(
    api, configured: bool
) -> None:
    api.emulator.configure(admin_two_factor=True, admin_two_factor_configured=configured)
    response = api.client().post("/api/session", json=GOOD)
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "two-factor" in detail and "API key" in detail
    # A right password on a 2FA store is not a failed attempt: no lockout builds up.
    for _ in range(7):
        assert api.client().post("/api/session", json=GOOD).status_code == 403
    client = api.client()
    assert client.post("/api/session", json={"api_key": api.api_key}).status_code == 200
    assert client.get("/api/dashboard").status_code == 200


def test_given_a_wrong_api_key_when_calling_then_it_is_refused(api) -> None:
    response = api.client(headers={"X-API-Key": "nope"}).get("/api/dashboard")
    assert response.status_code == 401
    assert "API key" in response.json()["detail"]
    assert api.client().post("/api/session", json={"api_key": "nope"}).status_code == 401


def test_given_an_allow_list_when_calling_from_outside_then_it_is_refused(make_api) -> None:
    api = make_api(api_allowed_ips=["10.0.0.0/8"])
    response = api.keyed().get("/api/dashboard")
    assert response.status_code == 403
    assert "127.0.0.1" in response.json()["detail"]
    assert api.client().post("/api/session", json=GOOD).status_code == 403
    assert api.client().get("/api/health").status_code == 200
    inside = make_api(api_allowed_ips=["127.0.0.0/8", "::1/128"])
    assert inside.keyed().get("/api/dashboard").status_code == 200


def test_given_magento_is_down_when_signing_in_then_the_message_says_so_and_no_lockout(
    make_api,
) -> None:
    api = make_api(magento_url="http://127.0.0.1:9")
    for _ in range(7):
        response = api.client().post("/api/session", json=GOOD)
        assert response.status_code == 503
        assert "did not answer" in response.json()["detail"]


def test_given_many_user_names_tried_from_one_address_then_the_address_is_locked(api) -> None:
    client = api.client()
    for n in range(24):  # 4 x 6: no single user reaches the limit
        response = client.post("/api/session", json={"username": f"user{n % 5}", "password": "x"})
        assert response.status_code == 401, n
    refused = client.post("/api/session", json=GOOD)
    assert refused.status_code == 429
    assert "this address (127.0.0.1)" in refused.json()["detail"]


def _token_requests(api) -> int:
    return int(api.emulator.stats()["requests"].get("admin.token", 0))


def test_given_40_parallel_wrong_passwords_then_at_most_6_reach_magento_and_the_user_is_locked(
    api,
) -> None:
    api.emulator.configure(admin_lockout_failures=0)  # cpsync's own lock, not Magento's

    def guess(n: int) -> int:
        with api.client() as client:
            body = {"username": "admin", "password": f"guess{n}"}
            return client.post("/api/session", json=body).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(40)))
    assert sorted(set(statuses)) == [401, 429]
    assert statuses.count(401) <= 6
    assert _token_requests(api) <= 6
    # Locked afterwards, even with the right password, and Magento is not asked again.
    asked = _token_requests(api)
    assert api.client().post("/api/session", json=GOOD).status_code == 429
    assert _token_requests(api) == asked


def test_given_parallel_guesses_across_user_names_then_at_most_24_reach_magento(api) -> None:
    def guess(n: int) -> int:
        with api.client() as client:
            body = {"username": f"user{n % 10}", "password": "x"}
            return client.post("/api/session", json=body).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(60)))
    assert _token_requests(api) <= 24
    assert statuses.count(401) <= 24 and 429 in statuses


def test_given_parallel_wrong_api_keys_from_one_address_then_it_is_locked_at_24(api) -> None:
    def guess(n: int) -> int:
        headers = {"X-API-Key": f"wrong-key-{n:040d}"}
        with api.client(headers=headers) as client:
            return client.get("/api/session").status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(guess, range(40)))
    assert statuses.count(401) == 24
    assert statuses.count(429) == 16
    # The address is locked: the right key is refused too, and so is a key sign-in.
    locked = api.keyed().get("/api/dashboard")
    assert locked.status_code == 429
    assert "this address (127.0.0.1)" in locked.json()["detail"]
    assert api.client().post("/api/session", json={"api_key": api.api_key}).status_code == 429


def test_given_a_right_api_key_used_often_then_it_is_never_locked(api) -> None:
    client = api.keyed()
    for _ in range(30):  # more than the address limit: good keys give their attempt back
        assert client.get("/api/session").status_code == 200


def test_given_a_short_api_key_when_starting_then_the_setting_is_named(make_api) -> None:
    with pytest.raises(ConfigurationError) as refused:
        make_api(api_keys=["short"])
    assert "CPSYNC_API_KEYS" in str(refused.value) and "24 characters" in str(refused.value)
    assert "short" not in str(refused.value).replace("shorter", "")
