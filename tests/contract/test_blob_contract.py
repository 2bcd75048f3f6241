"""Blob port contract: content-addressed, idempotent, clear about what is missing."""

from __future__ import annotations

import pytest

from cpsync.ports import BlobNotFound, BlobPort


def test_put_returns_sha256_and_get_returns_the_bytes(blobs: BlobPort) -> None:
    data = b"\xff\xd8\xff image bytes"
    digest = blobs.put(data)
    assert digest == BlobPort.digest(data) and len(digest) == 64
    assert blobs.exists(digest)
    assert blobs.get(digest) == data
    assert blobs.put(data) == digest  # storing again is a no-op


def test_missing_blob_is_reported(blobs: BlobPort) -> None:
    missing = BlobPort.digest(b"never stored")
    assert not blobs.exists(missing)
    with pytest.raises(BlobNotFound):
        blobs.get(missing)
    with pytest.raises(BlobNotFound):
        blobs.get("../../etc/passwd")
