"""`python -m cpsync_sample --items 200 --seed 7 --out DIR`: write a sample database and images.

Prints one summary line, so scripts (demo, benchmarks) can log what they generated.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cpsync_sample.generate import MIN_ITEMS, generate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cpsync_sample", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--items", type=int, default=200, help=f"IM_ITEM rows (>= {MIN_ITEMS})")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument(
        "--now",
        type=datetime.fromisoformat,
        default=None,
        help="ISO time the data is relative to, e.g. 2024-11-04T10:15-05:00; naive means UTC",
    )
    args = parser.parse_args(argv)
    if args.items < MIN_ITEMS:
        parser.error(f"--items must be at least {MIN_ITEMS}")
    started = time.perf_counter()
    info = generate(args.out, items=args.items, seed=args.seed, now=args.now)
    seconds = time.perf_counter() - started
    images = sum(1 for path in info.image_dir.iterdir() if path.is_file())
    sys.stdout.write(
        f"{info.db_path}: {info.items} items ({len(info.ecommerce_item_nos)} e-commerce, "
        f"{len(info.grid_item_nos)} grid), {images} images in {info.image_dir.name}/, "
        f"now={info.now_local:%Y-%m-%d %H:%M:%S} America/New_York, seed={info.seed}, "
        f"{seconds:.1f}s\n"
    )
    for note in info.notes:
        sys.stdout.write(f"note: {note}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
