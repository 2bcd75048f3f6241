"""The dashboard's Verify button: `POST /api/verify` is a job whose result is verify's report."""

from __future__ import annotations

import time
from typing import Any

import httpx


def _poll(client: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


def test_given_an_empty_store_when_verified_then_the_job_reports_every_product_missing(
    api,
) -> None:
    # GIVEN nothing synced yet: Magento lacks every product and category Counterpoint has
    client = api.client(follow_jobs=False, headers={"X-API-Key": api.api_key})

    # WHEN the button is pressed
    started = client.post("/api/verify")

    # THEN 202 with a job, which ends with the report; nothing is queued
    assert started.status_code == 202, started.text
    assert started.json()["job"]["action"] == "verify"
    done = _poll(client, started.json()["job"])
    assert done["status"] == "done", done["error"]
    report = done["result"]
    assert report["ok"] is False and report["repaired"] == 0
    products = report["kinds"]["product"]
    assert products["differ"] == products["checked"] > 0
    example = products["examples"][0]
    assert example["fields"]["exists"] == {"magento": False, "counterpoint": True}
    assert report["kinds"]["category"]["differ"] > 0
    assert api.runtime.queue.depth().visible == 0


def test_given_differences_when_repair_is_pressed_then_exactly_those_records_are_queued(
    api,
) -> None:
    client = api.client(follow_jobs=False, headers={"X-API-Key": api.api_key})
    job = client.post("/api/verify", params={"repair": "true"}).json()["job"]
    report = _poll(client, job)["result"]
    assert report["repaired"] == report["differ"] > 0
    assert api.runtime.queue.depth().visible == report["repaired"]
    # Verify left no trace of its own: the tasks' fingerprints and watermarks are untouched.
    assert api.runtime.state.get_sent("product") == {}
    assert api.runtime.state.get_watermark("items") is None
