"""Image source contract: the folder and the S3 prefix list, read and detect changes alike.

The S3 adapter runs against moto server over HTTP (`aws` fixture); the folder against a real
temporary folder. A `Files` helper writes a file the way the store would (a save into the
folder, an upload into the prefix).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cpsync.errors import ConfigurationError
from cpsync.image_source import FolderImages, ImageSource, S3Images, parse_s3_url


@dataclass
class Files:
    """Writes and removes files where the adapter under test reads them."""

    source: ImageSource
    folder: Path | None = None
    s3: Any = None
    bucket: str = ""
    prefix: str = ""
    tick: int = 1_700_000_000

    def put(self, name: str, data: bytes) -> None:
        if self.folder is not None:
            path = self.folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.tick += 7  # a later save has a later mtime, however fast the test runs
            os.utime(path, ns=(self.tick * 10**9, self.tick * 10**9))
        else:
            self.s3.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=data)

    def remove(self, name: str) -> None:
        if self.folder is not None:
            (self.folder / name).unlink()
        else:
            self.s3.delete_object(Bucket=self.bucket, Key=self.prefix + name)


@pytest.fixture(params=["folder", "s3"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Files]:
    if request.param == "s3":
        stack = request.getfixturevalue("aws")
        s3 = stack.client("s3")
        s3.create_bucket(Bucket="store-images")
        source = S3Images("store-images", "ItemImages/", s3, page_size=2)
        yield Files(source, s3=s3, bucket="store-images", prefix="ItemImages/")
        return
    folder = tmp_path / "ItemImages"
    folder.mkdir()
    yield Files(FolderImages(folder), folder=folder)


def test_given_files_when_listed_then_each_has_its_name_size_and_a_version(files: Files) -> None:
    files.put("ITEM-1.jpg", b"x" * 10)
    files.put("ITEM-1^RED.png", b"y" * 3)
    files.put("notes.txt", b"not an image, listed anyway")
    files.put("old/ITEM-2.jpg", b"a sub-folder is not read")

    listing = files.source.list()

    assert sorted(listing) == ["ITEM-1.jpg", "ITEM-1^RED.png", "notes.txt"]
    assert listing["ITEM-1.jpg"].size == 10 and listing["ITEM-1^RED.png"].size == 3
    assert all(entry.version and entry.modified > 0 for entry in listing.values())
    assert files.source.read("ITEM-1^RED.png") == b"y" * 3


def test_given_a_scan_when_a_file_is_rewritten_then_only_that_file_moved(files: Files) -> None:
    files.put("A.jpg", b"first")
    files.put("B.jpg", b"same")
    before = files.source.list()
    docs = {name: files.source.stamp(entry) for name, entry in before.items()}

    files.put("A.jpg", b"other")  # same size, new bytes
    after = files.source.list()

    assert not files.source.unchanged(after["A.jpg"], docs["A.jpg"])
    assert files.source.unchanged(after["B.jpg"], docs["B.jpg"])
    assert not files.source.unchanged(after["B.jpg"], None)
    assert files.source.read("A.jpg") == b"other"


def test_given_a_removed_file_when_read_then_file_not_found(files: Files) -> None:
    files.put("GONE.jpg", b"bytes")
    files.remove("GONE.jpg")
    assert "GONE.jpg" not in files.source.list()
    with pytest.raises(FileNotFoundError):
        files.source.read("GONE.jpg")
    with pytest.raises(FileNotFoundError):
        files.source.read("../secrets.jpg")


def test_given_an_unreadable_source_when_listed_then_configuration_error(
    files: Files, tmp_path: Path
) -> None:
    if files.folder is not None:
        source: ImageSource = FolderImages(tmp_path / "not-mounted")
    else:
        source = S3Images("no-such-bucket", "ItemImages/", files.s3)
    with pytest.raises(ConfigurationError, match="cannot be"):
        source.list()


def test_the_folder_keeps_the_scan_docs_a_store_already_has(tmp_path: Path) -> None:
    """Scan docs written before the port existed (`size` + `mtime_ns`) still match."""
    (tmp_path / "A.jpg").write_bytes(b"abc")
    stat = (tmp_path / "A.jpg").stat()
    source = FolderImages(tmp_path)
    old_doc = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "digest": "d" * 64}
    assert source.unchanged(source.list()["A.jpg"], old_doc)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket/ItemImages/", ("bucket", "ItemImages/")),
        ("s3://bucket/store/1/ItemImages", ("bucket", "store/1/ItemImages/")),
        ("s3://bucket", ("bucket", "")),
        ("S3://bucket/", ("bucket", "")),
    ],
)
def test_s3_urls_name_a_bucket_and_a_folder_like_prefix(url: str, expected: Any) -> None:
    assert parse_s3_url(url) == expected


def test_an_s3_url_without_a_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="no bucket"):
        parse_s3_url("s3:///ItemImages/")
