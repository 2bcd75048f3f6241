"""Media gallery as Magento does it (docs/reference/magento.md#media-gallery, #duplicated-images, #media-gallery)."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from cpsync_emulator import EmulatorConfig, EmulatorHandle, running_emulator

ProductFactory = Callable[..., dict[str, Any]]


def png(colour: tuple[int, int, int] = (255, 0, 0), size: tuple[int, int] = (8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def entry(data: bytes, name: str = "front.png", mime: str = "image/png", **kw: Any) -> dict:
    body = {
        "media_type": "image",
        "label": kw.pop("label", None),
        "position": kw.pop("position", 1),
        "disabled": False,
        "types": kw.pop("types", []),
        "content": {
            "base64_encoded_data": base64.b64encode(data).decode(),
            "type": mime,
            "name": name,
        },
    }
    body.update(kw)
    return {"entry": body}


@pytest.fixture
def sku(client: httpx.Client, product: ProductFactory) -> str:
    assert client.post("/all/V1/products", json=product("MUG-1")).status_code == 200
    return "MUG-1"


def test_given_a_product_when_an_image_is_posted_then_its_id_comes_back_and_bytes_arrive(
    client: httpx.Client, magento: EmulatorHandle, sku: str
) -> None:
    data = png(size=(30, 20))
    response = client.post(f"/all/V1/products/{sku}/media", json=entry(data))
    assert response.status_code == 200
    entry_id = response.json()
    assert isinstance(entry_id, int)
    [stored] = magento.store.find_by_sku(sku)["media_gallery_entries"]
    assert stored["id"] == entry_id and stored["file"] == "/f/r/front.png"
    arrived = magento.emulator.media.get(stored["file"])
    assert (arrived.data, arrived.width, arrived.height) == (data, 30, 20)
    assert magento.stats()["writes"]["media.created"] == 1


def test_the_first_image_without_roles_takes_all_roles_and_roles_are_exclusive(
    client: httpx.Client, sku: str
) -> None:
    client.post(f"/all/V1/products/{sku}/media", json=entry(png(), "a.png"))
    client.post(f"/all/V1/products/{sku}/media", json=entry(png(), "b.png", types=[]))
    client.post(f"/all/V1/products/{sku}/media", json=entry(png(), "c.png", types=["thumbnail"]))
    listed = client.get(f"/all/V1/products/{sku}/media").json()
    roles = {e["file"]: e["types"] for e in listed}
    assert roles == {
        "/a/_/a.png": ["image", "small_image", "swatch_image"],
        "/b/_/b.png": [],
        "/c/_/c.png": ["thumbnail"],
    }


def test_posting_the_same_image_twice_makes_two_entries_with_a_suffixed_file(
    client: httpx.Client, sku: str
) -> None:
    first = client.post(f"/all/V1/products/{sku}/media", json=entry(png())).json()
    second = client.post(f"/all/V1/products/{sku}/media", json=entry(png())).json()
    assert first != second
    files = [e["file"] for e in client.get(f"/all/V1/products/{sku}/media").json()]
    assert files == ["/f/r/front.png", "/f/r/front_1.png"]


def test_list_and_get_carry_base64_content_and_product_get_shows_the_gallery(
    client: httpx.Client, sku: str
) -> None:
    data = png()
    entry_id = client.post(f"/all/V1/products/{sku}/media", json=entry(data)).json()
    one = client.get(f"/all/V1/products/{sku}/media/{entry_id}").json()
    assert base64.b64decode(one["content"]["base64_encoded_data"]) == data
    gallery = client.get(f"/all/V1/products/{sku}").json()["media_gallery_entries"]
    assert [e["id"] for e in gallery] == [entry_id]
    assert "content" not in gallery[0]
    slim = client.get(f"/all/V1/products/{sku}/media", params={"fields": "id,file"}).json()
    assert slim == [{"id": entry_id, "file": "/f/r/front.png"}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            {"base64_encoded_data": "%%%not base64", "type": "image/png", "name": "a.png"},
            "The image content must be valid base64 encoded data.",
        ),
        (
            {
                "base64_encoded_data": base64.b64encode(b"plain text").decode(),
                "type": "image/png",
                "name": "a.png",
            },
            "The image content must be valid base64 encoded data.",
        ),
        (
            {
                "base64_encoded_data": base64.b64encode(png()).decode(),
                "type": "image/jpeg",
                "name": "a.png",
            },
            "The image MIME type is not valid or not supported.",
        ),
        (
            {
                "base64_encoded_data": base64.b64encode(png()).decode(),
                "type": "image/png",
                "name": "a(1).png",
            },
            "Provided image name contains forbidden characters.",
        ),
        (
            {
                "base64_encoded_data": base64.b64encode(png()).decode(),
                "type": "image/png",
                "name": "a.tiff",
            },
            "Cannot recognize image extension.",
        ),
    ],
)
def test_invalid_content_is_refused_with_magentos_message(
    client: httpx.Client, sku: str, content: dict[str, str], message: str
) -> None:
    response = client.post(f"/all/V1/products/{sku}/media", json={"entry": {"content": content}})
    assert response.status_code == 400
    assert response.json() == {"message": message}


def test_create_without_content_and_without_the_entry_wrapper_are_refused(
    client: httpx.Client, sku: str
) -> None:
    no_content = client.post(f"/all/V1/products/{sku}/media", json={"entry": {"types": []}})
    assert no_content.status_code == 400
    assert no_content.json()["message"] == (
        "The image content is invalid. Verify the content and try again."
    )
    no_wrapper = client.post(f"/all/V1/products/{sku}/media", json={"content": {}})
    assert no_wrapper.json() == {
        "message": '"%fieldName" is required. Enter and try again.',
        "parameters": {"fieldName": "entry"},
    }


def test_a_name_without_extension_gets_one_from_the_mime_type(
    client: httpx.Client, sku: str
) -> None:
    client.post(f"/all/V1/products/{sku}/media", json=entry(png(), "noext"))
    assert client.get(f"/all/V1/products/{sku}/media").json()[0]["file"] == "/n/o/noext.png"


def test_update_moves_roles_and_the_path_id_wins(client: httpx.Client, sku: str) -> None:
    a = client.post(f"/all/V1/products/{sku}/media", json=entry(png(), "a.png")).json()
    b = client.post(f"/all/V1/products/{sku}/media", json=entry(png(), "b.png")).json()
    body = {"entry": {"id": 999999, "types": ["image"], "position": 7, "label": "Back"}}
    response = client.put(f"/all/V1/products/{sku}/media/{b}", json=body)
    assert response.status_code == 200 and response.json() is True
    listed = {e["id"]: e for e in client.get(f"/all/V1/products/{sku}/media").json()}
    assert listed[b]["types"] == ["image"] and listed[b]["position"] == 7
    assert listed[b]["label"] == "Back"
    assert "image" not in listed[a]["types"]


def test_delete_removes_the_entry_and_unknown_ids_are_404(client: httpx.Client, sku: str) -> None:
    entry_id = client.post(f"/all/V1/products/{sku}/media", json=entry(png())).json()
    assert client.delete(f"/all/V1/products/{sku}/media/{entry_id}").json() is True
    assert client.get(f"/all/V1/products/{sku}/media").json() == []
    again = client.delete(f"/all/V1/products/{sku}/media/{entry_id}")
    assert again.status_code == 404
    assert again.json() == {
        "message": "No image with the provided ID was found. Verify the ID and try again."
    }
    put = client.put(f"/all/V1/products/{sku}/media/{entry_id}", json={"entry": {"types": []}})
    assert put.status_code == 404
    get = client.get(f"/all/V1/products/{sku}/media/{entry_id}")
    assert get.json() == {"message": "The image doesn't exist. Verify and try again."}


def test_media_of_an_unknown_product_is_404(client: httpx.Client, magento: EmulatorHandle) -> None:
    assert client.get("/all/V1/products/NOPE/media").status_code == 404
    assert client.post("/all/V1/products/NOPE/media", json=entry(png())).status_code == 404
    get = client.get("/all/V1/products/NOPE/media/1")
    assert get.json() == {"message": "The product doesn't exist. Verify and try again."}


def test_product_save_with_gallery_entries_is_the_full_list(
    client: httpx.Client, sku: str, product: ProductFactory
) -> None:
    keep = client.post(f"/all/V1/products/{sku}/media", json=entry(png(), "keep.png")).json()
    client.post(f"/all/V1/products/{sku}/media", json=entry(png(), "gone.png"))
    new = entry(png(), "new.png", label="New")["entry"]
    body = product(sku, media_gallery_entries=[{"id": keep, "label": "Kept"}, new])
    assert client.post("/all/V1/products", json=body).status_code == 200
    gallery = client.get(f"/all/V1/products/{sku}").json()["media_gallery_entries"]
    assert [(e["file"], e["label"]) for e in gallery] == [
        ("/k/e/keep.png", "Kept"),
        ("/n/e/new.png", "New"),
    ]
    wipe = client.post("/all/V1/products", json=product(sku, media_gallery_entries=[]))
    assert wipe.json()["media_gallery_entries"] == []


def test_product_save_with_a_new_entry_without_content_is_refused(
    client: httpx.Client, sku: str, product: ProductFactory
) -> None:
    body = product(sku, media_gallery_entries=[{"media_type": "image", "types": []}])
    response = client.post("/all/V1/products", json=body)
    assert response.status_code == 400
    assert response.json()["message"].startswith("The image content is invalid.")


def test_an_upload_costs_more_the_larger_the_image(
    client: httpx.Client, magento: EmulatorHandle, sku: str
) -> None:
    magento.configure(kb_costs_ms={"media.create": 0.4})
    small, big = png(size=(4, 4)), png(size=(4, 4)) + b"\0" * 600_000

    def upload(image: bytes, name: str) -> tuple[float, float]:
        """(seconds the upload took, worker seconds the cost model charged for it)."""
        charged = magento.stats()["worker_seconds_by_endpoint"].get("media.create", 0.0)
        started = time.monotonic()
        client.post(f"/all/V1/products/{sku}/media", json=entry(image, name))
        took = time.monotonic() - started
        return took, magento.stats()["worker_seconds_by_endpoint"]["media.create"] - charged

    _, small_cost = upload(small, "s.png")
    big_took, big_cost = upload(big, "b.png")
    # The charge, not the two wall-clock times: a loaded machine can slow the small one more.
    assert big_cost > small_cost + 0.25
    assert big_took >= big_cost  # the worker is held for what it is charged


def test_after_a_restart_the_gallery_is_back_and_entry_ids_are_not_reused(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "magento.json"

    def client_for(magento: EmulatorHandle) -> httpx.Client:
        headers = {"Authorization": f"Bearer {magento.token}"}
        return httpx.Client(base_url=magento.rest_url, headers=headers, timeout=5.0)

    with (
        running_emulator(EmulatorConfig(state_file=state_file)) as magento,
        client_for(magento) as http,
    ):
        http.post("/all/V1/products", json={"product": {"sku": "P-1", "name": "P"}})
        first = http.post("/all/V1/products/P-1/media", json=entry(png())).json()
    with (
        running_emulator(EmulatorConfig(state_file=state_file)) as magento,
        client_for(magento) as http,
    ):
        listed = http.get("/all/V1/products/P-1/media", params={"fields": "id"}).json()
        second = http.post("/all/V1/products/P-1/media", json=entry(png())).json()
    assert listed == [{"id": first}]
    assert second > first


def test_images_can_be_added_through_async_bulk_by_sku(
    client: httpx.Client, magento: EmulatorHandle, sku: str
) -> None:
    # GIVEN a SKU with a slash, which Apache refuses as %2F in a path
    client.post("/all/V1/products", json={"product": {"sku": "MUG/12", "name": "Mug"}})
    body = [{"sku": "MUG/12", **entry(png(), "a.png")}, {"sku": sku, **entry(png(), "b.png")}]
    # WHEN the uploads go through the bulk form of the media route
    response = client.post("/all/async/bulk/V1/products/bySku/media", json=body)
    assert response.status_code == 202
    deadline = time.monotonic() + 30  # the consumer is a thread: slow on a loaded machine
    while time.monotonic() < deadline and not all(
        magento.store.find_by_sku(s)["media_gallery_entries"] for s in ("MUG/12", sku)
    ):
        time.sleep(0.02)
    # THEN each product got its image
    files = {
        s: [e["file"] for e in magento.store.find_by_sku(s)["media_gallery_entries"]]
        for s in ("MUG/12", sku)
    }
    assert files == {"MUG/12": ["/a/_/a.png"], sku: ["/b/_/b.png"]}


def test_a_product_created_with_its_gallery_keeps_each_entry_as_sent(
    client: httpx.Client, product: ProductFactory, magento: EmulatorHandle
) -> None:
    # GIVEN a create carrying two images, only the first with roles (MediaGalleryProcessor)
    main = {**entry(png(), "main.png", label="", types=["image", "thumbnail"])["entry"]}
    extra = {**entry(png((0, 0, 255)), "extra.png", label="", position=2)["entry"]}
    body = product("NEW-1", price=5, media_gallery_entries=[main, extra])
    # WHEN it is saved
    saved = client.post("/all/V1/products", json=body)
    # THEN both entries are there with ids; roles are only those sent (no first-image default)
    assert saved.status_code == 200
    gallery = saved.json()["media_gallery_entries"]
    assert [(e["file"], e["types"], e["position"]) for e in gallery] == [
        ("/m/a/main.png", ["image", "thumbnail"], 1),
        ("/e/x/extra.png", [], 2),
    ]
    assert all(isinstance(e["id"], int) for e in gallery)
    assert magento.stats()["requests"].get("media.create", 0) == 0


@pytest.mark.parametrize("member", ["label", "position", "disabled", "media_type"])
def test_a_new_entry_in_a_product_save_without_a_member_the_save_reads_is_an_internal_error(
    client: httpx.Client, product: ProductFactory, member: str
) -> None:
    # GIVEN a new entry whose label (say) is null: Magento drops nulls before the save reads it
    new = {**entry(png(), "main.png")["entry"], member: None}
    # WHEN it is saved, THEN PHP's undefined-key warning is Magento's 500
    response = client.post("/all/V1/products", json=product("NEW-2", media_gallery_entries=[new]))
    assert response.status_code == 500
    assert response.json()["message"].startswith("Internal Error.")
