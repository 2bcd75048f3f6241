"""GET /V1/products with searchCriteria (docs/reference/magento.md#product-search) and the fields filter (docs/reference/magento.md#success-responses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cpsync_emulator import EmulatorHandle

ProductFactory = Callable[..., dict[str, Any]]

CATALOG = [
    # sku, price, status, category ids
    ("A-1", 5.0, 1, ["3"]),
    ("A-2", 15.0, 1, ["3", "4"]),
    ("B-1", 25.0, 2, ["4"]),
    ("B-2", 35.0, 1, []),
    ("C-1", 45.0, 2, ["5"]),
]


@pytest.fixture
def catalog(client: httpx.Client, product: ProductFactory) -> httpx.Client:
    """Five products, created in the order above (ids 1 to 5), in categories 3 to 5."""
    for name in ("Three", "Four", "Five"):
        created = client.post("/all/V1/categories", json={"category": {"name": name}})
        assert created.status_code == 200
    for sku, price, status, categories in CATALOG:
        links = [{"position": 0, "category_id": c} for c in categories]
        body = product(
            sku, price=price, status=status, extension_attributes={"category_links": links}
        )
        assert client.post("/all/V1/products", json=body).status_code == 200
    return client


def criteria(*groups: list[tuple[str, Any, str | None]], **extra: Any) -> dict[str, str]:
    """Encode filter groups and top-level criteria in the bracket syntax."""
    params: dict[str, str] = {}
    for g, group in enumerate(groups):
        for f, (field, value, condition) in enumerate(group):
            prefix = f"searchCriteria[filter_groups][{g}][filters][{f}]"
            params[f"{prefix}[field]"] = field
            params[f"{prefix}[value]"] = str(value)
            if condition is not None:
                params[f"{prefix}[condition_type]"] = condition
    for key, value in extra.items():
        params[f"searchCriteria[{key}]"] = str(value)
    return params


def skus(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["sku"] for item in response.json()["items"]]


def test_given_an_in_filter_when_paging_then_pages_follow_entity_id_and_count_all_matches(
    catalog: httpx.Client,
) -> None:
    # GIVEN
    params = criteria([("sku", "a-1,A-2,B-1,C-1", "in")], pageSize=2, currentPage=2)
    # WHEN
    response = catalog.get("/V1/products", params=params)
    # THEN
    assert skus(response) == ["B-1", "C-1"]
    body = response.json()
    assert body["total_count"] == 4
    assert body["search_criteria"] == {
        "filter_groups": [
            {"filters": [{"field": "sku", "value": "a-1,A-2,B-1,C-1", "condition_type": "in"}]}
        ],
        "page_size": 2,
        "current_page": 2,
    }


def test_given_filters_in_groups_when_searching_then_groups_and_filters_or(
    catalog: httpx.Client,
) -> None:
    # (status = 2 OR sku like 'A%') AND price > 10
    params = criteria(
        [("status", 2, "eq"), ("sku", "A%", "like")],
        [("price", 10, "gt")],
    )
    assert skus(catalog.get("/V1/products", params=params)) == ["A-2", "B-1", "C-1"]


@pytest.mark.parametrize(
    ("field", "value", "condition", "expected"),
    [
        ("sku", "b-2", None, ["B-2"]),
        ("status", "1", "neq", ["B-1", "C-1"]),
        ("sku", "A-1,B-1", "nin", ["A-2", "B-2", "C-1"]),
        ("sku", "%-2", "like", ["A-2", "B-2"]),
        ("price", "25", "gteq", ["B-1", "B-2", "C-1"]),
        ("price", "25", "lt", ["A-1", "A-2"]),
        ("price", "25", "lteq", ["A-1", "A-2", "B-1"]),
        ("category_id", "4", "eq", ["A-2", "B-1"]),
        ("category_id", "3,5", "in", ["A-1", "A-2", "C-1"]),
        ("category_ids", "4", "finset", ["A-2", "B-1"]),
        ("category_ids", "", "null", ["B-2"]),
        ("category_ids", "", "notnull", ["A-1", "A-2", "B-1", "C-1"]),
    ],
)
def test_given_a_condition_type_when_searching_then_it_selects_like_mysql(
    catalog: httpx.Client, field: str, value: str, condition: str | None, expected: list[str]
) -> None:
    params = criteria([(field, value, condition)])
    assert skus(catalog.get("/V1/products", params=params)) == expected


def test_given_camel_case_keys_when_searching_then_same_as_snake_case(
    catalog: httpx.Client,
) -> None:
    params = {
        "searchCriteria[filterGroups][0][filters][0][field]": "price",
        "searchCriteria[filterGroups][0][filters][0][value]": "30",
        "searchCriteria[filterGroups][0][filters][0][conditionType]": "gt",
        "searchCriteria[sortOrders][0][field]": "price",
        "searchCriteria[sortOrders][0][direction]": "DESC",
        "searchCriteria[pageSize]": "10",
    }
    response = catalog.get("/V1/products", params=params)
    assert skus(response) == ["C-1", "B-2"]
    assert response.json()["search_criteria"]["sort_orders"] == [
        {"field": "price", "direction": "DESC"}
    ]


def test_given_a_fields_filter_when_searching_then_only_those_members_come_back(
    catalog: httpx.Client,
) -> None:
    params = criteria([("sku", "A-1", "eq")]) | {"fields": "items[sku,id],total_count"}
    response = catalog.get("/V1/products", params=params)
    assert response.json() == {"items": [{"sku": "A-1", "id": 1}], "total_count": 1}


def test_given_no_search_criteria_when_listing_then_400_field_required(
    client: httpx.Client,
) -> None:
    response = client.get("/V1/products")
    assert response.status_code == 400
    assert response.json()["parameters"] == {"fieldName": "searchCriteria"}


def test_given_an_empty_search_criteria_when_listing_then_everything(
    catalog: httpx.Client,
) -> None:
    response = catalog.get("/V1/products", params={"searchCriteria": ""})
    assert response.json()["total_count"] == 5
    assert len(skus(response)) == 5


@pytest.mark.parametrize(("clamp", "expected"), [(False, []), (True, ["C-1"])])
def test_given_a_page_past_the_end_when_searching_then_empty_or_last_page_by_mode(
    catalog: httpx.Client, magento: EmulatorHandle, clamp: bool, expected: list[str]
) -> None:
    # GIVEN old (clamp) or fixed (empty) paging
    magento.configure(clamp_pages=clamp)
    # WHEN page 9 of 2-item pages is asked for
    response = catalog.get("/V1/products", params=criteria(pageSize=2, currentPage=9))
    # THEN
    assert skus(response) == expected
    assert response.json()["total_count"] == 5


def test_given_input_limits_when_page_size_is_over_300_then_400(
    catalog: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.configure(input_limit_enabled=True)
    response = catalog.get("/V1/products", params=criteria(pageSize=301))
    assert response.status_code == 400
    assert response.json() == {
        "message": "Maximum SearchCriteria pageSize is %max",
        "parameters": {"max": 300},
    }
