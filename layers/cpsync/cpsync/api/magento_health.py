"""The dashboard's Magento card.

Does Magento answer, does cpsync's sign-in work, when did a write last succeed, how old is
the oldest queued Change.

One small product search (a filter nothing matches) with one attempt and a short budget, so
the card answers in seconds even when Magento is down; the API's function writes Magento
anyway (sign-in asks it), so the probe runs in the request, not as a job. The last successful
write is noted by the updater (`cpsync.updater.LAST_WRITE`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends

from cpsync.api import schemas as S
from cpsync.api.context import Ctx, require_user
from cpsync.errors import ConfigurationError
from cpsync.magento.client import MagentoClient, RetryPolicy, search_params
from cpsync.magento.errors import MagentoAuthError, MagentoError, MagentoRetryableError
from cpsync.redact import describe
from cpsync.settings import Settings
from cpsync.updater import LAST_WRITE

__all__ = ["probe_magento", "router"]

router = APIRouter(prefix="/api", dependencies=[Depends(require_user)], responses=S.ERRORS)

_NOTHING = [[("sku", "cpsync-health-matches-nothing", "eq")]]
ProbeAnswer = tuple[bool | None, bool | None, str]


def _plain(message: str) -> str:
    """Magento's or the network's words, without errno numbers."""
    lowered = message.lower()
    if "connection refused" in lowered:
        return "the connection was refused (is Magento running?)"
    if "timed out" in lowered or "timeout" in lowered:
        return "it did not answer in time"
    if "name or service not known" in lowered or "nodename" in lowered:
        return "its address is not known (check CPSYNC_MAGENTO_URL)"
    if "<html" in lowered or "not a magento answer" in lowered:
        return "it answered with a web page, not its API (maintenance mode?)"
    return message


def probe_magento(settings: Settings) -> ProbeAnswer:
    """(reachable, signed in, a sentence): one cheap request, one attempt, never raises."""
    try:
        client = MagentoClient.from_settings(settings)
    except ConfigurationError as exc:
        return None, False, f"cpsync cannot sign in to Magento: {describe(exc)}."
    client.retry = RetryPolicy(max_attempts=1, budget_seconds=5.0, base_seconds=0.1)
    with client:
        try:
            client.request(
                "GET", "products", endpoint="health.products", params=search_params(_NOTHING, 1)
            )
        except MagentoAuthError as exc:
            return True, False, f"Magento refused cpsync's sign-in ({exc.status}): run Setup check."
        except MagentoRetryableError as exc:
            return False, None, f"Magento does not answer: {_plain(exc.magento_message)}."
        except MagentoError as exc:
            return True, None, f"Magento answered {exc.status}: {_plain(exc.magento_message)}."
    return True, True, "Magento answers and cpsync's sign-in works."


@router.get(
    "/magento",
    summary="Magento health: reachable, sign-in, last successful write, queue age",
    response_model=S.MagentoHealth,
)
def magento_health(ctx: Ctx) -> dict[str, Any]:
    runtime = ctx.runtime
    zone = runtime.settings.zone
    if runtime.writes_magento:
        reachable, signed_in, detail = probe_magento(runtime.settings)
    else:
        reachable, signed_in, detail = None, None, "Magento is written from the cloud, not here."
    depth = runtime.queue.depth()
    last = runtime.state.get_option(LAST_WRITE)
    waiting = depth.visible + depth.in_flight + depth.delayed
    return {
        "ok": bool(reachable and signed_in) if reachable is not None else None,
        "reachable": reachable,
        "signed_in": signed_in,
        "detail": detail,
        "checked_at": datetime.fromtimestamp(ctx.clock(), UTC).astimezone(zone).isoformat(),
        "last_write": datetime.fromisoformat(last).astimezone(zone).isoformat() if last else None,
        "waiting": waiting,
        "oldest_age_seconds": depth.oldest_age_seconds if waiting else 0.0,
    }
