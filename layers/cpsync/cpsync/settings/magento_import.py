"""Settings of the section "Magento: the import of a first load" of `docs/configuration.md`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from cpsync.settings._section import SettingsSection

__all__ = ["MagentoImportSettings"]


class MagentoImportSettings(SettingsSection):
    """When new products go through Magento's import, in files of how many rows and images."""

    section_title: ClassVar[str] = "Magento: the import of a first load"
    section_intro: ClassVar[str] = (
        "New products of a large run go through Magento's import (`POST /V1/import/json`) "
        "instead of one save each ([how](magento.md#a-first-load-through-magentos-import))."
    )

    magento_import: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Create new products through Magento's import: auto (when the store answers"
        " the import route and a batch or its run has more than CPSYNC_MAGENTO_IMPORT_MIN new"
        " products), on (whenever the route answers), off (never; one product save each).",
        examples=["off"],
    )
    magento_import_min: int = Field(
        default=500,
        ge=0,
        description="New products a batch, or the run that queued it, needs (more than this)"
        " before auto uses the import.",
        examples=[2000],
    )
    magento_import_rows: int = Field(
        default=5000, ge=1, le=100_000, description="Rows per import request.", examples=[2000]
    )
    magento_import_stock_min: int = Field(
        default=0,
        ge=0,
        description="Source item rows a stock batch needs before it goes through Magento's"
        " stock_sources import (one request per CPSYNC_MAGENTO_IMPORT_ROWS rows) instead of"
        " the bulk endpoint; 0: never. The import saves requests, not Magento's work per row"
        " ([figures](benchmarks.md#stock-through-the-import)).",
        examples=[20000],
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL at which the Magento server reaches `cpsync serve`: the import"
        " then names each image by a signed, expiring link Magento downloads (allow the store's"
        " address in CPSYNC_API_ALLOWED_IPS). Unset: images are uploaded after the import (in"
        " AWS, where the blobs are in S3, the import's links are presigned S3 links instead).",
        examples=["https://cpsync.example.com"],
    )
    magento_import_images: int = Field(
        default=500,
        ge=1,
        description="Image links per import request: Magento downloads each inside the request,"
        " so a file with images is cut short of CPSYNC_MAGENTO_IMPORT_ROWS to stay well within"
        " the web server's timeout.",
        examples=[200],
    )
    magento_import_image_minutes: float = Field(
        default=60.0,
        gt=0,
        le=360,
        description="How long an image link of an import stays valid (a presigned S3 link"
        " in AWS, a signed cpsync serve link on one machine); at most 6 hours, so a link never"
        " outlives the copy it points at.",
        examples=[30],
    )
