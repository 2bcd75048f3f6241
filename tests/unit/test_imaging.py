"""Image preparation: corrupt files named, EXIF orientation applied, big images shrunk."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from cpsync.errors import DataError
from cpsync.imaging import prepare_image


def _jpeg(size: tuple[int, int], noise: bool = False, exif: Image.Exif | None = None) -> bytes:
    if noise:
        rng = random.Random(3)
        img = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    else:
        img = Image.new("RGB", size, (200, 10, 10))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, exif=exif or Image.Exif())
    return buf.getvalue()


def test_a_plain_image_within_limits_is_passed_through_unchanged() -> None:
    data = _jpeg((50, 40))
    out = prepare_image(data, "A.jpg", 2_000_000, 1_000_000)
    assert out.data == data
    assert (out.mime, out.width, out.height, out.rotated, out.shrunk) == (
        "image/jpeg",
        50,
        40,
        False,
        False,
    )


def test_a_truncated_file_is_reported_by_name() -> None:
    data = _jpeg((120, 120), noise=True)
    with pytest.raises(DataError, match=r"image file BROKEN\.jpg is corrupt"):
        prepare_image(data[: len(data) // 2], "BROKEN.jpg", 2_000_000, 1_000_000)


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    out = prepare_image(_jpeg((120, 80), exif=exif), "S.jpg", 2_000_000, 1_000_000)
    assert (out.width, out.height, out.rotated) == (80, 120, True)
    assert Image.open(io.BytesIO(out.data)).getexif().get(0x0112, 1) == 1


def test_an_image_over_the_byte_limit_is_shrunk_not_skipped() -> None:
    data = _jpeg((600, 600), noise=True)
    out = prepare_image(data, "BIG.jpg", len(data) // 3, 10_000_000)
    assert out.shrunk and len(out.data) <= len(data) // 3
    assert out.width < 600


def test_an_image_over_the_pixel_limit_is_scaled_down() -> None:
    out = prepare_image(_jpeg((400, 300)), "WIDE.jpg", 2_000_000, 30_000)
    assert out.shrunk and out.width * out.height <= 30_000
    assert abs(out.width / out.height - 4 / 3) < 0.05


def test_a_bmp_becomes_png_because_magento_refuses_bmp() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, "BMP")
    out = prepare_image(buf.getvalue(), "A.bmp", 2_000_000, 1_000_000)
    assert (out.mime, out.extension) == ("image/png", "png")


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("EMPTY.jpg", b"", "empty"),
        ("HALF.jpg", _jpeg((64, 64))[:300], "corrupt"),
    ],
)
def test_empty_and_truncated_files_are_errors_naming_the_file(
    name: str, data: bytes, words: str
) -> None:
    with pytest.raises(DataError, match=words) as caught:
        prepare_image(data, name, 2_000_000, 1_000_000)
    assert name in str(caught.value)


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded() -> None:
    buf = io.BytesIO()
    Image.new("1", (15000, 15000)).save(buf, "PNG")
    assert len(buf.getvalue()) < 1_000_000  # small on disk, 225 M pixels decoded
    with pytest.raises(DataError, match=r"BOMB\.png"):
        prepare_image(buf.getvalue(), "BOMB.png", 2_000_000, 1_000_000)
