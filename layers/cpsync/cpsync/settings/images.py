"""Settings of the section "Images" of `docs/configuration.md`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BeforeValidator, Field, field_validator

from cpsync.settings._section import DEMO_DIR, SettingsSection

__all__ = ["FolderOrS3", "ImageSettings"]


def _folder_or_s3(value: object) -> object:
    """Keep an `s3://bucket/prefix/` URL as text (a Path would fold its `//`).

    Other text is a folder, and empty text (the stack's empty `ImagesDir`) means unset.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return DEMO_DIR / "ItemImages"
        if text.lower().startswith("s3://"):
            if not text[5:].split("/", 1)[0]:
                raise ValueError(f"{value!r} names no bucket; write s3://bucket/prefix/")
            return text
        return Path(text)
    return value


#: A folder, or an S3 prefix as `s3://bucket/prefix/` text.
FolderOrS3 = Annotated[Path | str, BeforeValidator(_folder_or_s3)]


class ImageSettings(SettingsSection):
    """The ItemImages folder, image preparation and the S3 mirror."""

    section_title: ClassVar[str] = "Images"
    section_intro: ClassVar[str] = (
        "The ItemImages folder, how images are prepared, and the S3 mirror of direct mode "
        "([rules](sync-rules.md#images), [direct mode](deploy-aws.md#images-in-direct-mode))."
    )

    images_dir: FolderOrS3 = Field(
        default=DEMO_DIR / "ItemImages",
        description="The Counterpoint ItemImages folder (or its mirror), or an S3 prefix "
        "`s3://bucket/prefix/` the store fills (direct mode in AWS).",
        examples=[r"C:\CPSQL.1\Toplevel\DEMOGOLF\Configuration\ItemImages"],
    )
    blobs_dir: Path = Field(
        default=DEMO_DIR / "blobs",
        description="Folder of the local blob store (prepared image bytes by sha256).",
        examples=["/var/lib/cpsync/blobs"],
    )
    image_max_bytes: int = Field(
        default=2_000_000,
        ge=10_000,
        description="Images larger than this are shrunk to fit (CP-Commerce skips them instead).",
        examples=[5000000],
    )
    image_max_pixels: int = Field(
        default=12_000_000,
        ge=10_000,
        description="Images with more pixels are scaled down.",
        examples=[25000000],
    )
    image_jpeg_quality: int = Field(
        default=85,
        ge=30,
        le=100,
        description="JPEG quality of re-encoded (rotated or shrunk) images.",
        examples=[90],
    )
    images_mirror_url: str | None = Field(
        default=None,
        description="S3 prefix `s3://bucket/prefix/` that `cpsync mirror-images` (or `cpsync "
        "agent --mirror-images`) fills from `CPSYNC_IMAGES_DIR`: the stack's `ImagesDir`.",
        examples=["s3://store-images/itemimages/"],
    )
    images_mirror_minutes: float = Field(
        default=10,
        gt=0,
        description="Minutes between two mirrors of the image folder.",
        examples=[5],
    )
    images_mirror_state: Path = Field(
        default=DEMO_DIR / "image-mirror.json",
        description="File where the mirror remembers the size and mtime it uploaded per file.",
        examples=[r"C:\ProgramData\cpsync\image-mirror.json"],
    )

    @field_validator("images_mirror_url")
    @classmethod
    def _s3_prefix(cls, value: str | None) -> str | None:
        if value is not None and not (
            value.strip().lower().startswith("s3://") and value.strip()[5:].split("/", 1)[0]
        ):
            raise ValueError(f"{value!r} is not an S3 prefix; write s3://bucket/prefix/")
        return value.strip() if value else value
