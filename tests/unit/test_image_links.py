"""Which links the import's image columns carry, by where cpsync runs."""

from __future__ import annotations

from pathlib import Path

from cpsync.embedded import LocalBlobs
from cpsync.magento.image_links import ServeLinks, links_from_settings
from cpsync.settings import Settings


def test_given_one_machine_when_the_store_can_reach_cpsync_then_serve_links_else_none(
    tmp_path: Path,
) -> None:
    blobs = LocalBlobs(tmp_path)
    reachable = Settings(public_url="https://cpsync.example.com", magento_token="t")
    links = links_from_settings(reachable, blobs)
    assert isinstance(links, ServeLinks) and links.base_url == "https://cpsync.example.com"
    assert links_from_settings(Settings(magento_token="t"), blobs) is None
