"""The sample ItemImages folder: which files exist, and their (deterministic) pixels.

Naming follows docs/reference/counterpoint.md#images: `<ITEM_NO>.jpg` main image,
`<ITEM_NO>^<n>.jpg` extra images, `<ITEM_NO>^<DIM_1_UPR>.jpg` per-colour grid images, with
characters illegal in file names replaced by '_' (`MUG/12` -> `MUG_12.jpg`). Pillow's encoders are
deterministic for a given Pillow build, so the same RNG state gives byte-identical files; mtimes are
set from `now`.
"""

from __future__ import annotations

import io
import os
import random
from collections import defaultdict
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw

from cpsync_sample.common import Clock, stream
from cpsync_sample.items import ItemSpec

__all__ = [
    "EXIF_ORIENTATION",
    "IMAGE_ITEM_LIMIT",
    "ORPHAN_IMAGE",
    "image_stem",
    "write_item_images",
]

#: Only the first this-many e-commerce items get images, so 100k-item samples stay fast.
IMAGE_ITEM_LIMIT = 300
#: An image whose item does not exist.
ORPHAN_IMAGE = "RETIRED-999.jpg"

#: EXIF tag number of Orientation; value 6 means "rotate 90° clockwise to display".
EXIF_ORIENTATION = 0x0112

_BIG_SIDE = 1024  # 1024² noise at quality 95 without chroma subsampling is ~2.5 MB


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


def _shape_image(rng: random.Random) -> Image.Image:
    """A solid background with one ellipse or rectangle: tiny to encode, easy to tell apart."""
    w, h = rng.randint(64, 200), rng.randint(64, 200)
    img = Image.new("RGB", (w, h), _colour(rng))
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


def _write_plain(path: Path, rng: random.Random, mtime: int) -> None:
    """An ordinary product photo stand-in; the format follows the file extension (.jpg/.png)."""
    img = _shape_image(rng)
    if path.suffix.lower() == ".png":
        img.save(path, "PNG")
    else:
        img.save(path, "JPEG", quality=85)
    _touch(path, mtime)


def _write_swatch(path: Path, colour_name: str, rng: random.Random, mtime: int) -> None:
    """A per-colour grid image (`ITEM^YELLOW.jpg`) filled with that colour when Pillow knows it."""
    try:
        fill = ImageColor.getrgb(colour_name.lower())
    except ValueError:
        fill = _colour(rng)
    img = Image.new("RGB", (96, 96), fill)
    ImageDraw.Draw(img).ellipse((24, 24, 72, 72), fill=(255, 255, 255))
    img.save(path, "JPEG", quality=85)
    _touch(path, mtime)


def _write_sideways(path: Path, mtime: int) -> None:
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


def _write_big_noise(path: Path, rng: random.Random, mtime: int) -> None:
    """A >2 MB JPEG of random noise, to exercise upload size limits and resizing."""
    noise = rng.randbytes(_BIG_SIDE * _BIG_SIDE * 3)
    img = Image.frombytes("RGB", (_BIG_SIDE, _BIG_SIDE), noise)
    img.save(path, "JPEG", quality=95, subsampling=0)
    _touch(path, mtime)


def _write_corrupt(path: Path, rng: random.Random, mtime: int) -> None:
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


def image_stem(item_no: str) -> str:
    """File-name stem of an item's images: characters illegal in file names become '_'.

    Counterpoint itself drops such characters; connectors (CP-Commerce,
    docs/reference/counterpoint.md#images) use '_'. The sample follows the '_' convention: `MUG/12`
    -> `MUG_12`.
    """
    return "".join("_" if ch in '/\\:*?"<>|' else ch for ch in item_no)


def write_item_images(
    image_dir: Path, specs: list[ItemSpec], clock: Clock, seed: int
) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """Fill `image_dir`; return ITEM_NO -> its file names, and special key -> file name.

    About 88% of the first IMAGE_ITEM_LIMIT active e-commerce items get a main image and ~15%
    an extra `^2` image; role items get exactly their case (PNG, sideways, >2 MB, corrupt,
    custom ECOMM_IMG_FILE next to the default, none at all); grid items get colour images.
    """
    rng = stream(seed, "images")
    files: dict[str, list[str]] = defaultdict(list)

    def mtime() -> int:
        return clock.epoch - rng.randint(60, 30 * 86_400)

    def add(spec: ItemSpec, name: str) -> Path:
        files[spec.item_no].append(name)
        return image_dir / name

    for spec in [s for s in specs if s.is_product][:IMAGE_ITEM_LIMIT]:
        stem = image_stem(spec.item_no)
        role = spec.role or ""
        if role == "no_image_item" or (not role and rng.random() < 0.12):
            continue
        if role == "png_image_item":
            _write_plain(add(spec, f"{stem}.png"), rng, mtime())
        elif role == "sideways_image_item":
            _write_sideways(add(spec, f"{stem}.jpg"), mtime())
        elif role == "big_image_item":
            _write_big_noise(add(spec, f"{stem}.jpg"), stream(seed, "big-image"), mtime())
        elif role == "corrupt_image_item":
            _write_corrupt(add(spec, f"{stem}.jpg"), rng, mtime())
        else:
            _write_plain(add(spec, f"{stem}.jpg"), rng, mtime())
        if spec.ecomm_img_file:  # both exist, so which one a sync picked is visible
            _write_plain(add(spec, spec.ecomm_img_file), rng, mtime())
        extras = 2 if role == "slash_item" else 1 if not role and rng.random() < 0.15 else 0
        for n in range(2, 2 + extras):
            _write_plain(add(spec, f"{stem}^{n}.jpg"), rng, mtime())
        for colour in spec.dims[0][1] if spec.dims else ():
            _write_swatch(add(spec, f"{stem}^{colour.upper()}.jpg"), colour, rng, mtime())
    _write_plain(image_dir / ORPHAN_IMAGE, rng, mtime())

    stems = {spec.role: image_stem(spec.item_no) for spec in specs if spec.role}
    special = {
        "sideways_image": f"{stems['sideways_image_item']}.jpg",
        "big_image": f"{stems['big_image_item']}.jpg",
        "corrupt_image": f"{stems['corrupt_image_item']}.jpg",
        "png_image": f"{stems['png_image_item']}.png",
        "slash_image": f"{stems['slash_item']}.jpg",
        "extra_image": f"{stems['slash_item']}^2.jpg",
        "grid_image": f"{stems['grid_2d_item']}^YELLOW.jpg",
        "custom_image": next(s.ecomm_img_file for s in specs if s.ecomm_img_file),
        "orphan_image": ORPHAN_IMAGE,
    }
    return {item_no: tuple(sorted(names)) for item_no, names in files.items()}, special
