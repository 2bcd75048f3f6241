"""The image mirror against moto over HTTP: the store's folder goes up to the S3 prefix the
direct-mode Lambdas read, only what moved, and what was deleted in the folder goes away."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from cpsync.cli import main
from cpsync.errors import ConfigurationError
from cpsync.image_mirror import ImageMirror
from cpsync.image_source import FolderImages, S3Images

BUCKET = "store-images"
PREFIX = "shop-1/ItemImages/"


def _save(folder: Path, name: str, data: bytes, at: int) -> None:
    (folder / name).write_bytes(data)
    os.utime(folder / name, ns=(at * 10**9, at * 10**9))


def _in_s3(s3: Any) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX).get("Contents", [])
    return {
        o["Key"][len(PREFIX) :]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
        for o in listed
    }


@pytest.fixture
def store(aws: Any, tmp_path: Path) -> tuple[Path, Any, ImageMirror]:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    folder = tmp_path / "ItemImages"
    folder.mkdir()
    _save(folder, "ITEM-1.jpg", b"one", 1_700_000_000)
    _save(folder, "ITEM-1^RED.png", b"red", 1_700_000_000)
    _save(folder, "ITEM-2.gif", b"two", 1_700_000_000)
    _save(folder, "Thumbs.db", b"not an image", 1_700_000_000)
    mirror = ImageMirror(
        FolderImages(folder), S3Images(BUCKET, PREFIX, s3), tmp_path / "mirror.json"
    )
    return folder, s3, mirror


def test_given_a_folder_when_mirrored_twice_then_images_go_up_once(
    store: tuple[Path, Any, ImageMirror],
) -> None:
    _, s3, mirror = store

    first = mirror.run()
    second = mirror.run()

    assert sorted(first.uploaded) == ["ITEM-1.jpg", "ITEM-1^RED.png", "ITEM-2.gif"]
    assert _in_s3(s3) == {"ITEM-1.jpg": b"one", "ITEM-1^RED.png": b"red", "ITEM-2.gif": b"two"}
    head = s3.head_object(Bucket=BUCKET, Key=PREFIX + "ITEM-1.jpg")
    assert head["Metadata"] == {"mtime-ns": str(1_700_000_000 * 10**9)}
    assert (second.uploaded, second.deleted, second.unchanged) == ([], [], 3)


def test_given_a_mirror_when_one_file_is_saved_again_then_only_it_goes_up(
    store: tuple[Path, Any, ImageMirror],
) -> None:
    folder, s3, mirror = store
    mirror.run()

    _save(folder, "ITEM-1.jpg", b"new", 1_700_000_100)  # same size, later mtime
    _save(folder, "ITEM-2.gif", b"two", 1_700_000_000)  # rewritten, nothing moved
    result = mirror.run()

    assert result.uploaded == ["ITEM-1.jpg"] and result.unchanged == 2
    assert _in_s3(s3)["ITEM-1.jpg"] == b"new"


def test_given_a_mirror_when_a_file_is_deleted_in_the_store_then_it_is_deleted_in_s3(
    store: tuple[Path, Any, ImageMirror],
) -> None:
    folder, s3, mirror = store
    mirror.run()

    (folder / "ITEM-1^RED.png").unlink()
    result = mirror.run()

    assert result.deleted == ["ITEM-1^RED.png"] and result.uploaded == []
    assert sorted(_in_s3(s3)) == ["ITEM-1.jpg", "ITEM-2.gif"]


def test_given_an_object_changed_in_s3_when_mirrored_then_the_store_copy_wins(
    store: tuple[Path, Any, ImageMirror],
) -> None:
    _, s3, mirror = store
    mirror.run()
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "ITEM-2.gif", Body=b"edited by hand")

    assert mirror.run().uploaded == ["ITEM-2.gif"]
    assert _in_s3(s3)["ITEM-2.gif"] == b"two"


@pytest.mark.parametrize("what", ["not mounted", "empty"])
def test_given_a_share_that_is_not_there_when_mirrored_then_nothing_is_deleted(
    store: tuple[Path, Any, ImageMirror], what: str
) -> None:
    folder, s3, mirror = store
    mirror.run()
    for path in folder.iterdir():
        path.unlink()
    if what == "not mounted":
        folder.rmdir()

    with pytest.raises(ConfigurationError, match=r"Nothing was deleted|No image was changed"):
        mirror.run()
    assert len(_in_s3(s3)) == 3


def test_the_mirror_images_command_mirrors_once(
    aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    folder = tmp_path / "ItemImages"
    folder.mkdir()
    _save(folder, "ITEM-9.jpg", b"nine", 1_700_000_000)
    monkeypatch.setenv("CPSYNC_IMAGES_DIR", str(folder))
    monkeypatch.setenv("CPSYNC_IMAGES_MIRROR_URL", f"s3://{BUCKET}/{PREFIX}")
    monkeypatch.setenv("CPSYNC_IMAGES_MIRROR_STATE", str(tmp_path / "mirror.json"))

    assert main(["mirror-images", "--once"]) == 0

    assert json.loads(capsys.readouterr().out)["uploaded"] == 1
    assert _in_s3(s3) == {"ITEM-9.jpg": b"nine"}


def test_the_mirror_images_command_needs_the_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CPSYNC_IMAGES_MIRROR_URL", raising=False)
    assert main(["mirror-images", "--once"]) == 2


def test_the_agent_with_mirror_images_mirrors_once_beside_its_turn(
    aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cpsync.aws import DynamoState
    from cpsync.control import set_automatic_sync

    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    folder = tmp_path / "ItemImages"
    folder.mkdir()
    _save(folder, "ITEM-9.jpg", b"nine", 1_700_000_000)
    set_automatic_sync(DynamoState(aws.table, aws.client("dynamodb")), False)  # no task is due
    for name, value in {
        "CPSYNC_QUEUE_URL": aws.queue_url,
        "CPSYNC_TABLE_NAME": aws.table,
        "CPSYNC_BUCKET": aws.bucket,
        "CPSYNC_IMAGES_DIR": str(folder),
        "CPSYNC_IMAGES_MIRROR_URL": f"s3://{BUCKET}/{PREFIX}",
        "CPSYNC_IMAGES_MIRROR_STATE": str(tmp_path / "mirror.json"),
    }.items():
        monkeypatch.setenv(name, value)

    assert main(["agent", "--once", "--mirror-images"]) == 0

    done = json.loads(capsys.readouterr().out)
    assert done == [{"mirror_images": {"uploaded": 1, "deleted": 0, "unchanged": 0, "failed": {}}}]
    assert _in_s3(s3) == {"ITEM-9.jpg": b"nine"}
