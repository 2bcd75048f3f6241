"""Magento's import downloads new products' images from `cpsync serve` by signed links."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from cpsync.magento.image_links import ServeLinks, link_key
from cpsync.magento.importer import ProductImporter
from cpsync.magento.media import tag_of
from cpsync.model import ImageEntry

from .conftest import ApiServer


def test_given_a_signed_link_when_fetched_then_the_bytes_come_and_a_forged_or_old_one_is_404(
    api: ApiServer,
) -> None:
    digest = api.runtime.blobs.put(b"\x89PNG fake bytes")
    entry = ImageEntry(file="A.png", digest=digest, mime="image/png", name="A.png", position=1)
    links = ServeLinks(api.url, link_key(api.runtime.settings), minutes=1, clock=api.clock)
    url = links.url(entry)
    assert url.split("?")[0].endswith(f"-cp{digest[:12]}.png")
    anonymous = api.client()
    answer = anonymous.get(url)
    assert answer.status_code == 200 and answer.content == b"\x89PNG fake bytes"
    assert answer.headers["content-type"] == "image/png"
    assert anonymous.get(url.replace("sig=", "sig=0")).status_code == 404
    api.clock.advance(120)
    assert anonymous.get(url).status_code == 404


def test_given_a_public_url_when_new_products_are_imported_then_magento_downloads_their_images(
    make_api: Callable[..., ApiServer],
) -> None:
    # (child SKUs without "|", so grid parents are imported too, not saved after)
    api = make_api(magento_import="on", grid_sku_separator="-")
    runtime = api.runtime
    importer = runtime.writers["product"].importer  # type: ignore[attr-defined]
    assert isinstance(importer, ProductImporter)
    # GIVEN cpsync serve reachable by the store
    importer.links = ServeLinks(api.url, link_key(runtime.settings), clock=api.clock)
    # WHEN the first load runs
    for name in ("categories", "items"):
        runtime.task(name).run()
        runtime.updater.drain(max_wait_seconds=30)
    # THEN the images arrived through the import: no upload, and every gallery is ours
    stats = api.emulator.stats()
    assert stats["requests"]["import.json"] >= 2
    assert stats["requests"].get("media.create", 0) == 0
    galleries = {
        sku: product["media_gallery_entries"]
        for sku, product in api.emulator.store.products_by_sku().items()
        if product["media_gallery_entries"]
    }
    assert len(galleries) > 10
    # AND the galleries read back with the products need no GET each (only those that differ)
    assert stats["requests"].get("media.list", 0) < len(galleries) / 10
    assert all(tag_of(e["file"]) for entries in galleries.values() for e in entries)
    assert runtime.queue.dead_letters() == []
    # AND the Images task finds nothing left to send
    assert runtime.task("images").run().queued == 0
    headers = {"Authorization": f"Bearer {api.emulator.token}"}
    one = next(iter(galleries))
    listed = httpx.get(
        f"{api.emulator.rest_url}/all/V1/products/{one}/media", headers=headers
    ).json()
    assert [e["id"] for e in listed] == [e["id"] for e in galleries[one]]
