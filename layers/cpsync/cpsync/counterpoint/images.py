r"""Counterpoint's image naming: which files of the ItemImages folder belong to which SKU.

Rules (docs/reference/counterpoint.md#images), all case-insensitive:
- `ITEM_NO.ext` is the main image; with several files without `^`, the alphabetically first one
  is the main image and the others are extra images.
- `ITEM_NO^anything.ext` files are extra images of the item, in name order.
- `ITEM_NO^<grid value>.ext`, where the value is one of the item's grid dimension values, goes
  to every grid child with that value (as its image and swatch), not to the parent.
- `IM_ITEM.ECOMM_IMG_FILE` names the main image instead of `ITEM_NO.ext` when that file exists;
  the other `^`-less files of the item are then not used.
- Characters not allowed in file names (`\ / : * ? " < > |`) are replaced by `_` in the stem
  (CP-Commerce) or dropped (Counterpoint); both stems are tried.

Pure functions only: no folder, database or Magento access, so every rule has a unit test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAIN_ROLES",
    "SWATCH_ROLES",
    "FolderIndex",
    "GridCell",
    "ImagePlan",
    "ItemImages",
    "PlannedImage",
    "item_stems",
    "plan_item_images",
    "split_name",
]

#: Extensions taken as images; other files in the folder are ignored.
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "bmp", "webp"})
#: Roles of a product's main image.
MAIN_ROLES = ("image", "small_image", "thumbnail")
#: Roles of a grid child's colour image: its own main image, and the swatch.
SWATCH_ROLES = ("image", "small_image", "thumbnail", "swatch_image")

_ILLEGAL = '\\/:*?"<>|'


def item_stems(item_no: str) -> tuple[str, ...]:
    """Lower-case file-name stems an item's images may use: `_` for illegal characters, or none."""
    replaced = "".join("_" if ch in _ILLEGAL else ch for ch in item_no).lower()
    dropped = "".join(ch for ch in item_no if ch not in _ILLEGAL).lower()
    return tuple(dict.fromkeys([replaced, dropped]))


def split_name(name: str) -> tuple[str, str | None, str] | None:
    """`ITEM^Yellow.JPG` -> (`item`, `yellow`, `jpg`); None for a file that is no image.

    The stem is split at the first `^`; a name without `^` has suffix None.
    """
    if "." not in name:
        return None
    stem, ext = name.rsplit(".", 1)
    ext = ext.lower()
    if ext not in IMAGE_EXTENSIONS or not stem:
        return None
    base, caret, suffix = stem.partition("^")
    return base.lower(), (suffix.lower() if caret else None), ext


class FolderIndex:
    """The folder's image files by lower-case stem, so matching an item costs O(its files)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.by_base: dict[str, list[tuple[str, str | None]]] = {}
        self.by_lower: dict[str, str] = {}
        for name in sorted(names):
            parts = split_name(name)
            if parts is None:
                continue
            base, suffix, _ = parts
            self.by_base.setdefault(base, []).append((name, suffix))
            self.by_lower.setdefault(name.lower(), name)

    def files_of(self, item_no: str) -> list[tuple[str, str | None]]:
        """(file name, lower-case `^` suffix or None) of every file named after the item."""
        found: dict[str, str | None] = {}
        for stem in item_stems(item_no):
            for name, suffix in self.by_base.get(stem, ()):
                found[name] = suffix
        return sorted(found.items())

    def find(self, name: str) -> str | None:
        """The folder's spelling of `name`, matched case-insensitively (directories ignored)."""
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        return self.by_lower.get(base.strip().lower())


@dataclass(frozen=True)
class GridCell:
    """One grid child: its SKU and its dimension values (upper case, unused ones left out)."""

    sku: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ItemImages:
    """What matching needs to know about one item."""

    item_no: str
    ecomm_img_file: str | None = None
    cells: tuple[GridCell, ...] = ()


@dataclass(frozen=True)
class PlannedImage:
    """One gallery entry a SKU should have: which file, in which position, with which roles."""

    file: str
    position: int
    roles: tuple[str, ...]


@dataclass
class ImagePlan:
    """Gallery entries per SKU (the item and its grid children) that the folder implies."""

    by_sku: dict[str, list[PlannedImage]] = field(default_factory=dict)

    def files(self) -> set[str]:
        """Every file some SKU uses."""
        return {img.file for images in self.by_sku.values() for img in images}


def _grid_values(cells: Sequence[GridCell]) -> set[str]:
    return {value.lower() for cell in cells for value in cell.values}


def plan_item_images(item: ItemImages, folder: FolderIndex) -> ImagePlan:
    """The gallery of an item and of its grid children, by the rules in the module docstring.

    Every SKU of the item appears in the result, with an empty list when it has no image, so
    images removed from the folder are removed from Magento too.
    """
    files = folder.files_of(item.item_no)
    grid_values = _grid_values(item.cells)
    plain = [name for name, suffix in files if suffix is None]
    carets = [(name, suffix) for name, suffix in files if suffix is not None]
    custom = folder.find(item.ecomm_img_file) if item.ecomm_img_file else None
    main = custom or (plain[0] if plain else None)
    extras = [] if custom else plain[1:]
    extras += [name for name, suffix in carets if suffix not in grid_values]
    parent: list[PlannedImage] = []
    if main is not None:
        parent.append(PlannedImage(main, 1, MAIN_ROLES))
    for n, name in enumerate(extras, start=len(parent) + 1):
        parent.append(PlannedImage(name, n, ()))
    plan = ImagePlan({item.item_no: parent})
    by_value: Mapping[str, list[str]] = _by_value(carets, grid_values)
    for cell in item.cells:
        chosen = [name for value in cell.values for name in by_value.get(value.lower(), [])]
        plan.by_sku[cell.sku] = [
            PlannedImage(name, n, SWATCH_ROLES if n == 1 else ())
            for n, name in enumerate(dict.fromkeys(chosen), start=1)
        ]
    return plan


def _by_value(carets: Sequence[tuple[str, str]], grid_values: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, suffix in carets:
        if suffix in grid_values:
            out.setdefault(suffix, []).append(name)
    return out
