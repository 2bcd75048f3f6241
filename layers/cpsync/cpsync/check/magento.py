"""`cpsync check`, Magento: what the store must offer before the first sync.

Reachable, signed in, ACL, store, MSI and sources, grid attributes, Web API input limits, async
bulk, Magento's import (an import of no rows writes nothing).

Only harmless reads (searches of one row, lookups by code, a price read of one SKU) and one
bulk of one operation Magento refuses without saving anything (a product with an empty SKU),
whose status says whether the async consumer runs. A probe
answered 401/403 after the sign-in worked means the integration (or the admin user's role)
lacks that ACL resource; any other refusal (404 for an id that does not exist, 400) means the
request got past the ACL, which is all a probe asks.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from cpsync.check import Area, Finding
from cpsync.check.magento_bulk import bulk_consumer_runs, bulk_findings, import_findings
from cpsync.errors import ConfigurationError
from cpsync.magento.bulk import BULK_CONSUMER
from cpsync.magento.client import MagentoClient, RetryPolicy, search_params, sku_path
from cpsync.magento.errors import MagentoAuthError, MagentoError, MagentoRetryableError
from cpsync.redact import describe

if TYPE_CHECKING:
    from cpsync.check.counterpoint import CounterpointFacts
    from cpsync.runtime import Runtime
    from cpsync.settings import Settings

__all__ = ["BEARER_SETTING", "BULK_CONSUMER", "bulk_consumer_runs", "check_magento"]

logger = logging.getLogger(__name__)

_AREA: Area = "magento"
BEARER_SETTING = (
    "Stores > Configuration > Services > OAuth > Consumer Settings > "
    "'Allow OAuth Access Tokens to be used as standalone Bearer tokens' = Yes"
)
_NO_ROUTE = "Request does not match any route"
#: A filter no product matches: the input-limit probe must not load a page of products.
_NOTHING = [[("sku", "cpsync-check-matches-nothing", "eq")]]


def _client(settings: Settings) -> MagentoClient:
    """A client that gives up fast: a check must answer in seconds, not retry for a minute."""
    client = MagentoClient.from_settings(settings)
    client.retry = RetryPolicy(max_attempts=2, budget_seconds=10.0, base_seconds=0.2)
    return client


def check_magento(runtime: Runtime, facts: CounterpointFacts) -> list[Finding]:
    """Every Magento finding."""
    settings = runtime.settings
    if not runtime.writes_magento:
        return [
            Finding(
                _AREA,
                "ok",
                "Magento was not checked here: the store agent has no Magento credentials "
                "(run `cpsync check` with the cloud's settings for Magento).",
            )
        ]
    try:
        client = _client(settings)
    except ConfigurationError as exc:
        return [Finding(_AREA, "blocking", f"{describe(exc)}.", "Set the setting it names.")]
    with client:
        first = _sign_in(client, settings)
        if first is None or first.level == "blocking":
            return [f for f in (first,) if f is not None]
        found = [first]
        sku = _first_sku(client)
        found += _acl(client, settings, sku)
        found += _store(client, settings)
        found += _inventory(client, settings)
        found += _grid_attributes(client, settings, facts)
        found += _input_limits(client, settings)
        found += bulk_findings(client, settings, runtime)
        found += import_findings(client, settings)
        found += _special_dates(client, settings)
    return found


#: `GET /magento_version` answers `Magento/2.4 (Community)`: Magento_Version's controller.
_VERSION = re.compile(r"^Magento/(\d+\.\d+) \((\w+)\)$")
#: The date mode each edition needs (`CPSYNC_MAGENTO_SPECIAL_DATES`).
_DATES_OF_EDITION = {"Community": "day", "Enterprise": "exact", "B2B": "exact"}


def _special_dates(client: MagentoClient, settings: Settings) -> list[Finding]:
    """Whether `CPSYNC_MAGENTO_SPECIAL_DATES` suits the store's edition.

    Open Source reads special-price dates as whole days, Adobe Commerce keeps their times
    (docs/reference/magento.md#special-prices). The edition is read from the storefront's
    `/magento_version` page (Magento_Version), which many stores remove: then only a reminder.
    """
    mode = settings.magento_special_dates
    page = client.page_text("/magento_version")
    found = _VERSION.match(page.strip()) if page is not None else None
    if found is None:
        return [
            Finding(
                _AREA,
                "ok",
                f"Special-price dates are sent as {_DATES_SAID[mode]} "
                f"(CPSYNC_MAGENTO_SPECIAL_DATES={mode}); the store does not say its edition "
                "(/magento_version): day suits Magento Open Source, exact Adobe Commerce.",
            )
        ]
    edition = found.group(2)
    wanted = _DATES_OF_EDITION.get(edition)
    if wanted is None or wanted == mode:
        return [
            Finding(
                _AREA,
                "ok",
                f"Magento {found.group(1)} ({edition}): special-price dates go as "
                f"{_DATES_SAID[mode]}.",
            )
        ]
    return [
        Finding(
            _AREA,
            "warning",
            f"Magento {found.group(1)} ({edition}) but special-price dates go as "
            f"{_DATES_SAID[mode]} (CPSYNC_MAGENTO_SPECIAL_DATES={mode}): promotions would "
            f"{_WRONG[mode]}.",
            f"Set CPSYNC_MAGENTO_SPECIAL_DATES={wanted}.",
        )
    ]


_DATES_SAID = {"day": "whole days", "exact": "times to the second"}
#: What goes wrong with each mode on the other edition.
_WRONG = {
    "day": "end a day early (Adobe Commerce keeps the 00:00:00 a last day is sent with)",
    "exact": "stay on a day too long in product pages and carts (Open Source adds a day to "
    "the end)",
}


def _sign_in(client: MagentoClient, settings: Settings) -> Finding | None:
    """The first request: Magento answers, and the chosen sign-in works."""
    try:
        client.request(
            "GET", "products", endpoint="check.products", params=search_params(_NOTHING, 1)
        )
    except MagentoRetryableError as exc:
        return Finding(
            _AREA,
            "blocking",
            f"Magento does not answer at {settings.magento_url}: {exc.magento_message}.",
            "Check CPSYNC_MAGENTO_URL (the store's address, without /rest) and that this "
            "machine reaches it (DNS, firewall, TLS).",
        )
    except MagentoAuthError as exc:
        return Finding(_AREA, "blocking", _refused(settings, exc), _sign_in_fix(settings))
    except MagentoError as exc:
        if _NO_ROUTE in exc.magento_message and settings.magento_store_code != "all":
            return Finding(
                _AREA,
                "blocking",
                f"Magento has no store view {settings.magento_store_code!r} "
                f"(it answered {exc.status}: {exc.magento_message}).",
                "Set CPSYNC_MAGENTO_STORE_CODE to a store view code (Stores > All Stores), "
                "or to 'all' for global values.",
            )
        return Finding(
            _AREA,
            "blocking",
            f"Magento refused a product search: {exc.magento_message} ({exc.status}).",
            "Check CPSYNC_MAGENTO_URL: it must be the store's address, without /rest.",
        )
    how = {"token": "the integration token", "admin": "the admin user", "oauth": "OAuth 1.0a"}
    return Finding(
        _AREA,
        "ok",
        f"Magento answers at {settings.magento_url}; signed in with {how[settings.magento_auth]}.",
    )


def _refused(settings: Settings, exc: MagentoError) -> str:
    said = f"{exc.status}: {exc.magento_message.rstrip('.')}"
    if settings.magento_auth == "token":
        return (
            f"Magento refused the integration token ({said}). "
            "Since Magento 2.4.4 an integration token is refused as a Bearer token unless "
            "'Allow OAuth Access Tokens to be used as standalone Bearer tokens' is on."
        )
    if settings.magento_auth == "admin":
        return (
            f"Magento refused the admin sign-in ({exc.status}: {exc.magento_message.rstrip('.')})."
        )
    return f"Magento refused the OAuth signature ({said})."


def _sign_in_fix(settings: Settings) -> str:
    if settings.magento_auth == "token":
        return (
            f"In the Magento admin: {BEARER_SETTING}, then flush the cache; or sign in with "
            "OAuth (CPSYNC_MAGENTO_AUTH=oauth and the integration's four keys). Also check "
            "CPSYNC_MAGENTO_TOKEN (System > Extensions > Integrations)."
        )
    if settings.magento_auth == "admin":
        return (
            "Check CPSYNC_MAGENTO_ADMIN_USERNAME and CPSYNC_MAGENTO_ADMIN_PASSWORD (and "
            "CPSYNC_MAGENTO_ADMIN_TOTP_SECRET on a store with two-factor sign-in)."
        )
    return "Check the four CPSYNC_MAGENTO_OAUTH_* keys against the integration's."


def _first_sku(client: MagentoClient) -> str | None:
    try:
        answer = client.request(
            "GET", "products", endpoint="check.products", params=search_params([], 1)
        )
    except MagentoError:
        return None
    items = (answer or {}).get("items") or []
    return str(items[0]["sku"]) if items and items[0].get("sku") else None


def _probe(client: MagentoClient, method: str, path: str, **kw: Any) -> MagentoError | None:
    """The error when Magento refused the credentials, else None.

    None means the request got past the ACL (answered, or refused for another reason).
    """
    try:
        client.request(method, path, endpoint="check.acl", **kw)
    except MagentoAuthError as exc:
        return exc
    except MagentoRetryableError:
        raise
    except MagentoError:
        return None
    return None


def _acl(client: MagentoClient, settings: Settings, sku: str | None) -> list[Finding]:
    """One harmless read per ACL resource a writer needs."""
    one = search_params([], 1)
    probes: list[tuple[str, str, str, dict[str, Any]]] = [
        ("Catalog > Inventory > Categories", "GET", "categories/list", {"params": one}),
    ]
    if settings.stock_mode == "msi":
        probes.append(
            ("Stores > Inventory > Sources", "GET", "inventory/source-items", {"params": one})
        )
    if sku is not None:
        probes.append(
            (
                "Catalog > Inventory > Products (prices)",
                "POST",
                "products/base-prices-information",
                {"json": {"skus": [sku]}},
            )
        )
        probes.append(
            (
                "Catalog > Inventory > Products (images)",
                "GET",
                f"products/{sku_path(sku)}/media",
                {},
            )
        )
        if settings.stock_mode == "legacy":
            probes.append(
                ("Stores > Inventory (legacy stock)", "GET", f"stockItems/{sku_path(sku)}", {})
            )
    found: list[Finding] = []
    for label, method, path, kw in probes:
        refused = _probe(client, method, path, **kw)
        if refused is not None:
            found.append(_denied(settings, method, path, refused, label))
    if not found:
        who = _who(settings)
        tail = "" if sku else " (prices and images not probed: Magento has no product yet)"
        found.append(
            Finding(_AREA, "ok", f"{who.capitalize()} may read what the writers need{tail}.")
        )
    return found


def _who(settings: Settings) -> str:
    return "the admin user's role" if settings.magento_auth == "admin" else "the integration"


def _denied(settings: Settings, method: str, path: str, exc: MagentoError, label: str) -> Finding:
    """A read the sign-in may not make: the ACL resource to grant."""
    who = _who(settings)
    return Finding(
        _AREA,
        "blocking",
        f"Magento refused {method} /V1/{path} ({exc.status}): {who} lacks the resource {label}.",
        f"Grant {label} to {who} (System > Extensions > Integrations > API, or "
        "System > Permissions > User Roles > Role Resources), then check again.",
    )


def _store(client: MagentoClient, settings: Settings) -> list[Finding]:
    code = settings.magento_store_code
    if code == "all":
        return [Finding(_AREA, "ok", "Values are written for all store views (store code 'all').")]
    try:
        views = client.request("GET", "store/storeViews", endpoint="check.store", store="all")
    except MagentoError:
        # No such route, or no right to read it: the product search in that store answered.
        return [Finding(_AREA, "ok", f"The store view {code!r} answers.")]
    codes = [str(v.get("code")) for v in views or [] if isinstance(v, dict)]
    if code in codes:
        return [Finding(_AREA, "ok", f"The store view {code!r} exists.")]
    return [
        Finding(
            _AREA,
            "blocking",
            f"Magento has no store view {code!r} (it has {', '.join(codes) or 'none'}).",
            "Set CPSYNC_MAGENTO_STORE_CODE to one of them, or to 'all' for global values.",
        )
    ]


def _inventory(client: MagentoClient, settings: Settings) -> list[Finding]:
    """MSI present or not, the stock mode that fits, and the configured sources."""
    try:
        answer = client.request(
            "GET", "inventory/sources", endpoint="check.sources", params=search_params([], 200)
        )
    except MagentoAuthError as exc:
        return [_denied(settings, "GET", "inventory/sources", exc, "Stores > Inventory > Sources")]
    except MagentoError as exc:
        if exc.status != 404:
            raise
        if settings.stock_mode == "msi":
            return [
                Finding(
                    _AREA,
                    "blocking",
                    "Magento has no Multi-Source Inventory (GET /V1/inventory/sources: no such "
                    "route), and CPSYNC_STOCK_MODE is msi.",
                    "Set CPSYNC_STOCK_MODE=legacy (one stock item per SKU), or enable MSI.",
                )
            ]
        return [Finding(_AREA, "ok", "No Multi-Source Inventory; stock mode legacy fits.")]
    sources = {str(s.get("source_code")) for s in (answer or {}).get("items") or []}
    if settings.stock_mode == "legacy":
        return [
            Finding(
                _AREA,
                "warning",
                "Magento has Multi-Source Inventory, but CPSYNC_STOCK_MODE is legacy: only the "
                "default source is updated, one SKU per request.",
                "Set CPSYNC_STOCK_MODE=msi (bulk source items).",
            )
        ]
    wanted = _wanted_sources(settings)
    missing = sorted(set(wanted) - sources)
    if missing:
        return [
            Finding(
                _AREA,
                "blocking",
                f"Magento has no inventory source {', '.join(missing)} (it has "
                f"{', '.join(sorted(sources)) or 'none'}): stock cannot be written there.",
                "Create it in Stores > Inventory > Sources (and assign it to the website's "
                "stock), or set CPSYNC_STOCK_SOURCE_CODE (CPSYNC_STOCK_LOCATIONS with "
                "per-location sources) to an existing source.",
            )
        ]
    listed = ", ".join(wanted) if wanted else "every Counterpoint location"
    return [Finding(_AREA, "ok", f"Multi-Source Inventory is on; sources in use exist ({listed}).")]


def _wanted_sources(settings: Settings) -> list[str]:
    if settings.stock_sources == "single":
        return [settings.stock_source_code]
    return list(settings.stock_locations)


def _grid_attributes(
    client: MagentoClient, settings: Settings, facts: CounterpointFacts
) -> list[Finding]:
    """The dropdowns grid items become configurable products on: exist, select, global, in set."""
    from cpsync.tasks.items import attribute_code_for

    uses: dict[str, list[str]] = {}
    for tag in facts.grid_tags:
        uses.setdefault(attribute_code_for(tag, settings.grid_attributes), []).append(tag)
    for tag, code in settings.grid_attributes.items():
        uses.setdefault(code, []).append(tag)
    if not uses:
        return [Finding(_AREA, "ok", "No grid attribute to check (no e-commerce grid item).")]
    found: list[Finding] = []
    fix = (
        "Create it in Stores > Attributes > Product (Catalog Input Type: Dropdown, Scope: "
        f"Global) and add it to attribute set {settings.magento_attribute_set_id}, or map the "
        'tag to an existing dropdown: CPSYNC_GRID_ATTRIBUTES=\'{"<tag>": "<code>"}\'.'
    )
    good: list[str] = []
    for code, tags in sorted(uses.items()):
        label = f"{code!r} (grid tag {', '.join(sorted(set(tags)))})"
        try:
            attribute = client.request(
                "GET", f"products/attributes/{sku_path(code)}", endpoint="check.attribute"
            )
        except MagentoAuthError as exc:
            path = f"products/attributes/{code}"
            return [_denied(settings, "GET", path, exc, "Stores > Attributes > Product")]
        except MagentoError as exc:
            if exc.status != 404:
                raise
            found.append(Finding(_AREA, "blocking", f"Magento has no attribute {label}.", fix))
            continue
        problems = []
        if attribute.get("frontend_input") != "select":
            problems.append(f"is a {attribute.get('frontend_input')}, not a dropdown")
        if str(attribute.get("scope", "global")) != "global":
            problems.append(f"has scope {attribute.get('scope')}, not global")
        if problems:
            found.append(
                Finding(_AREA, "blocking", f"The attribute {label} {' and '.join(problems)}.", fix)
            )
        else:
            good.append(code)
    found += _attribute_set(client, settings, good, fix)
    return found


def _attribute_set(
    client: MagentoClient, settings: Settings, codes: list[str], fix: str
) -> list[Finding]:
    if not codes:
        return []
    set_id = settings.magento_attribute_set_id
    try:
        answer = client.request(
            "GET", f"products/attribute-sets/{set_id}/attributes", endpoint="check.attribute_set"
        )
    except MagentoAuthError:
        return []
    except MagentoError as exc:
        if _NO_ROUTE in exc.magento_message:
            return [
                Finding(
                    _AREA,
                    "ok",
                    f"{_attributes(codes)} global dropdowns (their place in "
                    f"attribute set {set_id} was not checked: this Magento does not list sets).",
                )
            ]
        return [
            Finding(
                _AREA,
                "blocking",
                f"Magento has no attribute set {set_id} ({exc.magento_message}).",
                "Set CPSYNC_MAGENTO_ATTRIBUTE_SET_ID to the set of new products "
                "(Stores > Attributes > Attribute Set; 4 is 'Default').",
            )
        ]
    in_set = {str(a.get("attribute_code")) for a in answer or [] if isinstance(a, dict)}
    outside = [c for c in codes if c not in in_set]
    if outside:
        return [
            Finding(
                _AREA,
                "blocking",
                f"Attribute set {set_id} lacks the grid attribute {', '.join(outside)}.",
                fix,
            )
        ]
    return [
        Finding(
            _AREA,
            "ok",
            f"{_attributes(codes)} global dropdowns in attribute set {set_id}.",
        )
    ]


def _attributes(codes: list[str]) -> str:
    if len(codes) == 1:
        return f"Grid attribute {codes[0]} is a"
    return f"Grid attributes {', '.join(codes)} are"


def _input_limits(client: MagentoClient, settings: Settings) -> list[Finding]:
    """Web API input limits: a page of 301 is refused when they are on.

    See docs/reference/magento.md#input-limits-and-hosting.
    """
    try:
        client.request(
            "GET", "products", endpoint="check.limits", params=search_params(_NOTHING, 301)
        )
    except MagentoError as exc:
        if exc.status != 400 or "pageSize" not in exc.magento_message:
            raise
        if settings.magento_input_limits:
            return [
                Finding(
                    _AREA,
                    "ok",
                    "Web API input limits are on, and cpsync sends at most "
                    f"{settings.bulk_size} rows per stock or price request.",
                )
            ]
        return [
            Finding(
                _AREA,
                "warning",
                f"Web API input limits are on ({exc.magento_message}; arrays of records at most "
                f"{settings.magento_max_items_per_request} items), but cpsync sends up to "
                f"{settings.bulk_size} rows per stock or price request: those would be refused.",
                "Set CPSYNC_MAGENTO_INPUT_LIMITS=true (and CPSYNC_MAGENTO_MAX_ITEMS_PER_REQUEST "
                "to the store's limit, 20 by default), or turn the limits off in Stores > "
                "Configuration > Services > Web API Limits.",
            )
        ]
    state = (
        "but CPSYNC_MAGENTO_INPUT_LIMITS is on (smaller requests)"
        if (settings.magento_input_limits)
        else f"cpsync sends up to {settings.bulk_size} rows per request"
    )
    return [Finding(_AREA, "ok", f"Web API input limits are off; {state}.")]
