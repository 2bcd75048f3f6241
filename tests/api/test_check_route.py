"""The setup check from the dashboard: `POST /api/check` is a job, `GET /api/check` its result."""

from __future__ import annotations

import time

from tests.api.conftest import ApiServer


def test_given_a_signed_in_user_when_the_check_runs_then_the_page_gets_the_findings(
    api: ApiServer,
) -> None:
    client = api.signed_in()
    # GIVEN no check has run yet
    before = client.get("/api/check")
    assert before.status_code == 200 and before.json()["ok"] is None
    # WHEN the check is started (the client follows the job as the page does)
    answer = client.post("/api/check")
    # THEN its result is the report: nothing blocks against the sample and the emulator
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["ok"] is True and report["counts"]["blocking"] == 0
    areas = {f["area"] for f in report["findings"]}
    assert areas == {"counterpoint", "magento", "images"}
    # AND the latest report is kept for the next visit
    assert client.get("/api/check").json() == report


def test_the_check_answers_202_with_a_job_at_once(api: ApiServer) -> None:
    client = api.client(follow_jobs=False, headers={"X-API-Key": api.api_key})
    started = client.post("/api/check")
    assert started.status_code == 202
    job = started.json()["job"]
    assert job["action"] == "check" and job["status"] in ("queued", "running", "done")
    deadline = time.monotonic() + 30
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    assert job["status"] == "done" and job["result"]["ok"] is True


def test_the_check_refuses_anonymous_callers(api: ApiServer) -> None:
    assert api.client().post("/api/check").status_code == 401
    assert api.client().get("/api/check").status_code == 401
