"""What the image writer sends, and how it recognises its own entries in Magento's list."""

from __future__ import annotations

import base64

from cpsync.magento.media import build_entry_payload, tag_of, upload_name
from cpsync.model import ImageEntry, ImageState

DIGEST = "0123456789ab" + "c" * 52


def _entry(**kw: object) -> ImageEntry:
    base: dict[str, object] = {
        "file": "MUG_12^Back View.JPG",
        "digest": DIGEST,
        "mime": "image/jpeg",
        "name": "MUG_12^Back View.jpg",
        "position": 2,
        "roles": (),
    }
    base.update(kw)
    return ImageEntry.model_validate(base)


def test_the_upload_name_is_safe_for_magento_and_tagged_with_the_content() -> None:
    assert upload_name(_entry()) == "mug_12_back_view-cp0123456789ab.jpg"


def test_a_long_source_name_is_cut_so_magento_takes_it_also_as_an_import_download() -> None:
    # Magento refuses a file name over 90 characters; its import adds 17 to a download's name
    entry = _entry(file="x" * 200 + ".jpeg", name="x" * 200 + ".jpeg")
    assert len(upload_name(entry)) + 17 <= 90
    assert tag_of(upload_name(entry)) == DIGEST[:12]


def test_the_tag_is_found_in_magentos_path_also_with_a_duplicate_suffix() -> None:
    assert tag_of("/m/u/mug_12_back_view-cp0123456789ab.jpg") == "0123456789ab"
    assert tag_of("/m/u/MUG_12_BACK_VIEW-CP0123456789AB_1.JPG") == "0123456789ab"
    assert tag_of("/h/a/hand-made.jpg") is None
    assert tag_of(None) is None


def test_the_tag_is_found_in_the_name_magentos_import_gives_a_downloaded_image() -> None:
    # Import\Uploader::downloadFileFromUrl adds "_" and 16 random characters, save() keeps
    # them (lower-cased), and a name already taken gets "_1" after them
    assert tag_of("/m/u/mug_12-cp0123456789ab_38gcempfkxxr8nmj.jpg") == "0123456789ab"
    assert tag_of("/m/u/mug_12-cp0123456789ab_38gcempfkxxr8nmj_1.jpg") == "0123456789ab"
    assert tag_of("/m/u/mug_12-cp0123456789ab_38gc.jpg") is None  # not the import's part


def test_a_create_carries_base64_content_and_an_update_does_not() -> None:
    create = build_entry_payload(_entry(roles=("image",)), b"\xff\xd8bytes")
    assert create["types"] == ["image"] and create["position"] == 2
    assert base64.b64decode(create["content"]["base64_encoded_data"]) == b"\xff\xd8bytes"
    assert create["content"]["type"] == "image/jpeg"
    assert "content" not in build_entry_payload(_entry(), None)


def test_a_gallery_survives_the_queue_with_the_same_fingerprint() -> None:
    state = ImageState(sku="MUG/12", images=(_entry(),))
    again = ImageState.model_validate(state.payload())
    assert again == state and again.fingerprint() == state.fingerprint()
    assert not ImageState(sku="MUG/12").publish_if_new()
