"""The deployed stack's manual actions: the API function (invoked with HTTP API events, as API
Gateway does) starts jobs that run in the task Lambdas (direct mode) or in the agent started
here against ministack (agent mode); a reschedule moves the real EventBridge schedule, and in
agent mode the cloud schedules stay disabled. Fixtures in conftest.py (`make e2e-aws`).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image

from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo, generate

API_KEY = "deployed-api-key-0123456789abcdef"


class StackApi:
    """Calls the deployed API function with the HTTP API event API Gateway would send."""

    def __init__(self, ministack: Any, function: str) -> None:
        self.lam = ministack.client("lambda")
        self.function = function
        self.cookie: str | None = None

    def sign_in(self) -> None:
        """Sign in with the API key as a person would on the page; later calls send the
        session cookie instead of the key."""
        status, answer = self.call("POST", "/api/session", {"api_key": API_KEY})
        assert status == 200, answer
        assert self.cookie and self.cookie.startswith("cpsync_session="), self.cookie

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        path, _, query = path.partition("?")
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": {"accept": "application/json"},
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "api",
                "domainName": "api.example.com",
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "test",
                },
                "requestId": "id",
                "routeKey": "$default",
                "stage": "$default",
                "time": "05/Dec/2026:14:00:00 +0000",
                "timeEpoch": 1796479200000,
            },
            "isBase64Encoded": False,
        }
        headers: dict[str, str] = event["headers"]  # type: ignore[assignment]
        if self.cookie:
            headers["cookie"] = self.cookie
        elif path != "/api/session":
            headers["x-api-key"] = API_KEY
        if body is not None:
            headers["content-type"] = "application/json"
            event["body"] = json.dumps(body)
        invoked = self.lam.invoke(FunctionName=self.function, Payload=json.dumps(event))
        answer = json.loads(invoked["Payload"].read())
        assert "FunctionError" not in invoked, answer
        for cookie in answer.get("cookies", []):  # HTTP API payload 2.0: Set-Cookie values
            if cookie.startswith("cpsync_session="):
                self.cookie = cookie.split(";", 1)[0]
        text = answer.get("body", "")
        if answer.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        return int(answer["statusCode"]), json.loads(text) if text else None

    def job(self, method: str, path: str, body: Any = None, seconds: float = 120) -> Any:
        """Start a job and poll it to its end, as the page does; returns the job.

        The default bound covers a Sync Item, which waits up to a minute for the updater.
        """
        status, started = self.call(method, path, body)
        assert status == 202, started
        job = started["job"]
        deadline = time.monotonic() + seconds
        while job["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"job {job} did not finish in {seconds} s"
            time.sleep(0.5)
            status, job = self.call("GET", f"/api/jobs/{job['id']}")
            assert status == 200, job
        return job


def _sample(tmp_path: Path) -> tuple[Path, SampleInfo]:
    info = generate(tmp_path / "cp", items=43)
    return tmp_path / "cp", info


def _configure(ministack: Any, outputs: dict[str, str], folder: Path, emulator: Any) -> None:
    secrets = ministack.client("secretsmanager")
    secret = json.loads(secrets.get_secret_value(SecretId=outputs["SecretArn"])["SecretString"])
    secret |= {
        "magento_token": emulator.token,
        "counterpoint_url": f"sqlite:///{folder}/counterpoint.db",
        "api_keys": [API_KEY],
    }
    secrets.put_secret_value(SecretId=outputs["SecretArn"], SecretString=json.dumps(secret))


def test_direct_mode_a_queue_item_job_runs_in_the_task_lambda_and_the_product_arrives(
    ministack: Any, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    folder, info = _sample(tmp_path)
    outputs = ministack.deploy(emulator, tmp_path, stack="cpsync-e2e-jobs")
    _configure(ministack, outputs, folder, emulator)
    api = StackApi(ministack, "cpsync-e2e-jobs-api")
    api.sign_in()
    item_no = info.special["slash_item"]

    job = api.job("POST", "/api/tasks/items/queue-item", {"key": item_no})

    assert job["status"] == "done", job
    assert job["runner"] == "lambda" and job["worker"] == "lambda:items"
    assert job["result"]["queued"] == 1
    ministack.wait_for(
        lambda: item_no in emulator.store.products_by_sku(), 120, "the updater to write it"
    )
    # Sync Item: detected in the task Lambda, written by the updater (the one writer to
    # Magento in AWS), answered when the updater has noted the outcome.
    other = sorted(set(info.ecommerce_item_nos) - set(info.grid_item_nos) - {item_no})[-1]
    synced = api.job("POST", "/api/tasks/items/sync-item", {"key": other})
    assert synced["status"] == "done" and synced["result"]["applied"] is True, synced
    assert other in emulator.store.products_by_sku()
    # An unknown item: the job fails with the route's 404 in words.
    missing = api.job("POST", "/api/tasks/items/queue-item", {"key": "NOPE-404"})
    assert missing["status"] == "failed" and missing["error"]["status"] == 404

    # A reschedule moves the real schedule (direct mode: it stays enabled).
    status, moved = api.call(
        "PUT", "/api/tasks/inventory/schedule", {"schedule": "rate(5 minutes)"}
    )
    assert status == 200, moved
    schedule = ministack.client("scheduler").get_schedule(Name="cpsync-e2e-jobs-inventory")
    assert (schedule["ScheduleExpression"], schedule["State"]) == ("rate(5 minutes)", "ENABLED")


def test_agent_mode_sync_now_goes_through_the_agent_and_the_cloud_schedules_stay_off(
    ministack: Any, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    folder, info = _sample(tmp_path)
    outputs = ministack.deploy(
        emulator, tmp_path, stack="cpsync-e2e-agent", parameters={"ConnectionMode": "agent"}
    )
    _configure(ministack, outputs, folder, emulator)
    api = StackApi(ministack, "cpsync-e2e-agent-api")
    item_no = info.special["slash_item"]  # MUG/12: files MUG_12*.jpg
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": ministack.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "CPSYNC_QUEUE_URL": outputs["ChangeQueueUrl"],
        "CPSYNC_DEAD_LETTER_QUEUE_URL": outputs["DeadLetterQueueUrl"],
        "CPSYNC_COMMAND_QUEUE_URL": outputs["CommandQueueUrl"],
        "CPSYNC_TABLE_NAME": outputs["StateTableName"],
        "CPSYNC_BUCKET": outputs["BlobBucketName"],
        "CPSYNC_COUNTERPOINT_URL": f"sqlite:///{folder}/counterpoint.db",
        "CPSYNC_IMAGES_DIR": str(folder / "ItemImages"),
        "CPSYNC_CONNECTION_MODE": "agent",
    }
    # Automatic syncs off: the agent answers commands only, so the test sees what it asked.
    status, _ = api.call("PUT", "/api/automatic-sync", {"enabled": False})
    assert status == 200
    agent = subprocess.Popen(
        [str(Path(sys.executable).parent / "cpsync"), "agent"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "agent.log").open("w"),
    )
    try:
        # The item goes up first (its images go with it), through the agent and the cloud.
        synced = api.job("POST", "/api/tasks/items/sync-item", {"key": item_no}, seconds=120)
        assert synced["status"] == "done", synced
        assert synced["runner"] == "agent" and synced["worker"].startswith("agent:")
        assert synced["result"]["applied"] is True, synced["result"]
        before = len(emulator.store.find_by_sku(item_no)["media_gallery_entries"])

        # The merchant adds a photo and presses Sync now on it.
        Image.new("RGB", (40, 30), (30, 200, 30)).save(
            folder / "ItemImages" / "MUG_12^side.jpg", "JPEG"
        )
        begun = time.monotonic()
        job = api.job("POST", "/api/images/sync", {"file_name": "MUG_12^side.jpg"}, seconds=60)
        took = time.monotonic() - begun
        assert job["status"] == "done" and job["result"]["applied"] is True, job
        assert took < 15, f"Sync now took {took:.1f} s"
        gallery = emulator.store.find_by_sku(item_no)["media_gallery_entries"]
        assert len(gallery) == before + 1
        # The file's row now says pushed.
        rows = api.job("GET", "/api/images?file_name=MUG_12%5Eside.jpg")["result"]
        assert [(r["file_name"], r["status"]) for r in rows] == [("MUG_12^side.jpg", "pushed")]
    finally:
        agent.terminate()
        agent.wait(20)

    # Enabling a task in agent mode moves the agent's schedule only.
    status, _ = api.call("PUT", "/api/tasks/inventory/schedule", {"schedule": "rate(5 minutes)"})
    assert status == 200
    status, _ = api.call("POST", "/api/tasks/inventory/enable")
    assert status == 200
    schedules = ministack.client("scheduler")
    for task in ("items", "inventory", "image-changes"):
        found = schedules.get_schedule(Name=f"cpsync-e2e-agent-{task}")
        assert found["State"] == "DISABLED", (task, found["State"])
    inventory = schedules.get_schedule(Name="cpsync-e2e-agent-inventory")
    assert inventory["ScheduleExpression"] == "rate(5 minutes)"
