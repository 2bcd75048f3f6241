"""Manual actions are jobs: the API answers 202 at once, the job is polled to its outcome, and a
job whose runner died ends as failed with the reason and frees its task's lock."""

from __future__ import annotations

import time
from typing import Any

import httpx

from cpsync.jobs import Job, Jobs, Runner
from cpsync.runtime import Runtime


def _poll(client: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while job["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


def test_given_a_button_when_pressed_then_202_with_a_job_that_ends_with_the_outcome(api) -> None:
    client = api.client(follow_jobs=False, headers={"X-API-Key": api.api_key})
    started = client.post("/api/tasks/items/queue-all")
    assert started.status_code == 202, started.text
    job = started.json()["job"]
    assert job["action"] == "queue_all" and job["task"] == "items" and job["runner"] == "local"
    assert job["status"] in ("queued", "running", "done")
    done = _poll(client, job)
    assert done["status"] == "done" and done["error"] is None
    assert done["result"]["queued"] > 0 and done["result"]["mode"] == "full"
    assert done["finished_at"] >= done["started_at"] >= done["created_at"]
    # What the job did is real: the Changes are on the queue.
    assert api.runtime.queue.depth().visible == done["result"]["queued"]


def test_given_an_unknown_item_then_the_job_fails_with_404_in_words(api) -> None:
    client = api.client(follow_jobs=False, headers={"X-API-Key": api.api_key})
    job = client.post("/api/tasks/items/sync-item", json={"key": "NOPE-123"}).json()["job"]
    failed = _poll(client, job)
    assert failed["status"] == "failed" and failed["result"] is None
    assert failed["error"]["status"] == 404
    assert "found nothing for 'NOPE-123'" in failed["error"]["detail"]
    assert client.get("/api/jobs/no-such-job").status_code == 404


class Vanishing:
    """A runner whose worker takes the job and the task lock, then dies (a Lambda that timed
    out, an agent switched off mid-run): nothing ever finishes the job."""

    def __init__(self, runtime: Runtime, runner: Runner, take: bool) -> None:
        self.runtime, self.runner, self.take = runtime, runner, take
        self.timeout = 900.0

    def start(self, job: Job) -> None:
        if self.take:
            assert Jobs(self.runtime.state).claim(job.id, "worker-that-dies")
            assert self.runtime.state.acquire_lock("task:items", f"job:{job.id}", 960)


def test_given_a_job_whose_function_died_then_it_fails_with_why_and_the_lock_is_freed(
    make_api,
) -> None:
    api = make_api(jobs=lambda rt: Vanishing(rt, "lambda", take=True))
    client = api.client(follow_jobs=False, headers={"X-API-Key": api.api_key})
    job = client.post("/api/tasks/items/queue-changed").json()["job"]
    assert client.get(f"/api/jobs/{job['id']}").json()["status"] == "running"
    # Meanwhile the task is locked: a scheduled run would be skipped.
    assert not api.runtime.state.acquire_lock("task:items", "scheduler", 10)

    api.clock.advance(901)
    failed = client.get(f"/api/jobs/{job['id']}").json()
    assert failed["status"] == "failed" and failed["error"]["status"] == 504
    assert "task function did not finish the job" in failed["error"]["detail"]
    assert api.runtime.state.acquire_lock("task:items", "scheduler", 10)  # freed
    # A worker that comes back late does not overwrite the answer.
    late = Jobs(api.runtime.state).finish(
        Job.model_validate(api.runtime.state.get_docs("job", [job["id"]])[job["id"]]),
        result={"queued": 1},
    )
    assert late.status == "failed"


def test_given_agent_mode_and_no_agent_then_a_job_fails_within_a_minute_saying_so(
    make_api,
) -> None:
    api = make_api(jobs=lambda rt: Vanishing(rt, "agent", take=False))
    client = api.client(follow_jobs=False, headers={"X-API-Key": api.api_key})
    job = client.post("/api/images/check", json={"item_no": "ANY"}).json()["job"]
    api.clock.advance(30)
    assert client.get(f"/api/jobs/{job['id']}").json()["status"] == "queued"
    api.clock.advance(40)
    failed = client.get(f"/api/jobs/{job['id']}").json()
    assert failed["status"] == "failed"
    assert "No agent took the job" in failed["error"]["detail"]
    assert "last seen never" in failed["error"]["detail"]
