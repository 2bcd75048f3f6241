"""The Images tab over HTTP: find an item's image files, check it, sync or queue one file."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from cpsync_sample.generate import SampleInfo


def _item_with_images(info: SampleInfo) -> tuple[str, tuple[str, ...]]:
    simple = set(info.ecommerce_item_nos) - set(info.grid_item_nos)
    item_no = info.special["slash_item"]  # MUG/12: files MUG_12.jpg, MUG_12^2.jpg, ...
    assert item_no in simple
    return item_no, info.image_files[item_no]


def _grid_with_colour_images(info: SampleInfo) -> tuple[str, str, list[str]]:
    grid_image = info.special["grid_image"]  # TSHIRT-GRID^YELLOW.jpg
    item_no, value = grid_image.rsplit(".", 1)[0].split("^", 1)
    files = [
        f for f in info.image_files[item_no] if f.upper().startswith(f"{item_no}^{value}".upper())
    ]
    return item_no, value, files


def test_given_an_item_number_when_searched_then_a_row_per_image_file_shows_as_new(api) -> None:
    item_no, files = _item_with_images(api.sample)
    rows = api.keyed().get("/api/images", params={"item_no": item_no}).json()
    assert sorted(r["file_name"] for r in rows) == sorted(files)
    assert {r["status"] for r in rows} == {"new"}
    assert all(r["item_no"] == item_no and r["size"] > 0 for r in rows)


def test_given_an_item_with_a_custom_image_file_then_that_file_is_listed_too(api) -> None:
    item_no = api.sample.special["custom_image_item"]
    rows = api.keyed().get("/api/images", params={"item_no": item_no}).json()
    assert api.sample.special["custom_image"] in {r["file_name"] for r in rows}


def test_given_item_caret_value_when_searched_then_only_that_grid_values_images(api) -> None:
    item_no, value, files = _grid_with_colour_images(api.sample)
    rows = api.keyed().get("/api/images", params={"file_name": f"{item_no}^{value}"}).json()
    assert sorted(r["file_name"] for r in rows) == sorted(files)
    every = api.keyed().get("/api/images", params={"file_name": item_no}).json()
    assert len(every) > len(rows)


def test_a_paged_search_answers_one_page_and_the_total(api) -> None:
    item_no, files = _item_with_images(api.sample)
    assert len(files) >= 2
    every = api.keyed().get("/api/images", params={"item_no": item_no}).json()
    page = api.keyed().get("/api/images", params={"item_no": item_no, "offset": 1, "limit": 1})
    assert page.json() == {"rows": every[1:2], "total": len(files), "offset": 1, "limit": 1}
    first = api.keyed().get("/api/images", params={"item_no": item_no, "offset": 0}).json()
    assert (first["limit"], first["rows"]) == (100, every)  # 100 a page when not said
    too_many = api.keyed().get("/api/images", params={"item_no": item_no, "limit": 1001})
    assert too_many.status_code == 422


def test_given_a_path_in_the_file_name_then_400_and_nothing_happens(api) -> None:
    client = api.keyed()
    for bad in ["../counterpoint.db", "..\\\\x.jpg", "a/b.jpg", "/etc/passwd", ""]:
        response = client.get("/api/images", params={"file_name": bad})
        assert response.status_code == 400, bad
        for action in ("sync", "queue"):
            response = client.post(f"/api/images/{action}", json={"file_name": bad})
            assert response.status_code == 400, (action, bad)
            assert "file name" in response.json()["detail"]
    assert client.get("/api/images", params={"item_no": " "}).status_code == 400
    assert client.get("/api/images").status_code == 400
    assert client.post("/api/images/check", json={"item_no": ""}).status_code == 422
    assert api.runtime.state.get_docs("image_scan") == {}
    assert api.runtime.state.runs(limit=5) == []
    assert api.runtime.queue.depth().visible == 0


def _add_photo(folder: Path, name: str) -> None:
    Image.new("RGB", (40, 30), (200, 30, 30)).save(folder / name, "JPEG")


def test_the_image_procedure_ends_with_the_image_in_magento(api) -> None:
    client = api.keyed()
    item_no, files = _item_with_images(api.sample)
    # A new item goes up with the images its files imply.
    assert client.post("/api/tasks/items/sync-item", json={"key": item_no}).json()["applied"]
    gallery = api.emulator.store.find_by_sku(item_no)["media_gallery_entries"]
    assert len(gallery) == len(files)
    # The merchant adds a photo; the magnifying glass (Image Changes for this item only)
    # queues the item's gallery.
    added = "MUG_12^back.jpg"
    _add_photo(api.runtime.settings.images_dir, added)
    checked = client.post("/api/images/check", json={"item_no": item_no}).json()
    assert checked["queued"] == 1 and checked["read"] >= 1
    # Green: sync the new file now, bypassing the queue.
    synced = client.post("/api/images/sync", json={"file_name": added}).json()
    assert synced["applied"] is True
    gallery = api.emulator.store.find_by_sku(item_no)["media_gallery_entries"]
    assert len(gallery) == len(files) + 1
    rows = client.get("/api/images", params={"file_name": item_no.replace("/", "_")}).json()
    assert sorted(r["file_name"] for r in rows) == sorted([*files, added])
    assert {r["status"] for r in rows} == {"pushed"}
    assert {r["item_no"] for r in rows} == {item_no}
    # Blue: queue one file.
    queued = client.post("/api/images/queue", json={"file_name": files[0]}).json()
    assert queued["queued"] == 1
    kinds = [m["kind"] for m in client.get("/api/queue").json()["messages"]]
    assert kinds.count("image") == 2  # the check's change and this one


def test_given_an_item_not_in_magento_when_syncing_its_image_then_the_reason_is_clear(api) -> None:
    _, files = _item_with_images(api.sample)
    response = api.keyed().post("/api/images/sync", json={"file_name": files[0]})
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert files[0] in detail and "not in Magento yet" in detail
    missing = api.keyed().post("/api/images/queue", json={"file_name": "NOPE.jpg"})
    assert missing.status_code == 409 and "no image file NOPE.jpg" in missing.json()["detail"]


def test_given_a_corrupt_image_when_checked_then_its_row_says_error_and_why(api) -> None:
    client = api.keyed()
    item_no = api.sample.special["corrupt_image_item"]
    corrupt = api.sample.special["corrupt_image"]
    assert client.post("/api/tasks/items/sync-item", json={"key": item_no}).json()["applied"]
    checked = client.post("/api/images/check", json={"item_no": item_no}).json()
    assert checked["queued"] == 0
    assert any(corrupt in e["message"] for e in checked["errors"])
    [row] = client.get("/api/images", params={"file_name": corrupt}).json()
    assert row["status"] == "error"
    assert corrupt in row["detail"]
