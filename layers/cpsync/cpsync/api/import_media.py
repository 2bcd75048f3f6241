"""`GET /media/import/<digest>/<name>`: an image's bytes for Magento's import, by signed link.

Magento's import downloads the URLs of its image columns itself; it cannot sign in. The link
(made by `cpsync.magento.image_links.ServeLinks`) carries its own authorization: an expiry and
an HMAC over digest, name and expiry. Anything else is a 404, so the route tells a stranger
nothing about which images exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from cpsync.api.context import Ctx
from cpsync.magento.image_links import ROUTE, check_link, link_key
from cpsync.ports import BlobNotFound

__all__ = ["router"]

router = APIRouter()

_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


@router.get(ROUTE + "/{digest}/{name}", include_in_schema=False)
def image(
    digest: str,
    name: str,
    expires: Annotated[int, Query()],
    sig: Annotated[str, Query(max_length=64)],
    ctx: Ctx,
) -> Response:
    """The image bytes when the link is genuine and unexpired.

    Raises:
        HTTPException: 404 for a wrong, expired or unknown link.
    """
    key = link_key(ctx.runtime.settings)
    if not check_link(key, digest, name, expires, sig, ctx.clock()):
        raise HTTPException(404, "Not Found")
    try:
        data = ctx.runtime.blobs.get(digest)
    except BlobNotFound:
        raise HTTPException(404, "Not Found") from None
    kind = _TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=300"})
