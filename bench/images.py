"""Image benchmark: `python -m bench.images --items 1000 10000 100000` (printed, not asserted).

For each size: a sample database, and an ItemImages folder where every e-commerce item has a
small main image (the sample itself gives images to its first 300 items only). Measured:
- Image Changes, first run: every file listed, prepared, stored as a blob; next to its floor
  from the same run, reading and hashing every file and nothing else;
- Image Changes, unchanged rerun: files listed and compared with the scan memory, none hashed;
  next to its floor, listing the folder with its sizes and times;
- Image Changes after 1% of the files changed: only those hashed;
- the pushes of the first run through the updater into the emulator, whose media cost grows
  with the image size (products created first, without images); sizes over `--push-limit`
  skip this part (minutes of HTTP at 100,000).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from cpsync.ports import AppliedRecord
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import generate
from cpsync_sample.images import image_stem


def _fill_folder(folder: Path, item_nos: tuple[str, ...]) -> int:
    written = 0
    for n, item_no in enumerate(item_nos):
        path = folder / f"{image_stem(item_no)}.jpg"
        if path.exists():
            continue
        buf = io.BytesIO()
        Image.new("RGB", (64, 48), (n % 251, (n // 251) % 251, 90)).save(buf, "JPEG")
        path.write_bytes(buf.getvalue())
        written += 1
    return written


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _floors(folder: Path) -> dict[str, float]:
    """What any scan must cost: listing with sizes and times, and reading + hashing each file."""
    started = time.perf_counter()
    with os.scandir(folder) as entries:
        names = [(e.name, e.stat().st_size) for e in entries if e.is_file()]
    listing = time.perf_counter() - started
    started = time.perf_counter()
    for name, _ in names:
        hashlib.sha256((folder / name).read_bytes()).hexdigest()
    return {
        "listing_seconds": round(listing, 3),
        "read_and_hash_seconds": round(time.perf_counter() - started, 3),
    }


def _push(runtime: Runtime, emulator: EmulatorHandle) -> dict[str, Any]:
    """Drain the queued galleries into the emulator."""
    started = time.perf_counter()
    drained = runtime.updater.drain(max_wait_seconds=5)
    seconds = time.perf_counter() - started
    media = {k: v for k, v in emulator.stats()["requests"].items() if k.startswith("media")}
    return {"galleries": drained.applied, "seconds": round(seconds, 3), "media_requests": media}


def run(items: int, push_limit: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        info = generate(root / "cp", items=items)
        folder = info.image_dir
        _fill_folder(folder, info.ecommerce_item_nos)
        _say(f"{items} items: sample and image folder ready")
        files = sorted(folder.iterdir())
        config = EmulatorConfig(costs_ms={"products.save": 0.0}, kb_costs_ms={"media.create": 0.02})
        with running_emulator(config) as emulator:
            values: dict[str, Any] = {
                "counterpoint_url": info.database_url,
                "state_url": f"sqlite:///{root}/state.db",
                "blobs_dir": root / "blobs",
                "magento_url": emulator.url,
                "magento_token": emulator.token,
            }
            # The products go up first, without images (no image folder for this runtime).
            # Over --push-limit they are only recorded as online in state, as the product
            # writer would (creating 100,000 products over HTTP is not what is measured here).
            products = Runtime(load_settings(**values, images_dir=root / "no-images-yet"))
            try:
                products.task("items").run()
                if items <= push_limit:
                    products.writers["product"].galleries = None  # type: ignore[attr-defined]
                    products.updater.drain(max_wait_seconds=5)
                else:
                    sent = products.state.get_sent("product")
                    online = {k: AppliedRecord("bench", fp) for k, fp in sent.items()}
                    products.state.put_applied("product", online)
            finally:
                products.close()
            _say(f"{items} items: products online")
            runtime = Runtime(load_settings(**values, images_dir=folder))
            try:
                figures: dict[str, Any] = {"items": items, "image_files": len(files)}
                figures["floors"] = _floors(folder)
                task = runtime.task("image_changes")
                for label, touch in (("first", 0), ("unchanged", 0), ("one_percent", 1)):
                    for path in files[: len(files) * touch // 100]:
                        os.utime(path, None)
                    started = time.perf_counter()
                    result = task.run()
                    _say(f"{items} items: image changes {label} done")
                    figures[f"image_changes_{label}"] = {
                        "seconds": round(time.perf_counter() - started, 3),
                        "skus_read": result.read,
                        "queued": result.queued,
                        "files_prepared": task.hashed,  # type: ignore[attr-defined]
                    }
                figures["push"] = (
                    _push(runtime, emulator)
                    if items <= push_limit
                    else "skipped (over --push-limit)"
                )
            finally:
                runtime.close()
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, nargs="+", default=[1000])
    parser.add_argument("--push-limit", type=int, default=10_000)
    args = parser.parse_args()
    out = Path(__file__).parent / "results" / "images.json"
    for items in args.items:
        figures = run(items, args.push_limit)
        print(json.dumps(figures, indent=1), flush=True)
        # Keep the figures of other sizes from earlier runs; a size measured now replaces its
        # own. Written after each size, so a long run keeps what it has measured.
        earlier = json.loads(out.read_text()) if out.exists() else []
        merged = {row["items"]: row for row in [*earlier, figures]}
        out.write_text(json.dumps([merged[n] for n in sorted(merged)], indent=1) + "\n")


if __name__ == "__main__":
    main()
