"""In AWS, Magento's import downloads new products' images from presigned S3 links (moto)."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import pytest
from PIL import Image

from cpsync import handlers
from cpsync.magento.image_links import REFRESH_SECONDS, S3_PREFIX, S3Links
from cpsync.magento.importer import ProductImporter
from cpsync.magento.media import tag_of
from cpsync.model import ImageEntry


@pytest.fixture
def importing(lambda_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The deployed environment with the import always on (no minimum)."""
    monkeypatch.setenv("CPSYNC_MAGENTO_IMPORT", "on")
    # (child SKUs without "|", so grid parents are imported too, not saved after)
    monkeypatch.setenv("CPSYNC_GRID_SKU_SEPARATOR", "-")
    handlers.reset()
    return lambda_env


def test_given_blobs_in_s3_when_new_products_are_imported_then_magento_downloads_their_images(
    importing: Any,
) -> None:
    env = importing
    runtime = handlers.runtime()
    importer = runtime.writers["product"].importer  # type: ignore[attr-defined]
    assert isinstance(importer, ProductImporter) and isinstance(importer.links, S3Links)
    # WHEN the first load runs
    for name in ("categories", "items"):
        runtime.task(name).run()
        runtime.updater.drain(max_wait_seconds=30)
    # THEN the images arrived through the import: no upload, and every gallery is ours
    stats = env.emulator.stats()
    assert stats["requests"]["import.json"] >= 1
    assert stats["requests"].get("media.create", 0) == 0
    galleries = {
        sku: product["media_gallery_entries"]
        for sku, product in env.emulator.store.products_by_sku().items()
        if product["media_gallery_entries"]
    }
    assert len(galleries) > 10
    files = [e["file"] for entries in galleries.values() for e in entries]
    assert all(tag_of(f) and f.rsplit(".", 1)[-1] in ("jpg", "jpeg", "png", "gif") for f in files)
    assert runtime.queue.dead_letters() == []
    # AND the named copies sit under the prefix the bucket expires, one per image
    s3 = env.aws.client("s3")
    listed = s3.list_objects_v2(Bucket=env.aws.bucket, Prefix=S3_PREFIX).get("Contents", [])
    assert len(listed) == len({tag_of(f) for f in files})
    assert all(o["Key"].count("/") == 2 and "." in o["Key"].rsplit("/", 1)[1] for o in listed)
    # AND the Images task finds nothing left to send
    assert runtime.task("images").run().queued == 0


def test_given_a_blob_when_linked_twice_then_one_named_copy_and_short_lived_sigv4_links(
    importing: Any,
) -> None:
    env = importing
    blobs = handlers.runtime().blobs
    digest = blobs.put(b"\x89PNG fake bytes")
    entry = ImageEntry(file="A B.PNG", digest=digest, mime="image/png", name="A B.PNG", position=1)
    url = S3Links(blobs, minutes=5).url(entry)  # type: ignore[arg-type]
    # Magento names the download from the path's last segment and checks its extension
    path, query = url.split("?", 1)
    assert path.endswith(f"/{S3_PREFIX}{digest}/a_b-cp{digest[:12]}.png")
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in query and "X-Amz-Expires=300" in query
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.content == b"\x89PNG fake bytes"
    assert answer.headers["content-type"] == "image/png"
    # A second process links the same image: the copy is there, nothing is copied again
    # (the blob itself is gone, so a copy would fail)
    s3 = env.aws.client("s3")
    s3.delete_object(Bucket=env.aws.bucket, Key=blobs.object_key(digest))  # type: ignore[attr-defined]
    again = S3Links(blobs)  # type: ignore[arg-type]
    assert httpx.get(again.url(entry)).content == b"\x89PNG fake bytes"
    (only,) = s3.list_objects_v2(Bucket=env.aws.bucket, Prefix=S3_PREFIX)["Contents"]
    assert only["Key"] == f"{S3_PREFIX}{digest}/a_b-cp{digest[:12]}.png"


