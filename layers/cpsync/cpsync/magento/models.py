"""Pydantic models of what the client sends to and reads from the product and bulk endpoints.

Magento adds fields freely (``options_container``, extension attributes of installed modules),
so models of *answers* allow extra members; models of *requests* forbid them, so a typo in a
field name fails here, in a test, rather than being ignored by Magento. Values follow
docs/reference/magento.md#product-json: custom attribute values are strings (lists for multi-valued
codes), category ids are strings.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BulkAccepted",
    "BulkOperation",
    "BulkRequestItem",
    "BulkStatus",
    "CategoryLink",
    "CustomAttribute",
    "Product",
    "ProductExtension",
    "ProductPayload",
    "ProductSearchResult",
    "StockItem",
]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomAttribute(BaseModel):
    """``{"attribute_code": ..., "value": ...}``."""

    attribute_code: str
    value: str | list[str] | int | float | bool | None


class CategoryLink(BaseModel):
    """One category assignment of a product; Magento answers the id as a string."""

    position: int = 0
    category_id: str


class StockItem(_Answer):
    """The legacy stock item inside ``extension_attributes`` (only the fields cpsync uses)."""

    qty: float | None = None
    is_in_stock: bool | None = None


class ProductExtension(_Answer):
    """``extension_attributes`` of a product."""

    website_ids: list[int] | None = None
    category_links: list[CategoryLink] | None = None
    stock_item: StockItem | None = None


class ProductPayload(_Request):
    """The ``product`` member of a save request; None fields are left out of the JSON."""

    sku: str = Field(min_length=1, max_length=64)
    name: str | None = None
    attribute_set_id: int | None = None
    price: float | None = None
    status: int | None = Field(default=None, ge=1, le=2)
    visibility: int | None = Field(default=None, ge=1, le=4)
    type_id: str | None = None
    weight: float | None = None
    extension_attributes: dict[str, Any] | None = None
    custom_attributes: list[CustomAttribute] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object Magento expects, without unset fields."""
        return self.model_dump(exclude_none=True)


class Product(_Answer):
    """A product as Magento returns it (GET and save)."""

    id: int
    sku: str
    name: str | None = None
    attribute_set_id: int | None = None
    price: float | None = None
    status: int | None = None
    visibility: int | None = None
    type_id: str | None = None
    extension_attributes: ProductExtension | None = None
    custom_attributes: list[CustomAttribute] = Field(default_factory=list)

    def attribute(self, code: str) -> Any:
        """A custom attribute's value, or None."""
        return next((a.value for a in self.custom_attributes if a.attribute_code == code), None)


class ProductSearchResult(_Answer):
    """``{"items": [...], "search_criteria": {...}, "total_count": N}``."""

    items: list[Product] = Field(default_factory=list)
    total_count: int = 0


class BulkRequestItem(_Answer):
    """One item of a 202 answer: accepted, or rejected with a reason."""

    id: int
    data_hash: str | None = None
    status: str
    error_message: str | None = None
    error_code: int | None = None


class BulkAccepted(_Answer):
    """The 202 answer of an async or bulk request (docs/reference/magento.md#async-bulk)."""

    bulk_uuid: str
    request_items: list[BulkRequestItem]
    errors: bool = False


class BulkOperation(_Answer):
    """One operation of ``/V1/bulk/:uuid/detailed-status``."""

    id: int
    status: int
    result_message: str | None = None
    error_code: int | None = None
    result_serialized_data: str | None = None


class BulkStatus(_Answer):
    """``/V1/bulk/:uuid/detailed-status``."""

    operations_list: list[BulkOperation] = Field(default_factory=list)
    operation_count: int | None = None
