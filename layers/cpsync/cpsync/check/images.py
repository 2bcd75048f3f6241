"""`cpsync check`, images: the folder (or S3 prefix) is readable, its files, and the orphans.

An orphan is an image file named after no e-commerce item (Counterpoint's naming rules,
`counterpoint/images.py`): it is never sent, and is usually a typo or an item that left
e-commerce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cpsync.check import Area, Finding
from cpsync.counterpoint.images import split_name
from cpsync.errors import CpsyncError
from cpsync.redact import describe

if TYPE_CHECKING:
    from cpsync.check.counterpoint import CounterpointFacts
    from cpsync.runtime import Runtime

__all__ = ["SHOWN", "check_images", "orphans"]

_AREA: Area = "images"
#: Orphan names a finding shows.
SHOWN = 5


def orphans(names: list[str], facts: CounterpointFacts) -> list[str]:
    """Image files that no e-commerce item's name or ECOMM_IMG_FILE matches, sorted."""
    lonely = []
    for name in sorted(names):
        parts = split_name(name)
        if parts is None:
            continue
        if parts[0] in facts.item_stems or name.lower() in facts.image_files:
            continue
        lonely.append(name)
    return lonely


def check_images(runtime: Runtime, facts: CounterpointFacts) -> list[Finding]:
    """Every image finding."""
    try:
        source = runtime.images
        listing = source.list()
    except CpsyncError as exc:
        return [
            Finding(
                _AREA,
                "blocking",
                f"The images cannot be read: {describe(exc)}.",
                "Set CPSYNC_IMAGES_DIR to the ItemImages folder (a path this machine can read) "
                "or to the s3:// prefix the store's images are mirrored to.",
            )
        ]
    names = list(listing)
    images = [n for n in names if split_name(n) is not None]
    other = len(names) - len(images)
    where = source.location
    if not images:
        return [
            Finding(
                _AREA,
                "warning",
                f"{where} holds no image ({len(names)} files): no item will get a picture.",
                "Check CPSYNC_IMAGES_DIR: it should be Counterpoint's ItemImages folder.",
            )
        ]
    found = [
        Finding(
            _AREA,
            "ok",
            f"{where} is readable: {len(images)} images"
            + (f" ({other} other files ignored)" if other else "")
            + ".",
        )
    ]
    if not facts.read:
        found.append(
            Finding(
                _AREA,
                "warning",
                "Which images match no item was not checked: Counterpoint was not read.",
                "Fix the Counterpoint findings first.",
            )
        )
        return found
    lonely = orphans(images, facts)
    if lonely:
        shown = ", ".join(lonely[:SHOWN]) + (", ..." if len(lonely) > SHOWN else "")
        found.append(
            Finding(
                _AREA,
                "warning",
                f"{len(lonely)} of {len(images)} images match no e-commerce item and are never "
                f"sent: {shown}.",
                "Name each after its item (<ITEM_NO>.jpg, or <ITEM_NO>^<anything>.jpg for more "
                "images), set the item up for e-commerce, or remove the file.",
            )
        )
    else:
        found.append(Finding(_AREA, "ok", "Every image is named after an e-commerce item."))
    return found
