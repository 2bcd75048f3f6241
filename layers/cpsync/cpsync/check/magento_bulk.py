"""`cpsync check`, Magento's bulk machinery: the async bulk consumer and the import routes.

Each probe writes nothing: one bulk of one product save Magento refuses (an empty SKU), and an
import of no rows per entity.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cpsync.check import Area, Finding
from cpsync.magento.bulk import BULK_CONSUMER
from cpsync.magento.client import MagentoClient
from cpsync.magento.errors import MagentoError

if TYPE_CHECKING:
    from cpsync.runtime import Runtime
    from cpsync.settings import Settings

__all__ = ["BULK_PROBE_SECONDS", "bulk_consumer_runs", "bulk_findings", "import_findings"]

logger = logging.getLogger(__name__)

_AREA: Area = "magento"

#: How long the check waits for its bulk operation to leave "open".
BULK_PROBE_SECONDS = 20.0
_OPEN = 4


def bulk_consumer_runs(client: MagentoClient, wait: float | None = None) -> bool | None:
    """Whether the store's async bulk consumer works operations off (None: no async bulk).

    Submits one bulk of one product save with an empty SKU: the consumer fails it ("The sku
    attribute value is empty") and nothing is saved; its status moving away from open (4)
    within `wait` seconds says the consumer runs.
    """
    probe = [{"product": {"sku": "", "name": "cpsync check (never saved: empty SKU)"}}]
    try:
        answer = client.request(
            "POST", "products", endpoint="bulk.submit", json=probe, prefix="async/bulk"
        )
    except MagentoError:
        return None
    uuid = str((answer or {}).get("bulk_uuid") or "")
    if not uuid:
        return None
    deadline = time.monotonic() + (BULK_PROBE_SECONDS if wait is None else wait)
    while True:
        status = client.request("GET", f"bulk/{uuid}/status", endpoint="bulk.status")
        operations = (status or {}).get("operations_list") or []
        if any(int(op.get("status") or _OPEN) != _OPEN for op in operations):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def bulk_findings(client: MagentoClient, settings: Settings, runtime: Runtime) -> list[Finding]:
    """Whether the async bulk consumer runs, remembered in state for the product writer.

    The answer is kept as the option `magento.bulk_consumer`: a first load of many new products
    goes through async bulk only once a check saw the consumer work.
    """
    try:
        runs = bulk_consumer_runs(client)
    except MagentoError as exc:
        runs = None
        logger.info("async bulk probe failed: %s", exc)
    if runs is not None:
        runtime.state.set_option(BULK_CONSUMER, {"runs": runs, "at": datetime.now(UTC).isoformat()})
    if runs:
        state = "on" if settings.magento_bulk_products else "off"
        return [
            Finding(
                _AREA,
                "ok",
                "The async bulk consumer runs (a test operation was worked off); "
                f"CPSYNC_MAGENTO_BULK_PRODUCTS is {state}.",
            )
        ]
    why = (
        "Magento has no async bulk API (Magento_WebapiAsync off?)"
        if runs is None
        else f"the async bulk consumer did not work a test operation off in "
        f"{BULK_PROBE_SECONDS:g} s"
    )
    if not settings.magento_bulk_products:
        return [Finding(_AREA, "ok", f"{why.capitalize()}; cpsync saves products one by one.")]
    return [
        Finding(
            _AREA,
            "warning",
            f"{why.capitalize()}, and CPSYNC_MAGENTO_BULK_PRODUCTS is on: bulk product saves "
            f"wait {settings.magento_bulk_wait:g} s and are retried.",
            "On the Magento server, make sure cron runs the consumers "
            "(`bin/magento queue:consumers:list` shows async.operations.all; "
            "cron_consumers_runner in app/etc/env.php), or set "
            "CPSYNC_MAGENTO_BULK_PRODUCTS=false.",
        )
    ]


def import_findings(client: MagentoClient, settings: Settings) -> list[Finding]:
    """Whether the store answers POST /V1/import/json, and for which entities (no rows sent)."""
    from cpsync.magento.importer import ENTITIES, import_available

    if settings.magento_import == "off":
        return [Finding(_AREA, "ok", "Magento's import is not used (CPSYNC_MAGENTO_IMPORT=off).")]
    accepted: list[str] = []
    for entity in ENTITIES:
        try:
            answers, said = import_available(client, entity)
        except MagentoError as exc:
            return [
                Finding(
                    _AREA,
                    "warning",
                    f"Magento refused the import route ({exc.status}: {exc.magento_message}); "
                    "new products are saved one request each.",
                    "Give the integration the resource Magento_ImportExport::import "
                    "(System > Data Transfer > Import) for a fast first load.",
                )
            ]
        if not answers and "no import route" in said:
            return [
                Finding(
                    _AREA,
                    "ok",
                    "The store has no import route (Magento_ImportCsvApi, 2.4.7+): new "
                    "products are saved one request each, a large first load takes longer.",
                )
            ]
        if answers:
            accepted.append(entity)
    if "catalog_product" not in accepted:
        return [
            Finding(
                _AREA,
                "warning",
                "The import route refuses catalog_product: new products are saved one each.",
            )
        ]
    when = (
        "for every batch of new products"
        if settings.magento_import == "on"
        else f"when a batch has more than {settings.magento_import_min} new products"
    )
    stock = (
        f" Stock batches of {settings.magento_import_stock_min} source items or more go through"
        " stock_sources."
        if "stock_sources" in accepted and settings.magento_import_stock_min
        else ""
    )
    return [
        Finding(
            _AREA,
            "ok",
            f"Magento's import answers (entities: {', '.join(accepted)}); new products go "
            f"through it {when}.{stock}",
        )
    ]
