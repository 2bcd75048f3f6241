"""API fixtures: a real sample Counterpoint file, the emulator and the app, all over HTTP."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from cpsync.api import create_app
from cpsync.jobs import JobRunner
from cpsync.runtime import Runtime
from cpsync.scheduler import Scheduler
from cpsync.settings import load_settings
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import SampleInfo, generate

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
API_KEY = "test-api-key-0123456789abcdef"


class Clock:
    """Seconds since the epoch, moved by hand (session idle time, lockout period)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FollowJobs(httpx.HTTPTransport):
    """Answers a started job (202) with its outcome, as the page does: polls
    `GET /api/jobs/{id}` and gives back the result (200) or the failure's status and detail.
    The job protocol itself is tested with `ApiServer.client(follow_jobs=False)`."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if response.status_code != 202:
            return response
        response.read()
        job = response.json()["job"]
        deadline = time.monotonic() + 60
        while job["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"job {job['id']} did not finish"
            time.sleep(0.02)
            poll = httpx.Request(
                "GET",
                request.url.copy_with(path=f"/api/jobs/{job['id']}", query=None),
                headers={
                    k: v for k, v in request.headers.items() if k.lower() in ("x-api-key", "cookie")
                },
            )
            answer = super().handle_request(poll)
            answer.read()
            assert answer.status_code == 200, answer.text
            job = answer.json()
        if job["status"] == "failed":
            return httpx.Response(job["error"]["status"], json={"detail": job["error"]["detail"]})
        return httpx.Response(200, json=job["result"])


@dataclass
class ApiServer:
    """The app under uvicorn on 127.0.0.1, its runtime, clock and a signed-out client."""

    url: str
    runtime: Runtime
    clock: Clock
    emulator: EmulatorHandle
    sample: SampleInfo
    api_key: str = API_KEY

    def client(self, follow_jobs: bool = True, **kw: Any) -> httpx.Client:
        transport = FollowJobs() if follow_jobs else httpx.HTTPTransport()
        return httpx.Client(base_url=self.url, timeout=30, transport=transport, **kw)

    def keyed(self) -> httpx.Client:
        return self.client(headers={"X-API-Key": API_KEY})

    def signed_in(self) -> httpx.Client:
        client = self.client()
        response = client.post("/api/session", json={"username": "admin", "password": "admin123"})
        assert response.status_code == 200, response.text
        return client


def serve_app(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Run an ASGI app under uvicorn in a thread; returns once it answers."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # milliseconds here; slower on a loaded machine
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleInfo]:
    folder = tmp_path_factory.mktemp("sample")
    info = generate(folder, items=60, now=NOW.replace(tzinfo=None))
    return folder, info


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig()) as handle:
        yield handle


@pytest.fixture
def make_api(
    sample_template: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle
) -> Iterator[Callable[..., ApiServer]]:
    """Start the app with extra settings: make_api(with_scheduler=False, jobs=None, **settings)
    (`jobs` builds the job runner from the runtime; default: this process's threads)."""
    started: list[tuple[uvicorn.Server, threading.Thread, Runtime]] = []

    def make(
        *,
        with_scheduler: bool = False,
        jobs: Callable[[Runtime], JobRunner] | None = None,
        **kw: Any,
    ) -> ApiServer:
        folder, info = sample_template
        copy = tmp_path / f"cp{len(started)}"
        shutil.copytree(folder, copy)
        values: dict[str, Any] = {
            "counterpoint_url": f"sqlite:///{copy}/counterpoint.db",
            "images_dir": copy / "ItemImages",
            "blobs_dir": tmp_path / f"blobs{len(started)}",
            "state_url": f"sqlite:///{tmp_path}/state{len(started)}.db",
            "magento_url": emulator.url,
            "magento_token": emulator.token,
            "retry_base_seconds": 0.01,
            "retry_max_seconds": 0.05,
            "queue_visibility_seconds": 1,
            "api_cookie_secure": False,
            "api_keys": [API_KEY],
        }
        settings = load_settings(**(values | kw))
        runtime = Runtime(settings, clock=SampleInfo.clock_at(NOW))
        clock = Clock()
        # `cpsync serve`'s scheduler (not ticking): the dashboard shows its next run times.
        scheduler = (
            Scheduler(runtime.state, runtime.task, settings.zone) if with_scheduler else None
        )
        server, thread, url = serve_app(
            create_app(
                runtime, clock=clock, scheduler=scheduler, jobs=jobs(runtime) if jobs else None
            )
        )
        started.append((server, thread, runtime))
        return ApiServer(url, runtime, clock, emulator, info)

    yield make
    for server, thread, runtime in started:
        server.should_exit = True
        thread.join(timeout=10)
        runtime.close()


@pytest.fixture
def api(make_api: Callable[..., ApiServer]) -> ApiServer:
    return make_api()
