"""Magento's web API input processor: every request body checked against the data interfaces.

Real Magento turns a JSON body into data objects before any service code runs
(``Magento\\Framework\\Webapi\\ServiceInputProcessor``). For each member of an object it turns
the name into UpperCamelCase (``is_in_stock`` and ``isInStock`` both give ``IsInStock``) and
looks for a getter (``get``/``is`` + name) and a setter (``set``/``setIs`` + name) on the
interface; method names are compared with their case. What follows, as read from the source:

- no getter: refused, whatever the value (even ``null``);
- a getter without setter: an empty value (PHP ``empty()``: null, "", "0", 0, false, [], {})
  is skipped, any other value is refused;
- refused means a ``LogicException``: production mode answers 500 ``Internal Error ...``
  (Magento up to 2.4.6); 2.4.7 and Adobe's quality patch ACSD-51846 answer 400
  ``"%fieldName" is not supported. Correct the field name and try again.`` with the
  UpperCamelCase name. ``EmulatorConfig.unsupported_field_status`` picks one (500 by default);
- a simple value that does not convert (``is_numeric`` for int and float; anything converts to
  string and bool) is 400 ``The "%value" value's type is invalid. The "%type" type was
  expected. Verify and try again.``, wrapped in ``Error occurred during "<member>" processing.``
  once per object level, and rendered (no parameters left);
- a scalar where an array of objects is expected is 400 ``Not all parameters valid.`` (a
  top-level parameter is left to the service, whose messages the reference quotes); a scalar
  where an object is expected counts as an empty object; body members that are not parameters
  of the service method are ignored.

``INTERFACES`` holds one table per data interface (``ProductExtensionInterface`` is generated
from the ``etc/extension_attributes.xml`` files of Catalog, CatalogInventory and
ConfigurableProduct); ``SERVICE_PARAMS`` the parameters of each endpoint's service method. A type
is ``int``, ``float``, ``string``, ``bool``, ``mixed``, ``int[]``, ``string[]``, an interface
name (``[]`` for a list of them), or ``any`` for members whose inner shape is not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cpsync_emulator.errors import MagentoError, internal_error

__all__ = [
    "FIELD_NOT_SUPPORTED",
    "INTERFACES",
    "NOT_ALL_PARAMETERS_VALID",
    "SERVICE_PARAMS",
    "Member",
    "check_service_input",
    "php_empty",
    "upper_camel",
]

FIELD_NOT_SUPPORTED = '"%fieldName" is not supported. Correct the field name and try again.'
NOT_ALL_PARAMETERS_VALID = "Not all parameters valid."
_TYPE_INVALID = (
    'The "{value}" value\'s type is invalid. The "{type}" type was expected. Verify and try again.'
)
_PROCESSING = 'Error occurred during "{field}" processing. {details}'
_SIMPLE = frozenset({"int", "float", "string", "bool", "mixed"})
_NUMERIC = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


@dataclass(frozen=True)
class Member:
    """One property of a data interface: its getter's type, and whether it has a setter."""

    type: str
    settable: bool = True


def _members(**types: str) -> dict[str, Member]:
    return {name: Member(type_name) for name, type_name in types.items()}


