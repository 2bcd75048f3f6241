"""`CPSYNC_IMAGES_DIR` names a folder or an S3 prefix, and the wiring picks the adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpsync.errors import ConfigurationError
from cpsync.image_source import FolderImages, S3Images, image_source
from cpsync.settings import load_settings


def test_given_an_s3_url_when_loaded_then_it_is_kept_whole_and_read_from_s3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CPSYNC_IMAGES_DIR", "s3://store-images/shop 1/ItemImages/")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = load_settings()
    assert settings.images_dir == "s3://store-images/shop 1/ItemImages/"  # not folded to s3:/
    source = image_source(settings)
    assert isinstance(source, S3Images)
    assert (source.bucket, source.prefix) == ("store-images", "shop 1/ItemImages/")


def test_given_a_folder_when_loaded_then_it_is_a_path_read_from_the_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CPSYNC_IMAGES_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.images_dir == tmp_path
    assert isinstance(image_source(settings), FolderImages)


@pytest.mark.parametrize("name", ["CPSYNC_IMAGES_DIR", "CPSYNC_IMAGES_MIRROR_URL"])
def test_an_s3_url_without_a_bucket_stops_start_up_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "s3:///ItemImages/")
    with pytest.raises(ConfigurationError, match=name):
        load_settings()


def test_an_empty_images_dir_as_the_stack_passes_it_means_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CPSYNC_IMAGES_DIR", "")
    assert load_settings().images_dir == Path(".demo/ItemImages")