def test_given_a_copy_half_a_day_old_when_linked_then_it_is_made_again_so_the_link_outlives_it(
    importing: Any,
) -> None:
    """The bucket deletes a copy a day after it is made: a warm Lambda must not link one
    about to go (Magento's download would fail with a 404 halfway through the import)."""
    env = importing
    blobs = handlers.runtime().blobs
    digest = blobs.put(b"bytes")
    entry = ImageEntry(file="a.jpg", digest=digest, mime="image/jpeg", name="a.jpg", position=1)
    links = S3Links(blobs)  # type: ignore[arg-type]
    links.url(entry)
    s3 = env.aws.client("s3")
    key = f"{S3_PREFIX}{digest}/a-cp{digest[:12]}.jpg"
    made = s3.head_object(Bucket=env.aws.bucket, Key=key)["LastModified"]
    time.sleep(1.1)  # S3 keeps LastModified to the second

    later = time.time() + REFRESH_SECONDS + 60
    links.clock = lambda: later  # the same warm process, half a day on
    assert httpx.get(links.url(entry)).content == b"bytes"
    assert s3.head_object(Bucket=env.aws.bucket, Key=key)["LastModified"] > made

    # The blob is gone by then too: the old copy is still linked, not the record failed.
    s3.delete_object(Bucket=env.aws.bucket, Key=blobs.object_key(digest))  # type: ignore[attr-defined]
    much_later = later + REFRESH_SECONDS + 60
    again = S3Links(blobs, clock=lambda: much_later)  # type: ignore[arg-type]
    assert httpx.get(again.url(entry)).content == b"bytes"


def test_given_a_blob_gone_when_links_are_prepared_then_the_others_are_copied_and_it_is_named(
    importing: Any,
) -> None:
    env = importing
    blobs = handlers.runtime().blobs
    entries = [
        ImageEntry(
            file=f"{n}.jpg",
            digest=blobs.put(n.encode()),
            mime="image/jpeg",
            name=f"{n}.jpg",
            position=1,
        )
        for n in ("kept", "gone", "also")
    ]
    s3 = env.aws.client("s3")
    s3.delete_object(Bucket=env.aws.bucket, Key=blobs.object_key(entries[1].digest))  # type: ignore[attr-defined]
    links = S3Links(blobs)  # type: ignore[arg-type]

    links.prepare(entries)

    listed = s3.list_objects_v2(Bucket=env.aws.bucket, Prefix=S3_PREFIX)["Contents"]
    assert sorted(o["Key"].rsplit("/", 1)[1][:4] for o in listed) == ["also", "kept"]
    assert httpx.get(links.url(entries[0])).content == b"kept"
    with pytest.raises(Exception, match=r"NoSuchKey|404"):
        links.url(entries[1])


def test_given_an_image_with_a_long_file_name_when_imported_then_magento_accepts_the_link(
    importing: Any,
) -> None:
    env = importing
    folder, info = env.sample
    # GIVEN a fourth image of MUG/12 whose name is long (Magento refuses a file name over 90
    # characters, and its import adds 17 to the name of a download)
    long_name = "MUG_12^" + "back view of the mug in the evening light " * 3 + ".jpg"
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(picture, "JPEG")
    (folder / "ItemImages" / long_name).write_bytes(picture.getvalue())
    runtime = handlers.runtime()
    # WHEN the first load runs
    for name in ("categories", "items"):
        runtime.task(name).run()
        runtime.updater.drain(max_wait_seconds=30)
    # THEN the long-named image came through the import too: no upload, no row refused
    gallery = env.emulator.store.find_by_sku(info.special["slash_item"])["media_gallery_entries"]
    assert len(gallery) == 4 and all(tag_of(e["file"]) for e in gallery)
    assert env.emulator.stats()["requests"].get("media.create", 0) == 0
    assert runtime.queue.dead_letters() == []
