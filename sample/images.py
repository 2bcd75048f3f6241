"""Pixel work for the sample ItemImages folder.

Why a separate module: `generate` decides *which* files exist (that is what tests care about);
this module only turns a seeded RNG into small, deterministic image bytes. Pillow's encoders are
deterministic for a given Pillow build, so the same RNG state gives byte-identical files.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw

__all__ = [
    "EXIF_ORIENTATION",
    "write_big_noise",
    "write_corrupt",
    "write_plain",
    "write_sideways",
    "write_swatch",
]

#: EXIF tag number of Orientation; value 6 means "rotate 90° clockwise to display".
EXIF_ORIENTATION = 0x0112

_BIG_SIDE = 1024  # 1024² noise at quality 95 without chroma subsampling is ~2.5 MB


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


def _shape_image(rng: random.Random, size: tuple[int, int] | None = None) -> Image.Image:
    """A solid background with one ellipse or rectangle: tiny to encode, easy to tell apart."""
    if size is None:
        size = (rng.randint(64, 200), rng.randint(64, 200))
    img = Image.new("RGB", size, _colour(rng))
    w, h = size
    box = (w // 5, h // 5, w - w // 5, h - h // 5)
    draw = ImageDraw.Draw(img)
    if rng.random() < 0.5:
        draw.ellipse(box, fill=_colour(rng))
    else:
        draw.rectangle(box, fill=_colour(rng))
    return img


def _touch(path: Path, mtime: int) -> None:
    """Fixed mtimes: image-change detection keys on size/mtime, so they must be reproducible."""
    os.utime(path, (mtime, mtime))


def write_plain(path: Path, rng: random.Random, mtime: int) -> None:
    """An ordinary product photo stand-in; the format follows the file extension (.jpg/.png)."""
    img = _shape_image(rng)
    if path.suffix.lower() == ".png":
        img.save(path, "PNG")
    else:
        img.save(path, "JPEG", quality=85)
    _touch(path, mtime)


def write_swatch(path: Path, colour_name: str, rng: random.Random, mtime: int) -> None:
    """A per-colour grid image (`ITEM^YELLOW.jpg`) filled with that colour when Pillow knows it."""
    try:
        fill = ImageColor.getrgb(colour_name.lower())
    except ValueError:
        fill = _colour(rng)
    img = Image.new("RGB", (96, 96), fill)
    ImageDraw.Draw(img).ellipse((24, 24, 72, 72), fill=(255, 255, 255))
    img.save(path, "JPEG", quality=85)
    _touch(path, mtime)


def write_sideways(path: Path, mtime: int) -> None:
    """A portrait picture stored landscape with EXIF Orientation 6, as phone cameras write them.

    Displayed correctly (after `ImageOps.exif_transpose`) it is 80x120 with a red bar along the
    top edge; read naively it is 120x80 with the bar down the left side.
    """
    display = Image.new("RGB", (80, 120), (240, 240, 240))
    draw = ImageDraw.Draw(display)
    draw.rectangle((0, 0, 79, 19), fill=(220, 0, 0))
    draw.polygon([(40, 35), (65, 100), (15, 100)], fill=(0, 90, 200))
    stored = display.transpose(Image.Transpose.ROTATE_90)  # undone by orientation 6
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    stored.save(path, "JPEG", quality=90, exif=exif)
    _touch(path, mtime)


def write_big_noise(path: Path, rng: random.Random, mtime: int) -> None:
    """A >2 MB JPEG of random noise, to exercise upload size limits and resizing."""
    noise = rng.randbytes(_BIG_SIDE * _BIG_SIDE * 3)
    img = Image.frombytes("RGB", (_BIG_SIDE, _BIG_SIDE), noise)
    img.save(path, "JPEG", quality=95, subsampling=0)
    _touch(path, mtime)


def write_corrupt(path: Path, rng: random.Random, mtime: int) -> None:
    """A JPEG cut off half way, like a copy interrupted mid-file.

    The headers are intact, so `Image.open` succeeds; `load()` fails with "image file is
    truncated". A sync must decode the image (not just sniff it) before uploading.
    """
    img = Image.frombytes("RGB", (160, 160), rng.randbytes(160 * 160 * 3))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    data = buf.getvalue()
    path.write_bytes(data[: len(data) // 2])
    _touch(path, mtime)
