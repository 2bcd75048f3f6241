"""Counterpoint's image naming rules, one test per rule (docs/reference/counterpoint.md#images)."""

from __future__ import annotations

from cpsync.counterpoint.images import (
    MAIN_ROLES,
    SWATCH_ROLES,
    FolderIndex,
    GridCell,
    ItemImages,
    item_stems,
    plan_item_images,
    split_name,
)


def _files(plan_list: list) -> list[tuple[str, int, tuple[str, ...]]]:
    return [(p.file, p.position, p.roles) for p in plan_list]


def test_given_item_dot_jpg_then_it_is_the_main_image_with_the_three_roles() -> None:
    plan = plan_item_images(ItemImages("ABC"), FolderIndex(["ABC.jpg", "OTHER.jpg"]))
    assert _files(plan.by_sku["ABC"]) == [("ABC.jpg", 1, MAIN_ROLES)]


def test_given_several_files_without_caret_then_the_alphabetically_first_is_main() -> None:
    plan = plan_item_images(ItemImages("ABC"), FolderIndex(["ABC.png", "ABC.jpg"]))
    assert _files(plan.by_sku["ABC"]) == [("ABC.jpg", 1, MAIN_ROLES), ("ABC.png", 2, ())]


def test_given_caret_files_then_they_are_extras_in_name_order_without_roles() -> None:
    folder = FolderIndex(["ABC^2.jpg", "ABC.jpg", "ABC^back.png", "ABCD.jpg"])
    plan = plan_item_images(ItemImages("ABC"), folder)
    assert _files(plan.by_sku["ABC"]) == [
        ("ABC.jpg", 1, MAIN_ROLES),
        ("ABC^2.jpg", 2, ()),
        ("ABC^back.png", 3, ()),
    ]


def test_matching_is_case_insensitive() -> None:
    plan = plan_item_images(ItemImages("abc-1"), FolderIndex(["ABC-1.JPG", "Abc-1^X.Jpeg"]))
    assert [p.file for p in plan.by_sku["abc-1"]] == ["ABC-1.JPG", "Abc-1^X.Jpeg"]


def test_illegal_characters_are_replaced_by_underscore_or_dropped() -> None:
    assert item_stems("MUG/12") == ("mug_12", "mug12")
    replaced = plan_item_images(ItemImages("MUG/12"), FolderIndex(["MUG_12.jpg"]))
    dropped = plan_item_images(ItemImages("MUG/12"), FolderIndex(["MUG12.jpg"]))
    assert [p.file for p in replaced.by_sku["MUG/12"]] == ["MUG_12.jpg"]
    assert [p.file for p in dropped.by_sku["MUG/12"]] == ["MUG12.jpg"]


def test_ecomm_img_file_overrides_the_default_main_image() -> None:
    folder = FolderIndex(["ABC.jpg", "hero.JPG", "ABC^2.jpg"])
    plan = plan_item_images(ItemImages("ABC", ecomm_img_file="HERO.jpg"), folder)
    assert _files(plan.by_sku["ABC"]) == [("hero.JPG", 1, MAIN_ROLES), ("ABC^2.jpg", 2, ())]


def test_an_ecomm_img_file_with_a_folder_is_found_by_its_file_name() -> None:
    plan = plan_item_images(
        ItemImages("ABC", ecomm_img_file="Web\\Hero.jpg"), FolderIndex(["hero.jpg"])
    )
    assert [p.file for p in plan.by_sku["ABC"]] == ["hero.jpg"]


def test_a_missing_ecomm_img_file_falls_back_to_the_item_number() -> None:
    plan = plan_item_images(ItemImages("ABC", ecomm_img_file="gone.jpg"), FolderIndex(["ABC.jpg"]))
    assert _files(plan.by_sku["ABC"]) == [("ABC.jpg", 1, MAIN_ROLES)]


def test_grid_value_images_go_to_the_children_with_that_value_as_swatch() -> None:
    cells = (
        GridCell("T|RED|S", ("RED", "S")),
        GridCell("T|RED|M", ("RED", "M")),
        GridCell("T|BLUE|S", ("BLUE", "S")),
    )
    folder = FolderIndex(["T.jpg", "T^red.jpg", "T^2.jpg"])
    plan = plan_item_images(ItemImages("T", cells=cells), folder)
    assert _files(plan.by_sku["T"]) == [("T.jpg", 1, MAIN_ROLES), ("T^2.jpg", 2, ())]
    assert _files(plan.by_sku["T|RED|S"]) == [("T^red.jpg", 1, SWATCH_ROLES)]
    assert _files(plan.by_sku["T|RED|M"]) == [("T^red.jpg", 1, SWATCH_ROLES)]
    assert plan.by_sku["T|BLUE|S"] == []


def test_an_item_without_files_has_an_empty_gallery_so_removed_images_are_removed() -> None:
    plan = plan_item_images(ItemImages("ABC"), FolderIndex(["XYZ.jpg"]))
    assert plan.by_sku == {"ABC": []}


def test_files_that_are_no_images_are_ignored() -> None:
    assert split_name("ABC.txt") is None
    assert split_name("Thumbs.db") is None
    assert split_name("ABC^Yellow.JPG") == ("abc", "yellow", "jpg")
    assert split_name("A.B.png") == ("a.b", None, "png")
