"""Direct-mode images end to end on one machine: the store's folder mirrored into an S3 prefix
(moto over HTTP), the deployed Image Changes and Items functions reading it through
`CPSYNC_IMAGES_DIR=s3://...`, the updater writing galleries into the Magento emulator."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cpsync import handlers
from cpsync.image_mirror import ImageMirror
from cpsync.image_source import FolderImages, S3Images

BUCKET = "store-images"
PREFIX = "ItemImages/"


def _gallery(env: Any, sku: str) -> list[tuple[str, list[str]]]:
    """(uploaded file stem without the content tag, roles) in position order."""
    product = env.emulator.store.find_by_sku(sku) or {}
    entries = sorted(product.get("media_gallery_entries", []), key=lambda e: e["position"])
    return [
        (re.sub(r"-cp[0-9a-f]{12}(_\d+)?\.\w+$", "", e["file"].rsplit("/", 1)[1]), e["types"])
        for e in entries
    ]


@pytest.fixture
def direct_mode(
    lambda_env: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[Any, ImageMirror, Path]:
    """The sample's folder mirrored into S3; the functions read only the prefix."""
    s3 = lambda_env.aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    folder = lambda_env.sample[0] / "ItemImages"
    mirror = ImageMirror(FolderImages(folder), S3Images(BUCKET, PREFIX, s3), tmp_path / "m.json")
    assert mirror.run().uploaded
    monkeypatch.setenv("CPSYNC_IMAGES_DIR", f"s3://{BUCKET}/{PREFIX}")
    return lambda_env, mirror, folder


def _run(load_function: Any, lambda_context: Any, task: str) -> dict[str, Any]:
    result: dict[str, Any] = load_function(task).handler({"manual": True}, lambda_context)
    return result


def test_given_images_in_an_s3_prefix_when_the_image_functions_run_then_magento_has_the_galleries(
    direct_mode: tuple[Any, ImageMirror, Path], load_function: Any, lambda_context: Any
) -> None:
    env, _, folder = direct_mode
    info = env.sample[1]
    folder.rename(folder.with_name("not-mounted"))  # the Lambda has no share

    found = _run(load_function, lambda_context, "image_changes")
    _run(load_function, lambda_context, "items")
    handlers.runtime().updater.drain(max_wait_seconds=5)
    _run(load_function, lambda_context, "images")
    handlers.runtime().updater.drain(max_wait_seconds=5)

    slash = _gallery(env, info.special["slash_item"])  # MUG/12: MUG_12.jpg, ^2, ^3
    assert [stem for stem, _ in slash] == ["mug_12", "mug_12_2", "mug_12_3"]
    assert slash[0][1] == ["image", "small_image", "thumbnail"]
    assert _gallery(env, info.special["custom_image_item"])[0][0] == "catalog-hero-01"
    with_images = [s for s in env.emulator.store.products_by_sku() if _gallery(env, s)]
    assert len(with_images) > 20
    (error,) = found["errors"]  # the sample's corrupt file, named
    assert info.special["corrupt_image"] in error and "corrupt" in error


def test_given_a_file_replaced_in_the_store_when_mirrored_then_only_it_is_prepared_again(
    direct_mode: tuple[Any, ImageMirror, Path], load_function: Any, lambda_context: Any
) -> None:
    env, mirror, folder = direct_mode
    info = env.sample[1]
    _run(load_function, lambda_context, "image_changes")
    _run(load_function, lambda_context, "items")
    handlers.runtime().updater.drain(max_wait_seconds=5)

    Image.new("RGB", (40, 30), (1, 2, 3)).save(folder / "MUG_12.jpg", "JPEG")
    os.utime(folder / "MUG_12.jpg", None)
    assert mirror.run().uploaded == ["MUG_12.jpg"]
    again = _run(load_function, lambda_context, "image_changes")
    handlers.runtime().updater.drain(max_wait_seconds=5)

    assert again["queued"] == 1  # the one gallery that holds the new file
    # Compared: its item (the object's size and ETag moved) and items Counterpoint changed in
    # the last minutes, not every gallery; a run after it no longer compares that item.
    third = _run(load_function, lambda_context, "image_changes")
    assert (third["read"], third["queued"]) == (again["read"] - 1, 0)
    full = load_function("image_changes").handler({"full": True}, lambda_context)
    assert (full["mode"], full["queued"]) == ("full", 0)
    assert full["read"] > 4 * again["read"]
    main = env.emulator.store.find_by_sku(info.special["slash_item"])["media_gallery_entries"]
    arrived = env.emulator.emulator.media.get(min(main, key=lambda e: e["position"])["file"])
    assert arrived.width == 40
