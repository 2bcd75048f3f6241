"""Benchmark of the import's S3 image links (AWS): named copies one by one vs side by side.

`python -m bench.import_links [--images 500] [--endpoint URL]`: against moto server over HTTP by
default. Each image needs a HEAD, a CopyObject when its copy is absent, and a presigned URL
(no request). Baseline: `url()` image by image; measured: `prepare()` (16 at once) then `url()`;
then again with the copies there (HEADs only). moto answers in about a millisecond, S3 in
tens: `--latency-ms` (default 20) adds that wait before each S3 request, as a same-region
round trip. Printed and stored in bench/results/import_links.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cpsync.aws import S3Blobs
from cpsync.magento.image_links import S3Links
from cpsync.model import ImageEntry

RESULTS = Path(__file__).parent / "results" / "import_links.json"


def _entries(blobs: S3Blobs, count: int, tag: str) -> list[ImageEntry]:
    return [
        ImageEntry(
            file=f"{tag}{i}.jpg",
            digest=blobs.put(f"{tag} image {i}".encode()),
            mime="image/jpeg",
            name=f"{tag}{i}.jpg",
            position=1,
        )
        for i in range(count)
    ]


def _run(
    links: S3Links, entries: list[ImageEntry], prepare: bool, calls: Counter[str]
) -> dict[str, Any]:
    calls.clear()
    started = time.perf_counter()
    if prepare:
        links.prepare(entries)
    for entry in entries:
        links.url(entry)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "images_per_s": round(len(entries) / seconds), **calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--endpoint", help="an S3 endpoint to use instead of moto")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="added per S3 request")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    server = None
    endpoint = args.endpoint
    if endpoint is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=16))
        calls: Counter[str] = Counter()
        s3.meta.events.register("before-call.s3.*", lambda model, **_: calls.update([model.name]))
        s3.meta.events.register("before-send.s3.*", lambda **_: time.sleep(args.latency_ms / 1000))
        bucket = f"blobs-{int(time.time())}"
        s3.create_bucket(Bucket=bucket)
        blobs = S3Blobs(bucket, s3)
        presigner = boto3.client(
            "s3", endpoint_url=endpoint, config=Config(signature_version="s3v4")
        )
        one, other = _entries(blobs, args.images, "a"), _entries(blobs, args.images, "b")
        results = {
            "images": args.images,
            "latency_ms": args.latency_ms,
            "one_by_one": _run(S3Links(blobs, presigner=presigner), one, False, calls),
            "side_by_side": _run(S3Links(blobs, presigner=presigner), other, True, calls),
            "copies_there": _run(S3Links(blobs, presigner=presigner), other, True, calls),
        }
    finally:
        if server is not None:
            server.stop()
    print(json.dumps(results, indent=2))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
