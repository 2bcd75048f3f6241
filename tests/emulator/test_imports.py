"""Magento's import over REST (POST /V1/import/json and /V1/import/csv), as StartImport answers."""

from __future__ import annotations

import base64
import csv
import gzip
import http.server
import io
import re
import threading
from typing import Any

import httpx

from cpsync_emulator import EmulatorConfig, EmulatorHandle, running_emulator
from cpsync_emulator.imports import TERMINATED, URL_NOT_ACCESSIBLE, WRONG_ENTITY


def _row(sku: str, **extra: Any) -> dict[str, Any]:
    row = {
        "sku": sku,
        "attribute_set_code": "Default",
        "product_type": "simple",
        "product_websites": "base",
        "name": f"Item {sku}",
        "price": "12.50",
        "qty": "3",
        "is_in_stock": "1",
        "url_key": sku.lower(),
        "visibility": "Catalog, Search",
        "product_online": "1",
    }
    row.update(extra)
    return row


def _source(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    source = {
        "entity": "catalog_product",
        "behavior": "append",
        "validation_strategy": "validation-skip-errors",
        "allowed_error_count": "0",
        "items": items,
    }
    source.update(extra)
    return {"source": source}


def test_given_valid_rows_when_imported_then_products_exist_as_a_save_would_make_them(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    # GIVEN a category made over REST
    category = client.post(
        "/all/V1/categories", json={"category": {"name": "Mugs", "parent_id": 2}}
    ).json()
    # WHEN two rows are imported, one in that category by path
    rows = [_row("IMP-1", categories="Default Category/Mugs", weight="1.5"), _row("IMP-2")]
    answer = client.post("/all/V1/import/json", json=_source(rows))
    # THEN Magento says how many entities it processed, and both products are there
    assert answer.status_code == 200
    assert answer.json() == ["Entities Processed: 2"]
    one = client.get("/all/V1/products/IMP-1").json()
    assert one["price"] == 12.5 and one["weight"] == 1.5 and one["visibility"] == 4
    assert one["extension_attributes"]["stock_item"]["qty"] == 3.0
    assert one["extension_attributes"]["category_links"] == [
        {"position": 0, "category_id": str(category["id"])}
    ]
    assert magento.stats()["requests"]["import.json"] == 1


def test_given_a_bad_row_when_skipping_errors_then_the_others_land_and_the_answer_says_so(
    client: httpx.Client,
) -> None:
    # GIVEN three rows, the middle one without a price
    rows = [_row("OK-1"), _row("BAD-1", price=""), _row("OK-2")]
    # WHEN imported with validation-skip-errors
    answer = client.post("/all/V1/import/json", json=_source(rows)).json()
    # THEN Magento only says the limit was reached (no row numbers) but imported the valid rows
    assert answer == [TERMINATED]
    assert client.get("/all/V1/products/OK-2").status_code == 200
    assert client.get("/all/V1/products/BAD-1").status_code == 404


def test_given_a_store_that_reports_rows_when_a_row_fails_then_its_message_names_the_row(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    magento.configure(import_row_errors=True)
    rows = [_row("OK-1"), _row("BAD-1", price="abc")]
    answer = client.post("/all/V1/import/json", json=_source(rows)).json()
    assert answer == [
        TERMINATED,
        "Value for 'price' attribute contains incorrect value in row(s): 2",
    ]


def test_given_stop_on_errors_when_a_row_fails_then_later_rows_are_not_imported(
    client: httpx.Client,
) -> None:
    rows = [_row("A-1"), _row("A-2", name=""), _row("A-3")]
    body = _source(rows, validation_strategy="validation-stop-on-errors")
    assert client.post("/all/V1/import/json", json=body).json() == [TERMINATED]
    assert client.get("/all/V1/products/A-1").status_code == 200
    assert client.get("/all/V1/products/A-3").status_code == 404


def test_given_a_grid_when_children_then_parent_are_imported_then_the_parent_links_them(
    client: httpx.Client,
) -> None:
    for label in ("Red", "Blue"):
        client.post("/all/V1/products/attributes/color/options", json={"option": {"label": label}})
    rows = [
        _row("G-R", additional_attributes="color=Red", visibility="Not Visible Individually"),
        _row("G-B", additional_attributes="color=Blue", visibility="Not Visible Individually"),
        _row(
            "G",
            product_type="configurable",
            price="",
            configurable_variations="sku=G-R,color=Red|sku=G-B,color=Blue",
            configurable_variation_labels="color=Color",
        ),
    ]
    assert client.post("/all/V1/import/json", json=_source(rows)).json() == [
        "Entities Processed: 3"
    ]
    parent = client.get("/all/V1/products/G").json()
    assert parent["type_id"] == "configurable"
    children = client.get("/all/V1/configurable-products/G/children").json()
    assert sorted(c["sku"] for c in children) == ["G-B", "G-R"]


def test_given_a_gzip_csv_when_imported_then_the_rows_land(client: httpx.Client) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(_row("C-1")))
    writer.writeheader()
    writer.writerow(_row("C-1"))
    data = base64.b64encode(gzip.compress(text.getvalue().encode())).decode()
    source = _source([])["source"]
    del source["items"]
    source["csv_data"] = data
    assert client.post("/all/V1/import/csv", json={"source": source}).json() == [
        "Entities Processed: 1"
    ]
    assert client.get("/all/V1/products/C-1").status_code == 200


def test_given_an_unknown_entity_when_imported_then_magento_names_the_entity_problem(
    client: httpx.Client,
) -> None:
    body = _source([], entity="no_such_entity")
    assert client.post("/all/V1/import/json", json=body).json() == [WRONG_ENTITY]


def test_given_a_store_without_the_module_when_import_is_called_then_404() -> None:
    with running_emulator(EmulatorConfig(import_api=False)) as handle:
        headers = {"Authorization": f"Bearer {handle.token}"}
        with httpx.Client(base_url=handle.rest_url, headers=headers) as client:
            answer = client.post("/all/V1/import/json", json=_source([_row("X")]))
    assert answer.status_code == 404


# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class _Images(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?", 1)[0].lower().endswith(".png"):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG)
        else:
            self.send_response(403)
            self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_given_image_urls_when_imported_then_magento_downloads_them_into_the_gallery(
    client: httpx.Client,
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        rows = [
            _row(
                "IMG-1",
                base_image=f"{base}/front-cpaaaaaaaaaaaa.png",
                additional_images=f"{base}/front-cpaaaaaaaaaaaa.png,{base}/back.png",
            ),
            _row("IMG-2", base_image=f"{base}/secret.jpg"),
        ]
        answer = client.post("/all/V1/import/json", json=_source(rows)).json()
    finally:
        server.shutdown()
    # THEN the first product has both images, the main one with its roles
    gallery = client.get("/all/V1/products/IMG-1/media").json()
    assert [e["position"] for e in gallery] == [1, 2]
    assert gallery[0]["types"][:1] == ["image"]
    # (named as Magento's import uploader names a download: 16 random characters added)
    assert re.fullmatch(r"/f/r/front-cpaaaaaaaaaaaa_[a-z0-9]{16}\.png", gallery[0]["file"])
    # AND an image Magento cannot download is a row error; the product is written without it
    assert answer == [TERMINATED]
    assert client.get("/all/V1/products/IMG-2/media").json() == []


def test_given_image_urls_without_an_allowed_extension_when_imported_then_magento_refuses_them(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    # (Magento names the download from the URL path's last segment: jpg, jpeg, gif, png only)
    magento.configure(import_row_errors=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        rows = [
            _row("BARE-1", base_image=f"{base}/blobs/0123abcd?name=x.png"),
            _row("WEBP-1", base_image=f"{base}/photo.webp"),
            _row("PNG-1", base_image=f"{base}/photo.PNG?X-Amz-Expires=60"),
        ]
        answer = client.post(
            "/all/V1/import/json", json=_source(rows, allowed_error_count="10")
        ).json()
    finally:
        server.shutdown()
    assert "Disallowed file type. in row(s): 1, 2" in answer
    assert client.get("/all/V1/products/BARE-1/media").json() == []
    assert client.get("/all/V1/products/WEBP-1/media").json() == []
    assert len(client.get("/all/V1/products/PNG-1/media").json()) == 1


def test_given_an_image_url_whose_name_ends_too_long_when_imported_then_it_is_not_downloaded(
    client: httpx.Client, magento: EmulatorHandle
) -> None:
    # (Magento adds "_" and 16 characters to the name; over 90 it refuses the file)
    magento.configure(import_row_errors=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        rows = [
            _row("LONG-1", base_image=f"{base}/{'a' * 70}.png"),  # 70 + 17 + 4 = 91
            _row("FITS-1", base_image=f"{base}/{'a' * 69}.png"),
        ]
        answer = client.post(
            "/all/V1/import/json", json=_source(rows, allowed_error_count="10")
        ).json()
    finally:
        server.shutdown()
    assert f"{URL_NOT_ACCESSIBLE} in row(s): 1" in answer
    assert client.get("/all/V1/products/LONG-1/media").json() == []
    (fits,) = client.get("/all/V1/products/FITS-1/media").json()
    assert len(fits["file"].rsplit("/", 1)[1]) == 90


def test_given_replace_when_a_sku_is_imported_again_then_it_is_created_anew(
    client: httpx.Client,
) -> None:
    client.post("/all/V1/import/json", json=_source([_row("R-1", price="5")]))
    first = client.get("/all/V1/products/R-1").json()
    answer = client.post("/all/V1/import/json", json=_source([_row("R-1")], behavior="replace"))
    again = client.get("/all/V1/products/R-1").json()
    assert answer.json() == ["Entities Processed: 1"]
    assert again["id"] != first["id"] and again["price"] == 12.5


def test_given_special_price_dates_with_times_when_imported_then_only_their_days_are_kept(
    client: httpx.Client,
) -> None:
    """Magento's product import formats special-price dates without their time."""
    # WHEN a row carries a special price ending at 23:59:59
    row = _row(
        "IMP-DAYS",
        special_price="9.50",
        special_price_from_date="2026-12-01 14:00:00",
        special_price_to_date="2026-12-06 23:59:59",
    )
    assert client.post("/all/V1/import/json", json=_source([row])).status_code == 200
    # THEN the special-price read shows the days at 00:00:00
    rows = client.post(
        "/all/V1/products/special-price-information", json={"skus": ["IMP-DAYS"]}
    ).json()
    assert [(r["price"], r["price_from"], r["price_to"]) for r in rows] == [
        (9.5, "2026-12-01 00:00:00", "2026-12-06 00:00:00")
    ]
