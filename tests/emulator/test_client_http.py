"""The cpsync client against the emulator over HTTP: auth modes, SKU encoding, retries, limiter.

What a user would notice: the sync keeps working when the admin token expires, OAuth stores
accept our signatures, 2FA stores get a message that says what to change, awkward SKUs land,
and an overloaded store gets fewer requests at once.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import pytest

from cpsync.magento.auth import AdminTokenAuth, OAuth1Auth
from cpsync.magento.client import MagentoClient, RetryPolicy, search_params
from cpsync.magento.errors import (
    MagentoAuthError,
    MagentoRecordError,
    MagentoRetryableError,
    MagentoTimeUp,
)
from cpsync_emulator import EmulatorHandle

FAST = RetryPolicy(max_attempts=6, budget_seconds=10.0, base_seconds=0.005, max_backoff_seconds=5)


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def make_client(
    magento: EmulatorHandle, waits: list[float]
) -> Iterator[Callable[..., MagentoClient]]:
    made: list[MagentoClient] = []

    def build(**kw: object) -> MagentoClient:
        kw.setdefault("retry", FAST)
        kw.setdefault("sleep", waits.append)
        token = None if "auth" in kw else magento.token
        client = MagentoClient(magento.url, token, **kw)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()


def test_given_an_admin_token_that_expires_when_calls_continue_then_the_client_refreshes_once(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    # GIVEN Magento expires admin tokens sooner than the client believes
    auth = AdminTokenAuth("admin", magento.config.admin_password, lifetime=3600)
    client = make_client(auth=auth)
    client.save_product({"sku": "A-1", "name": "A one", "price": 1})
    assert auth.fetched == 1
    # WHEN it expires (Magento forgets it: an expired token is answered like an unknown one)
    magento.emulator.tokens.clear()
    # THEN the 401 makes the client fetch a token and repeat the call, once
    assert client.get_product("A-1") is not None
    assert auth.fetched == 2
    assert magento.stats()["responses"]["products.get"] == {"401": 1, "200": 1}


def test_given_an_admin_token_near_its_lifetime_when_calling_then_it_is_refreshed_before(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    now = [0.0]
    auth = AdminTokenAuth(
        "admin", magento.config.admin_password, lifetime=100, clock=lambda: now[0]
    )
    client = make_client(auth=auth)
    client.get_product("NONE")
    now[0] = 95.0  # inside the refresh margin (10 % of the lifetime)
    client.get_product("NONE")
    assert auth.fetched == 2
    # no request ever went out with an expired token
    assert "401" not in magento.stats()["responses"]["products.get"]


def test_given_2fa_on_when_using_admin_auth_then_an_auth_error_that_says_what_to_do(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    magento.configure(admin_two_factor=True)
    client = make_client(auth=AdminTokenAuth("admin", magento.config.admin_password))
    with pytest.raises(MagentoAuthError) as caught:
        client.get_product("A")
    message = str(caught.value)
    assert "Please use the 2fa provider-specific endpoints to obtain a token." in message
    assert "magento_auth=oauth" in message


def test_given_wrong_admin_password_then_auth_error_with_magentos_message(
    make_client: Callable[..., MagentoClient],
) -> None:
    client = make_client(auth=AdminTokenAuth("admin", "wrong"))
    with pytest.raises(MagentoAuthError, match="The account sign-in was incorrect"):
        client.get_product("A")


def test_given_oauth_when_searching_with_brackets_then_signed_requests_are_accepted(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    # GIVEN a 2.4.4+ store: the integration token is not accepted as Bearer
    magento.configure(integration_bearer_enabled=False)
    c = magento.config
    client = make_client(
        auth=OAuth1Auth(
            c.oauth_consumer_key,
            c.oauth_consumer_secret,
            c.oauth_access_token,
            c.oauth_access_token_secret,
        )
    )
    # WHEN saving and searching (bracketed searchCriteria, SKUs with spaces and commas)
    for sku in ("OA 1", "OA,2", "OA/3"):
        client.save_product({"sku": sku, "name": f"n {sku}", "price": 1})
    found = client.find_products(["OA 1", "OA,2", "OA/3", "MISSING"])
    # THEN
    assert set(found) == {"oa 1", "oa,2", "oa/3"}
    typed = client.search(search_params([[("sku", "OA%", "like")]], sort=[("sku", "DESC")]))
    assert [p.sku for p in typed.items] == ["OA/3", "OA,2", "OA 1"]
    assert magento.stats()["statuses"].get("401", 0) == 0


def test_given_the_integration_token_refused_when_calling_then_auth_error_explains_2_4_4(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    magento.configure(integration_bearer_enabled=False)
    with pytest.raises(MagentoAuthError, match="standalone Bearer"):
        make_client().get_product("A")


def test_given_the_default_scope_when_saving_then_global_values_through_all(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    """docs/reference/magento.md#store-scope-of-saves: catalog values go through /rest/all/ (admin scope: every website)."""
    client = make_client()
    paths: list[str] = []
    client._http.event_hooks["request"].append(lambda request: paths.append(request.url.path))
    saved = client.save_product({"sku": "G-1", "name": "Global", "price": 1})
    assert paths == ["/rest/all/V1/products"]
    assert saved["extension_attributes"]["website_ids"] == [1]


