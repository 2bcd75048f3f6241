"""Store route: ``GET /V1/store/storeViews`` (``StoreRepositoryInterface::getList``).

Every store of the topology, the admin store (id 0, website 0) first, as Magento's store
repository lists them. Endpoint name ``store.views``; ACL resource ``Magento_Backend::store``.
"""

from __future__ import annotations

from typing import Any

from cpsync_emulator.routing import RestRequest, Route

__all__ = ["routes"]

STORE_RESOURCE = "Magento_Backend::store"


def list_store_views(request: RestRequest) -> list[dict[str, Any]]:
    """``GET /V1/store/storeViews``: admin, then each store view."""
    views = [
        {"id": 0, "code": "admin", "name": "Admin", "website_id": 0, "store_group_id": 0,
         "is_active": 1},
    ]  # fmt: skip
    for view in request.emulator.topology.views.values():
        views.append(
            {
                "id": view.store_id,
                "code": view.code,
                "name": view.code.capitalize(),
                "website_id": view.website_id,
                "store_group_id": 1,
                "is_active": 1,
            }
        )
    return views


def routes() -> list[Route]:
    """The store route of ``Magento/Store/etc/webapi.xml`` this emulator serves."""
    return [Route("GET", "/V1/store/storeViews", "store.views", list_store_views, STORE_RESOURCE)]
