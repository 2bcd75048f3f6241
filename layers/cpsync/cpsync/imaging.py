"""Image preparation: what a file from the ItemImages folder becomes before it goes to Magento.

- The image is fully decoded, so a truncated, empty or corrupt file is caught here and reported
  by name instead of being uploaded (Pillow's `open` alone only reads the header). A
  decompression bomb (a small file that decodes to gigabytes, such as a 15,000 x 15,000 PNG)
  is refused from its header, before any pixel is decoded.
- EXIF orientation is applied: browsers and Magento's image cache ignore it, so a phone photo
  would show sideways.
- An image over the byte or pixel limit is shrunk (CP-Commerce skips files over 2 MB; a
  product without its photo is worse than a smaller photo).
- Formats Magento refuses (BMP, WebP) become PNG; JPEG, PNG and GIF keep their format.
- Files that need none of this are passed through byte for byte.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from cpsync.errors import DataError

__all__ = ["MAX_DECODE_PIXELS", "PreparedImage", "prepare_image"]

_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "GIF": ("image/gif", "gif")}
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class PreparedImage:
    """Bytes ready for Magento, with what was done to them."""

    data: bytes
    mime: str
    extension: str
    width: int
    height: int
    rotated: bool
    shrunk: bool


#: Larger images are refused undecoded: ~1 GB of RGBA pixels (Pillow warns at 89 M pixels).
MAX_DECODE_PIXELS = 100_000_000


def _decode(data: bytes, name: str) -> Image.Image:
    if not data:
        raise DataError(f"image file {name} is empty (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_DECODE_PIXELS:
            raise DataError(
                f"image file {name} is {image.width} x {image.height} pixels, over"
                f" {MAX_DECODE_PIXELS:,} (a decompression bomb?); save it smaller"
            )
        image.load()
    except Image.DecompressionBombError as exc:
        raise DataError(f"image file {name} is too large to decode ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"image file {name} is corrupt or not an image ({exc})") from exc
    return image


def _encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
    elif fmt == "GIF":
        image.save(out, "GIF")
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def prepare_image(
    data: bytes, name: str, max_bytes: int, max_pixels: int, quality: int = 85
) -> PreparedImage:
    """Decode, orient and (if needed) shrink one image file.

    Args:
        data: The file's bytes.
        name: The file name, for messages.
        max_bytes: Larger results are shrunk until they fit.
        max_pixels: Images with more pixels are scaled down to this many.
        quality: JPEG quality of re-encoded images.

    Raises:
        DataError: The file is corrupt, not an image, or cannot be made small enough.
    """
    image = _decode(data, name)
    source_format = image.format or "PNG"
    fmt = source_format if source_format in _FORMATS else "PNG"
    orientation = image.getexif().get(_ORIENTATION, 1)
    rotated = orientation not in (1, None)
    if rotated:
        image = ImageOps.exif_transpose(image)
    shrunk = False
    if image.width * image.height > max_pixels:
        scale = math.sqrt(max_pixels / (image.width * image.height))
        image = _scaled(image, scale)
        shrunk = True
    needs_encode = rotated or shrunk or fmt != source_format
    out = _encode(image, fmt, quality) if needs_encode else data
    attempts = 0
    while len(out) > max_bytes:
        attempts += 1
        if attempts > 12 or min(image.size) <= 16:
            raise DataError(f"image file {name} cannot be shrunk under {max_bytes} bytes")
        scale = max(0.3, min(0.9, math.sqrt(max_bytes / len(out)) * 0.95))
        image = _scaled(image, scale)
        shrunk = True
        out = _encode(image, fmt, quality)
    mime, extension = _FORMATS[fmt]
    return PreparedImage(out, mime, extension, image.width, image.height, rotated, shrunk)


def _scaled(image: Image.Image, scale: float) -> Image.Image:
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)