#: Properties of each data interface, by snake_case name.
INTERFACES: dict[str, dict[str, Member]] = {
    "ProductInterface": _members(
        id="int",
        sku="string",
        name="string",
        attribute_set_id="int",
        price="float",
        status="int",
        visibility="int",
        type_id="string",
        created_at="string",
        updated_at="string",
        weight="float",
        extension_attributes="ProductExtensionInterface",
        product_links="any[]",
        options="any[]",
        media_gallery_entries="ProductAttributeMediaGalleryEntryInterface[]",
        tier_prices="ProductTierPriceInterface[]",
        custom_attributes="custom",
    ),
    # Generated from extension_attributes.xml: Catalog (website_ids, category_links),
    # CatalogInventory (stock_item), ConfigurableProduct (options, links); Bundle and
    # Downloadable add theirs, kept unchecked inside.
    "ProductExtensionInterface": _members(
        website_ids="int[]",
        category_links="CategoryLinkInterface[]",
        stock_item="StockItemInterface",
        configurable_product_options="ConfigurableOptionInterface[]",
        configurable_product_links="int[]",
        bundle_product_options="any[]",
        downloadable_product_links="any[]",
        downloadable_product_samples="any[]",
    ),
    "CategoryLinkInterface": _members(
        position="int", category_id="string", extension_attributes="any"
    ),
    "StockItemInterface": {
        **_members(
            item_id="int",
            product_id="int",
            stock_id="int",
            qty="float",
            is_in_stock="bool",
            is_qty_decimal="bool",
            use_config_min_qty="bool",
            min_qty="float",
            use_config_min_sale_qty="int",
            min_sale_qty="float",
            use_config_max_sale_qty="bool",
            max_sale_qty="float",
            use_config_backorders="bool",
            backorders="int",
            use_config_notify_stock_qty="bool",
            notify_stock_qty="float",
            use_config_qty_increments="bool",
            qty_increments="float",
            use_config_enable_qty_inc="bool",
            enable_qty_increments="bool",
            use_config_manage_stock="bool",
            manage_stock="bool",
            low_stock_date="string",
            is_decimal_divided="bool",
            stock_status_changed_auto="int",
            extension_attributes="any",
        ),
        # getShowDefaultNotificationMessage() has no setter: GET shows it, a save skips it
        # when empty and refuses it otherwise.
        "show_default_notification_message": Member("bool", settable=False),
    },
    "ConfigurableOptionInterface": _members(
        id="int",
        attribute_id="string",
        label="string",
        position="int",
        is_use_default="bool",
        values="ConfigurableOptionValueInterface[]",
        product_id="int",
        extension_attributes="any",
    ),
    "ConfigurableOptionValueInterface": _members(value_index="int", extension_attributes="any"),
    "ProductAttributeMediaGalleryEntryInterface": _members(
        id="int",
        media_type="string",
        label="string",
        position="int",
        disabled="bool",
        types="string[]",
        file="string",
        content="ImageContentInterface",
        extension_attributes="any",
    ),
    "ImageContentInterface": _members(base64_encoded_data="string", type="string", name="string"),
    "ProductTierPriceInterface": _members(
        customer_group_id="int", qty="float", value="float", extension_attributes="any"
    ),
    "SourceItemInterface": _members(
        sku="string",
        source_code="string",
        quantity="float",
        status="int",
        extension_attributes="any",
    ),
    "SourceInterface": _members(
        source_code="string",
        name="string",
        email="string",
        contact_name="string",
        enabled="bool",
        description="string",
        latitude="float",
        longitude="float",
        country_id="string",
        region_id="int",
        region="string",
        city="string",
        street="string",
        postcode="string",
        phone="string",
        fax="string",
        use_default_carrier_config="bool",
        carrier_links="any[]",
        extension_attributes="any",
    ),
    "BasePriceInterface": _members(
        price="float", store_id="int", sku="string", extension_attributes="any"
    ),
    "SpecialPriceInterface": _members(
        price="float",
        store_id="int",
        sku="string",
        price_from="string",
        price_to="string",
        extension_attributes="any",
    ),
    "CategoryInterface": {
        **_members(
            id="int",
            parent_id="int",
            name="string",
            is_active="bool",
            position="int",
            level="int",
            created_at="string",
            updated_at="string",
            path="string",
            available_sort_by="string[]",
            include_in_menu="bool",
            extension_attributes="any",
            custom_attributes="custom",
        ),
        # getChildren() has no setter: a category read back and saved keeps working only
        # while the list of children is empty.
        "children": Member("string", settable=False),
    },
    "CategoryProductLinkInterface": _members(
        sku="string", position="int", category_id="string", extension_attributes="any"
    ),
    "AttributeOptionInterface": _members(
        label="string",
        value="string",
        sort_order="int",
        is_default="bool",
        store_labels="any[]",
    ),
}

#: The parameters of each endpoint's service method (body parameters only), by endpoint.
SERVICE_PARAMS: dict[str, dict[str, str]] = {
    "products.save": {"product": "ProductInterface", "saveOptions": "bool"},
    "categories.save": {"category": "CategoryInterface"},
    "categories.move": {"parentId": "int", "afterId": "int"},
    "categories.products.save": {"productLink": "CategoryProductLinkInterface"},
    "inventory.source_items.save": {"sourceItems": "SourceItemInterface[]"},
    "inventory.source_items.delete": {"sourceItems": "SourceItemInterface[]"},
    "inventory.sources.save": {"source": "SourceInterface"},
    "stock_items.save": {"stockItem": "StockItemInterface"},
    "prices.base.save": {"prices": "BasePriceInterface[]"},
    "prices.base.get": {"skus": "string[]"},
    "prices.special.save": {"prices": "SpecialPriceInterface[]"},
    "prices.special.get": {"skus": "string[]"},
    "prices.special.delete": {"prices": "SpecialPriceInterface[]"},
    "configurable.options.save": {"option": "ConfigurableOptionInterface"},
    "configurable.child.add": {"childSku": "string"},
    "attributes.options.add": {"option": "AttributeOptionInterface"},
    "media.create": {"entry": "ProductAttributeMediaGalleryEntryInterface"},
    "media.update": {"entry": "ProductAttributeMediaGalleryEntryInterface"},
}


