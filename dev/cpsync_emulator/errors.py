"""Magento-shaped errors: an HTTP status, a message template and its parameters.

Magento answers errors with the *raw* message template (placeholders such as ``%1`` or
``%fieldName`` left in) and the values beside it, so clients can translate and fill them
(docs/reference/magento.md#error-responses). The emulator keeps that contract: nothing is
substituted here, and ``parameters`` is omitted when empty. The templates below are the wire strings
of docs/reference/magento.md#every-request to docs/reference/magento.md#products and
#error-catalogue.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = [
    "ADMIN_SIGN_IN_INCORRECT",
    "ARRAY_ITEMS_MAX",
    "ATTRIBUTE_VALUE_EMPTY",
    "BULK_NOT_FOUND",
    "CHARSET_NOT_UTF8",
    "CONSUMER_NOT_AUTHORIZED",
    "CONTENT_TYPE_EMPTY",
    "CONTENT_TYPE_INVALID",
    "CONTENT_TYPE_UNSUPPORTED",
    "CUSTOM_ATTRIBUTE_EMPTY",
    "CUSTOM_ATTRIBUTE_NO_CODE",
    "CUSTOM_ATTRIBUTE_NO_VALUE",
    "DEADLOCK",
    "DECODING_ERROR",
    "FIELD_REQUIRED",
    "INPUT_EXCEPTIONS",
    "INVALID_PRODUCT_DATA",
    "METHOD_INVALID",
    "NONCE_USED",
    "NO_ROUTE",
    "OAUTH_VERSION_UNSUPPORTED",
    "PAGE_SIZE_MAX",
    "PRODUCT_NOT_FOUND",
    "SERVICE_SUCCESS",
    "SIGNATURE_INVALID",
    "SIGNATURE_METHOD_UNSUPPORTED",
    "SKU_TOO_LONG",
    "TFA_CONFIGURE",
    "TFA_INVALID_CODE",
    "TFA_PROVIDER_NOT_CONFIGURED",
    "TFA_USE_PROVIDER",
    "URL_KEY_EXISTS",
    "VALUE_TYPE_INVALID",
    "MagentoError",
    "Parameters",
    "input_errors",
    "internal_error",
    "no_route",
    "not_authorized",
    "product_not_found",
    "required_field",
]

Parameters = list[Any] | dict[str, Any]

NO_ROUTE = "Request does not match any route."
METHOD_INVALID = "Request method is invalid."
CONSUMER_NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
ADMIN_SIGN_IN_INCORRECT = (
    "The account sign-in was incorrect or your account is disabled temporarily. "
    "Please wait and try again later."
)
CONTENT_TYPE_EMPTY = "Content-Type header is empty."
CONTENT_TYPE_INVALID = "Content-Type header is invalid."
CHARSET_NOT_UTF8 = "UTF-8 is the only supported charset."
# Not quoted in the reference; the deserializer factory's text for a media type it cannot read.
CONTENT_TYPE_UNSUPPORTED = "Server cannot understand Content-Type HTTP header media type %1"
DECODING_ERROR = "Decoding error."
FIELD_REQUIRED = '"%fieldName" is required. Enter and try again.'
VALUE_TYPE_INVALID = (
    'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.'
)
CUSTOM_ATTRIBUTE_EMPTY = "There is an empty custom attribute specified."
CUSTOM_ATTRIBUTE_NO_CODE = "A custom attribute is specified without an attribute code."
CUSTOM_ATTRIBUTE_NO_VALUE = 'Value is not set for attribute code "%1"'
PRODUCT_NOT_FOUND = (
    "The product that was requested doesn't exist. Verify the product and try again."
)
ATTRIBUTE_VALUE_EMPTY = 'The "%1" attribute value is empty. Set the attribute and try again.'
SKU_TOO_LONG = "SKU length should be %1 characters maximum."
URL_KEY_EXISTS = "URL key for specified store already exists."
INVALID_PRODUCT_DATA = "Invalid product data: %1"
PAGE_SIZE_MAX = "Maximum SearchCriteria pageSize is %max"
ARRAY_ITEMS_MAX = 'Maximum items of type "%type" is %max'
DEADLOCK = "Database deadlock found when trying to get lock"
SIGNATURE_INVALID = "The signature is invalid. Verify and try again."
SIGNATURE_METHOD_UNSUPPORTED = "Signature method %1 is not supported"
OAUTH_VERSION_UNSUPPORTED = 'The "%1" Oauth version isn\'t supported.'
NONCE_USED = "The nonce is already being used by the consumer with ID %1"
TFA_USE_PROVIDER = "Please use the 2fa provider-specific endpoints to obtain a token."
TFA_INVALID_CODE = "Invalid code."
TFA_PROVIDER_NOT_CONFIGURED = "Provider is not configured."
TFA_CONFIGURE = (
    "You are required to configure personal Two-Factor Authorization in order to login. "
    "Please check your email."
)
BULK_NOT_FOUND = "Bulk uuid %bulkUuid not exist"
SERVICE_SUCCESS = "Service execution success %1"


class MagentoError(Exception):
    """An error answer: raised anywhere in a handler, rendered once by the dispatcher."""

    def __init__(
        self,
        status: int,
        message: str,
        parameters: Parameters | None = None,
        *,
        errors: list[MagentoError] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters: Parameters = parameters if parameters is not None else []
        self.errors: list[MagentoError] = errors or []

    def to_json(self) -> dict[str, Any]:
        """Render the docs/reference/magento.md#error-responses body: template, then parameters and
        errors only when present."""
        body: dict[str, Any] = {"message": self.message}
        if self.parameters:
            body["parameters"] = self.parameters
        if self.errors:
            body["errors"] = [error.to_json() for error in self.errors]
        return body

    def rendered(self) -> str:
        """The message with its placeholders filled.

        See as an async operation reports it, docs/reference/magento.md#async-bulk.
        """
        message = self.message
        if isinstance(self.parameters, dict):
            for name in sorted(self.parameters, key=len, reverse=True):
                message = message.replace(f"%{name}", str(self.parameters[name]))
        else:
            for index in range(len(self.parameters), 0, -1):
                message = message.replace(f"%{index}", str(self.parameters[index - 1]))
        return message

    def __repr__(self) -> str:
        return f"MagentoError({self.status}, {self.message!r}, {self.parameters!r})"


def no_route() -> MagentoError:
    """404 for an unknown path, method or store code.

    See docs/reference/magento.md#url-and-store-scope, #error-responses.
    """
    return MagentoError(404, NO_ROUTE)


def not_authorized(resources: str) -> MagentoError:
    """401 for a missing, unknown or expired token.

    See docs/reference/magento.md#authorization-failure.
    """
    return MagentoError(401, CONSUMER_NOT_AUTHORIZED, {"resources": resources})


def required_field(name: str) -> MagentoError:
    """400 for a missing service-method parameter such as the ``product`` wrapper.

    See docs/reference/magento.md#request-format.
    """
    return MagentoError(400, FIELD_REQUIRED, {"fieldName": name})


INPUT_EXCEPTIONS = "One or more input exceptions have occurred."


def input_errors(errors: list[MagentoError]) -> MagentoError:
    """One error as itself, several as Magento's aggregate ``InputException``.

    See docs/reference/magento.md#error-responses, #error-catalogue.
    """
    if len(errors) == 1:
        return errors[0]
    return MagentoError(400, INPUT_EXCEPTIONS, errors=errors)


def product_not_found() -> MagentoError:
    """404 for an unknown SKU, without parameters (docs/reference/magento.md#product-json)."""
    return MagentoError(404, PRODUCT_NOT_FOUND)


def internal_error() -> MagentoError:
    """500 as production mode renders it: a report id, no detail.

    See docs/reference/magento.md#error-responses.
    """
    report = f"webapi-{uuid.uuid4().hex[:13]}"
    return MagentoError(
        500, f"Internal Error. Details are available in Magento log file. Report ID: {report}"
    )