@pytest.mark.parametrize("sku", ["MUG/12", "RED MUG 12", "A+B"])
def test_given_awkward_skus_when_saved_and_read_then_they_round_trip(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient], sku: str
) -> None:
    client = make_client()
    client.save_product({"sku": sku, "name": f"Item {sku}", "price": 2})
    product = client.product(sku)
    assert product is not None and product.sku == sku


def test_given_apache_refusing_encoded_slashes_when_reading_a_slash_sku_then_still_found(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    magento.configure(reject_encoded_slash=True)
    client = make_client()
    client.save_product({"sku": "MUG/12", "name": "Mug twelve", "price": 2})
    assert client.get_product("MUG/12") is not None


def test_given_429_with_retry_after_when_reading_then_the_client_waits_that_long(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient], waits: list[float]
) -> None:
    magento.configure(retry_after_seconds=2)
    magento.set_faults("products.get:429:0.3", seed=1)
    client = make_client()
    for _ in range(6):
        client.get_product("NONE")
    assert waits and all(w == 2 for w in waits)
    assert magento.stats()["responses"]["products.get"]["429"] == len(waits)


def test_given_a_deadlock_on_save_when_saving_then_retried_and_saved(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    magento.set_faults("products.save:deadlock:0.5", seed=2)
    client = make_client()
    for n in range(6):
        client.save_product({"sku": f"DL-{n}", "name": f"Deadlock {n}", "price": 1})
    assert len(magento.store.products_by_sku()) == 6
    assert client.stats()["failures"].get("products.save", 0) > 0


def test_given_a_validation_error_when_saving_then_not_retried_and_the_message_is_filled(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    client = make_client()
    with pytest.raises(MagentoRecordError) as caught:
        client.save_product({"sku": " ", "name": "x"})
    assert 'The "sku" attribute value is empty.' in str(caught.value)
    assert magento.stats()["requests"]["products.save"] == 1


def test_given_a_store_that_stays_down_when_saving_then_retryable_error_after_the_attempts(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    magento.set_faults("products.save:503:1")
    client = make_client(retry=RetryPolicy(max_attempts=3, base_seconds=0.001))
    with pytest.raises(MagentoRetryableError, match="gave up after 3 attempts"):
        client.save_product({"sku": "A", "name": "A", "price": 1})
    assert magento.store.products_by_sku() == {}


def test_given_overload_when_many_callers_share_the_client_then_it_backs_off_and_recovers(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = make_client(max_connections=8)

    def read(_: int) -> None:
        # some reads give up while Magento is down; that is not what is tested
        with contextlib.suppress(MagentoRetryableError):
            client.get_product("NONE")

    # GIVEN Magento overloaded
    magento.set_faults("products.get:503:0.6", seed=5)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(read, range(40)))
    backed_off = client.stats()["limiter"]
    assert backed_off["decreases"] >= 1
    assert backed_off["lowest_limit"] < 8
    # WHEN the overload ends
    magento.set_faults()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(read, range(200)))
    # THEN the limit grows back to the ceiling
    assert client.stats()["limiter"]["limit"] == 8


def test_given_a_store_answering_garbage_when_saving_then_record_error(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    """A 200 that is not a product is not taken as applied."""
    client = make_client()
    with pytest.raises(MagentoRecordError, match="not a product"):
        client._check_product({"unexpected": True}, "POST", "products")


def test_given_a_long_retry_after_beyond_the_budget_when_reading_then_give_up_carrying_it(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient], waits: list[float]
) -> None:
    """Retry-After is never shortened: the record is retried that much later instead."""
    magento.configure(retry_after_seconds=120)
    magento.set_faults("products.get:429:1")
    client = make_client(retry=RetryPolicy(budget_seconds=60))
    with pytest.raises(MagentoRetryableError) as caught:
        client.get_product("A")
    assert waits == []
    assert caught.value.retry_after == 120.0
    assert magento.stats()["requests"]["products.get"] == 1


def test_given_an_html_429_from_the_edge_when_reading_then_retried_after_its_header(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient], waits: list[float]
) -> None:
    magento.configure(retry_after_seconds=2)
    magento.set_faults("products.get:429-edge:0.5", seed=1)
    client = make_client()
    for _ in range(4):
        client.get_product("NONE")
    assert waits and all(w == 2 for w in waits)
    assert client.limiter.snapshot()["decreases"] >= 1


def test_given_a_german_store_when_errors_come_back_then_the_client_maps_them_by_status(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    """Messages are localized (docs/reference/magento.md#url-and-store-scope): what to do must not depend on English text."""
    magento.configure(locale="de_DE")
    client = make_client()
    assert client.get_product("NONE") is None  # 404 in German is still "not found"
    magento.configure(integration_bearer_enabled=False)
    with pytest.raises(MagentoAuthError, match="auf Magento_Catalog::products zuzugreifen"):
        client.get_product("NONE")


def test_given_the_token_endpoint_failing_transiently_when_calling_then_retried(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    magento.set_faults("admin.token:503:0.5", seed=1)
    auth = AdminTokenAuth("admin", magento.config.admin_password)
    client = make_client(auth=auth)
    client.save_product({"sku": "TK-1", "name": "Token one", "price": 1})
    assert magento.stats()["responses"]["admin.token"].get("503", 0) >= 1
    assert "TK-1" in magento.store.products_by_sku()


def test_given_2fa_and_the_totp_secret_when_using_admin_auth_then_signed_in_with_a_code(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    magento.configure(admin_two_factor=True)
    auth = AdminTokenAuth(
        "admin", magento.config.admin_password, totp_secret=magento.config.admin_two_factor_secret
    )
    client = make_client(auth=auth)
    client.save_product({"sku": "TF-1", "name": "Two factor", "price": 1})
    assert "TF-1" in magento.store.products_by_sku()
    assert magento.stats()["responses"]["admin.token"] == {"200": 1}


def test_given_a_wrong_totp_secret_when_signing_in_then_auth_error_naming_the_setting(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    magento.configure(admin_two_factor=True)
    auth = AdminTokenAuth("admin", magento.config.admin_password, totp_secret="GEZDGNBVGY3TQOJQ")
    with pytest.raises(MagentoAuthError, match="CPSYNC_MAGENTO_ADMIN_TOTP_SECRET"):
        make_client(auth=auth).get_product("A")


def test_given_a_sku_with_a_comma_when_finding_products_then_it_is_found_with_the_others(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    client = make_client()
    for sku in ("MUG,BLUE", "MUG", "TEE"):
        client.save_product({"sku": sku, "name": sku, "price": 1})
    found = client.find_products(["MUG,BLUE", "TEE", "NONE"])
    assert sorted(found) == ["mug,blue", "tee"]  # and not MUG, which the comma would split off


def test_given_a_deadline_then_no_request_starts_after_it_and_no_retry_waits_past_it(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient], waits: list[float]
) -> None:
    """The updater function's deadline: a passed one sends nothing; a retry that would wait
    past it gives up at once, with the store's error in the reason; outside the block the
    client works as before."""
    client = make_client(retry=RetryPolicy(budget_seconds=60))
    late = pytest.raises(
        MagentoTimeUp, match=r"not sent: the updater stopped first \(its time limit"
    )
    with client.until(time.monotonic() - 1), late:
        client.get_product("A")
    assert magento.stats()["requests"].get("products.get", 0) == 0

    magento.configure(retry_after_seconds=30)
    magento.set_faults("products.get:429:1")
    with client.until(time.monotonic() + 10), pytest.raises(MagentoTimeUp) as caught:
        client.get_product("A")
    assert waits == []  # it did not sleep 30 s into a Lambda that had 10 left
    assert "429" in str(caught.value) and "not retried" in str(caught.value)
    assert caught.value.retry_after == 30.0  # the record comes back when Magento said
    assert magento.stats()["requests"]["products.get"] == 1

    magento.set_faults()
    assert client.deadline is None and client.get_product("A") is None


def test_given_the_import_probe_cut_off_by_the_deadline_then_the_next_batch_still_imports(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    """Whether the store has Magento's import is asked once per writer, which a warm Lambda
    keeps: a probe the updater's time limit stopped says nothing about the store, so the next
    batch asks again instead of leaving a first load on the slow path for the Lambda's life."""
    from cpsync.magento.importer import ProductImporter
    from cpsync.magento.inventory import StockWriter

    client = make_client()
    importer = ProductImporter(client, None, None)  # type: ignore[arg-type]
    stock = StockWriter(client)
    with client.until(time.monotonic() - 1):
        assert importer.available() is False
        assert stock._import_accepted() is False
    assert magento.stats()["requests"].get("import.json", 0) == 0
    # THEN the next batch, with time left, finds the import
    assert importer.available() is True
    assert stock._import_accepted() is True
    assert magento.stats()["requests"]["import.json"] == 2


def test_given_the_import_probe_failing_for_a_while_then_a_later_batch_still_imports(
    magento: EmulatorHandle, make_client: Callable[..., MagentoClient]
) -> None:
    """A probe that met 503s past the client's retries says nothing about the store either: a
    warm Lambda or a running `cpsync serve` asks again next batch instead of keeping every
    first load on the per-product path until it restarts."""
    from cpsync.magento.importer import ProductImporter
    from cpsync.magento.inventory import StockWriter

    client = make_client()
    importer = ProductImporter(client, None, None)  # type: ignore[arg-type]
    stock = StockWriter(client)
    # GIVEN Magento answers the import route with 503 for a while
    magento.set_faults("import.json:503:1")
    assert importer.available() is False
    assert stock._import_accepted() is False
    # WHEN it is back
    magento.set_faults()
    # THEN the next batch finds the import
    assert importer.available() is True
    assert stock._import_accepted() is True