class _Serialization(Exception):
    """Magento's SerializationException: a rendered message, wrapped per object level."""


def upper_camel(name: str) -> str:
    """``SimpleDataObjectConverter::snakeCaseToUpperCamelCase``: ``ucwords`` on ``_``, joined."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


_LOOKUP: dict[str, dict[str, Member]] = {
    interface: {upper_camel(name): member for name, member in members.items()}
    for interface, members in INTERFACES.items()
}


def php_empty(value: Any) -> bool:
    """PHP's ``empty()`` on a decoded JSON value."""
    return value is None or value is False or value in (0, "", "0") or value == [] or value == {}


def _php_string(value: Any) -> str:
    """``(string) $value`` for a scalar."""
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _php_type(value: Any) -> str:
    """PHP's ``gettype()`` of a decoded JSON value."""
    if isinstance(value, list | dict):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    return "string"


def _converts(value: Any, type_name: str) -> bool:
    """``TypeProcessor::setType``: numbers must be numeric; strings and bools take anything."""
    if type_name in ("int", "float"):
        if isinstance(value, bool):
            return False
        return isinstance(value, int | float) or bool(_NUMERIC.match(str(value)))
    return True


def _check_simple(value: Any, type_name: str) -> None:
    """``TypeProcessor::processSimpleAndAnyType``."""
    is_array = type_name.endswith("[]")
    if is_array and isinstance(value, list | dict):
        return  # settype() of each item succeeds for every JSON value
    if is_array and value is None:
        return
    if not is_array and not isinstance(value, list | dict):
        if value is not None and type_name != "mixed" and not _converts(value, type_name):
            raise _Serialization(_TYPE_INVALID.format(value=_php_string(value), type=type_name))
        return
    if type_name != "mixed":
        raise _Serialization(_TYPE_INVALID.format(value=_php_type(value), type=type_name))


def _convert(value: Any, type_name: str, unsupported_status: int) -> None:
    base = type_name.removesuffix("[]")
    if base == "any" and type_name == "any":
        return
    if base in _SIMPLE:
        _check_simple(value, type_name)
        return
    if type_name.endswith("[]"):
        if not isinstance(value, list | dict):
            raise MagentoError(400, NOT_ALL_PARAMETERS_VALID)
        items = value.values() if isinstance(value, dict) else value
        if base != "any":
            for item in items:
                _check_object(base, item, unsupported_status)
        return
    _check_object(base, value, unsupported_status)


def _unsupported(name: str, status: int) -> MagentoError:
    if status == 400:
        return MagentoError(400, FIELD_NOT_SUPPORTED, {"fieldName": name})
    return internal_error()


def _check_object(interface: str, data: Any, unsupported_status: int) -> None:
    """``_createFromArray``: every member needs a getter, and a setter unless it is empty."""
    if isinstance(data, list):
        data = {str(index): item for index, item in enumerate(data)}
    if not isinstance(data, dict):
        return  # a scalar becomes an empty object
    members = _LOOKUP[interface]
    for name, value in data.items():
        camel = upper_camel(str(name))
        member = members.get(camel)
        if member is None:
            raise _unsupported(camel, unsupported_status)
        if not member.settable:
            if php_empty(value):
                continue
            raise _unsupported(camel, unsupported_status)
        if member.type == "custom":
            continue  # custom attributes: checked by the entity's save (codes, shapes)
        try:
            _convert(value, member.type, unsupported_status)
        except _Serialization as exc:
            raise _Serialization(_PROCESSING.format(field=name, details=exc)) from None


def check_service_input(endpoint: str, body: Any, unsupported_status: int = 500) -> None:
    """Convert ``body`` as Magento converts it for ``endpoint``'s service method.

    Only the method's parameters are read; other top-level members are ignored, and a
    missing parameter is left to the handler (``"%fieldName" is required``).

    Raises:
        MagentoError: 500 (or 400 with ``unsupported_status=400``) for a member without
            getter or setter; 400 for a value of the wrong type.
    """
    params = SERVICE_PARAMS.get(endpoint)
    if params is None or not isinstance(body, dict):
        return
    for param, type_name in params.items():
        snake_param = re.sub(r"(?<=\w)(?=[A-Z])", "_", param).lower()
        key = param if body.get(param) is not None else snake_param
        if body.get(key) is None:
            continue
        if type_name.endswith("[]") and not isinstance(body[key], list | dict):
            # the service answers its own message (docs/reference/magento.md#prices,
            # #msi-source-items)
            continue
        try:
            _convert(body[key], type_name, unsupported_status)
        except _Serialization as exc:
            raise MagentoError(400, str(exc)) from None
