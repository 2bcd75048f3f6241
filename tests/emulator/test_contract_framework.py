"""Contract: routing, error shape, products, limits and optional modes (docs/reference/magento.md#every-request, #products, #error-catalogue, #what-the-emulator-reproduces).

Each test names the reference row or checklist item it checks and asserts status and body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorHandle

ProductFactory = Callable[..., dict[str, Any]]
NO_ROUTE = {"message": "Request does not match any route."}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/V1/nothing-here"),  # unknown path
        ("POST", "/V1/products/ABC"),  # known path, method it does not have
        ("GET", "/nosuch/V1/products/ABC"),  # unknown store code stays in the path
        ("GET", "/async/V1/products/ABC"),  # GET has no async form
    ],
)
def test_row_unknown_route_method_or_store_404(
    client: httpx.Client, method: str, path: str
) -> None:
    """docs/reference/magento.md#error-catalogue 'Unknown route / method / store code' and docs/reference/magento.md#url-and-store-scope."""
    response = client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 404
    assert response.json() == NO_ROUTE


def test_row_method_other_than_the_four_400(client: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue 'Method other than GET/POST/PUT/DELETE'."""
    response = client.request("PATCH", "/V1/products/ABC")
    assert response.status_code == 400
    assert response.json() == {"message": "Request method is invalid."}


def test_row_bad_json_400(client: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue 'Bad JSON'."""
    response = client.post(
        "/V1/products", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"message": "Decoding error."}


def test_row_missing_top_level_param_400(client: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue 'Missing top-level param' and docs/reference/magento.md#request-format (the body is not wrapped in ``product``)."""
    response = client.post("/V1/products", json={"sku": "A"})
    assert response.status_code == 400
    assert response.json() == {
        "message": '"%fieldName" is required. Enter and try again.',
        "parameters": {"fieldName": "product"},
    }


def test_row_product_not_found_404(client: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue 'Product not found' and docs/reference/magento.md#error-responses (no ``parameters`` key when there are none)."""
    response = client.get("/V1/products/NOPE")
    assert response.status_code == 404
    assert response.json() == {
        "message": "The product that was requested doesn't exist. Verify the product and try again."
    }


def test_row_url_key_clash_400(client: httpx.Client, product: ProductFactory) -> None:
    """docs/reference/magento.md#error-catalogue 'URL key clash (product)'."""
    assert client.post("/V1/products", json=product("A", "Same Name")).status_code == 200
    response = client.post("/V1/products", json=product("B", "Same Name"))
    assert response.status_code == 400
    assert response.json() == {"message": "URL key for specified store already exists."}


def test_row_product_validation_400(client: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue 'Product validation': ``Invalid product data: %1`` with a positional parameter."""
    response = client.post("/V1/products", json={"product": "not an object"})
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Invalid product data: %1"
    assert isinstance(body["parameters"], list) and len(body["parameters"]) == 1


def test_row_empty_required_attribute_400(client: httpx.Client) -> None:
    """docs/reference/magento.md#error-catalogue 'Empty required attribute'."""
    response = client.post("/V1/products", json={"product": {"sku": " ", "name": "x"}})
    assert response.status_code == 400
    assert response.json() == {
        "message": 'The "%1" attribute value is empty. Set the attribute and try again.',
        "parameters": ["sku"],
    }


def test_row_page_size_over_limit_400(client: httpx.Client, magento: EmulatorHandle) -> None:
    """docs/reference/magento.md#error-catalogue 'Page size over limit (limits on)'; docs/reference/magento.md#what-differs-between-stores input limits."""
    magento.configure(input_limit_enabled=True)
    response = client.get("/V1/products", params={"searchCriteria[pageSize]": "301"})
    assert response.status_code == 400
    assert response.json() == {
        "message": "Maximum SearchCriteria pageSize is %max",
        "parameters": {"max": 300},
    }
    ok = client.get("/V1/products", params={"searchCriteria[pageSize]": "300"})
    assert ok.status_code == 200


def test_row_too_many_array_items_400(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#error-catalogue 'Too many array items (limits on)': any array of entities, nested ones too."""
    magento.configure(input_limit_enabled=True)
    body = product("A")
    body["product"]["product_links"] = [{"sku": "A", "link_type": "related"}] * 21
    response = client.post("/V1/products", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "message": 'Maximum items of type "%type" is %max',
        "parameters": {"type": "\\Magento\\Catalog\\Api\\Data\\ProductLinkInterface", "max": 20},
    }
    top_level = client.post("/V1/products", json={**product("B"), "extra_items": [{"x": 1}] * 21})
    assert top_level.status_code == 400
    assert magento.store.products_by_sku() == {}


def test_row_array_items_within_limit_or_limits_off_accepted(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#input-limits-and-hosting: 20 items pass with limits on; any number passes with limits off (the default)."""
    magento.configure(input_limit_enabled=True)
    assert client.post("/V1/products", json={**product("A"), "x": [{}] * 20}).status_code == 200
    many_attributes = [{"attribute_code": "description", "value": f"v{n}"} for n in range(30)]
    response = client.post("/V1/products", json=product("C", custom_attributes=many_attributes))
    assert response.status_code == 200  # custom_attributes are converted apart, not limited
    magento.configure(input_limit_enabled=False)
    assert client.post("/V1/products", json={**product("B"), "x": [{}] * 500}).status_code == 200


def test_row_backpressure_429_with_retry_after(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#error-catalogue 'Backpressure' and docs/reference/magento.md#what-differs-between-stores: 429 ``Too Many Requests`` with ``Retry-After``."""
    magento.configure(retry_after_seconds=3)
    magento.set_faults("products.get:429:1")
    response = client.get("/V1/products/A")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {"message": "Too Many Requests"}


def test_row_unhandled_exception_500_report_id(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#error-catalogue 'Unhandled exception (production)'."""
    magento.set_faults("products.get:500:1")
    response = client.get("/V1/products/A")
    assert response.status_code == 500
    assert re.fullmatch(
        r"Internal Error\. Details are available in Magento log file\. Report ID: webapi-\w+",
        response.json()["message"],
    )
    assert set(response.json()) == {"message"}


def test_row_maintenance_503_is_html(client: httpx.Client, magento: EmulatorHandle) -> None:
    """docs/reference/magento.md#input-limits-and-hosting / #what-differs-between-stores: maintenance mode answers 503 with an HTML page, not Magento JSON."""
    magento.set_faults("products.get:503:1")
    response = client.get("/V1/products/A")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text


def test_row_deadlock_on_sync_save_400_nothing_written(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#product-save: a deadlock during save is a 400 TemporaryCouldNotSave; nothing is applied."""
    magento.set_faults("products.save:deadlock:1")
    response = client.post("/V1/products", json=product("A"))
    assert response.status_code == 400
    assert response.json() == {"message": "Database deadlock found when trying to get lock"}
    assert magento.store.products_by_sku() == {}


def test_item_store_scopes_resolve_before_matching(
    client: httpx.Client, product: ProductFactory
) -> None:
    """docs/reference/magento.md#url-and-store-scope: ``all``, ``default`` and no code all reach the same route."""
    client.post("/V1/products", json=product("A"))
    for prefix in ("/all", "/default", ""):
        assert client.get(f"{prefix}/V1/products/A").status_code == 200


def test_item_put_path_overrides_body_sku(client: httpx.Client, product: ProductFactory) -> None:
    """docs/reference/magento.md#put-path-parameter-override: PUT ``/V1/products/ABC`` with body sku XYZ saves ABC."""
    response = client.put("/V1/products/ABC", json=product("XYZ"))
    assert response.status_code == 200
    assert response.json()["sku"] == "ABC"


def test_item_upsert_case_insensitive_status_kept(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#product-save: one product per SKU whatever its case; status kept when omitted."""
    client.post("/V1/products", json=product("Mug-1", status=2))
    response = client.post("/V1/products", json=product("MUG-1", name="Renamed"))
    assert response.status_code == 200
    assert response.json()["status"] == 2
    assert len(magento.store.products_by_sku()) == 1


def test_item_product_json_types(client: httpx.Client, product: ProductFactory) -> None:
    """docs/reference/magento.md#product-json: ints for status/visibility/attribute_set_id, string custom attribute values."""
    body = client.post(
        "/V1/products",
        json=product(
            "T-1", status="1", custom_attributes=[{"attribute_code": "color", "value": 5}]
        ),
    ).json()
    assert isinstance(body["status"], int) and isinstance(body["visibility"], int)
    assert isinstance(body["attribute_set_id"], int)
    values = {a["attribute_code"]: a["value"] for a in body["custom_attributes"]}
    assert values["color"] == "5"
    assert values["url_key"] == "item-t-1"


def test_item_paging_past_the_end_clamped_when_on(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """docs/reference/magento.md#paging-past-the-end / #what-differs-between-stores: with clamping on, a page past the end repeats the last page."""
    for sku in ("A", "B", "C"):
        client.post("/V1/products", json=product(sku))
    params = {"searchCriteria[pageSize]": "2", "searchCriteria[currentPage]": "5"}
    assert client.get("/V1/products", params=params).json()["items"] == []
    magento.configure(clamp_pages=True)
    page = client.get("/V1/products", params=params).json()
    assert [item["sku"] for item in page["items"]] == ["C"]
    assert page["total_count"] == 3


def test_item_cost_model_per_request_per_record_and_per_kib() -> None:
    """Issue 3 cost model: latency per request plus a cost per record and per KiB by endpoint."""
    from cpsync_emulator import EmulatorConfig

    config = EmulatorConfig(
        costs_ms={"products.save": 10.0},
        record_costs_ms={"products.save": 2.0},
        kb_costs_ms={"products.save": 1.0},
    )
    assert config.cost_seconds("products.save") == pytest.approx(0.012)
    assert config.cost_seconds("products.save", records=5, body_bytes=2048) == pytest.approx(0.022)
    with pytest.raises(ValueError, match="unknown endpoint"):
        EmulatorConfig(record_costs_ms={"products.sav": 1.0})


def test_item_worker_backlog_full_answers_nginx_502(
    client: httpx.Client, magento: EmulatorHandle, product: ProductFactory
) -> None:
    """Issue 3 workers: past PHP-FPM's listen backlog nginx answers 502; nothing is applied."""
    from concurrent.futures import ThreadPoolExecutor

    magento.configure(workers=1, worker_backlog=1, costs_ms={"products.save": 100.0})
    with ThreadPoolExecutor(4) as pool:
        responses = list(
            pool.map(lambda n: client.post("/V1/products", json=product(f"Q-{n}")), range(4))
        )
    statuses = sorted(r.status_code for r in responses)
    assert 502 in statuses and 200 in statuses
    refused = [r for r in responses if r.status_code == 502]
    assert all("502 Bad Gateway" in r.text for r in refused)
    assert len(magento.store.products_by_sku()) == statuses.count(200)


def test_row_edge_429_is_html_with_retry_after(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#input-limits-and-hosting / #what-differs-between-stores: a CDN's rate limit answers 429 before Magento, not in Magento's JSON."""
    magento.set_faults("products.get:429-edge:1")
    response = client.get("/V1/products/A")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.headers["content-type"].startswith("text/html")
    assert "Too Many Requests" in response.text


def test_item_localized_messages_translate_the_template_only(
    client: httpx.Client, anonymous: httpx.Client, magento: EmulatorHandle
) -> None:
    """docs/reference/magento.md#url-and-store-scope / #what-differs-between-stores: a store view locale translates the template; parameters stay."""
    magento.configure(locale="de_DE")
    missing = client.get("/V1/nothing")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Die Anfrage entspricht keiner Route."}
    refused = anonymous.get("/V1/products/A")
    assert refused.status_code == 401
    assert refused.json() == {
        "message": "Der Consumer ist nicht berechtigt, auf %resources zuzugreifen.",
        "parameters": {"resources": "Magento_Catalog::products"},
    }


def test_item_search_criteria_groups_and_filters_or_sort_page_echo(
    client: httpx.Client, product: ProductFactory
) -> None:
    """docs/reference/magento.md#product-search: groups AND, filters OR, sort, paging, camelCase accepted, snake_case echo."""
    for sku, price in (("S-1", 5), ("S-2", 15), ("S-3", 25), ("T-1", 15)):
        client.post("/V1/products", json=product(sku, price=price))
    params = {
        "searchCriteria[filterGroups][0][filters][0][field]": "sku",
        "searchCriteria[filterGroups][0][filters][0][value]": "S-%",
        "searchCriteria[filterGroups][0][filters][0][conditionType]": "like",
        "searchCriteria[filterGroups][1][filters][0][field]": "price",
        "searchCriteria[filterGroups][1][filters][0][value]": "10",
        "searchCriteria[filterGroups][1][filters][0][condition_type]": "gt",
        "searchCriteria[filterGroups][1][filters][1][field]": "sku",
        "searchCriteria[filterGroups][1][filters][1][value]": "S-1",
        "searchCriteria[sortOrders][0][field]": "price",
        "searchCriteria[sortOrders][0][direction]": "DESC",
        "searchCriteria[pageSize]": "2",
        "searchCriteria[currentPage]": "1",
    }
    response = client.get("/V1/products", params=params)
    assert response.status_code == 200
    body = response.json()
    assert [item["sku"] for item in body["items"]] == ["S-3", "S-2"]
    assert body["total_count"] == 3
    echo = body["search_criteria"]
    assert set(echo) >= {"filter_groups", "sort_orders", "page_size", "current_page"}
    assert echo["page_size"] == 2 and echo["sort_orders"] == [
        {"field": "price", "direction": "DESC"}
    ]
