"""`cpsync serve`: one process answers the API, drains the queue and stops on Ctrl+C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from cpsync.control import set_automatic_sync
from cpsync.runtime import Runtime
from cpsync.serve import Service
from cpsync_emulator.server import EmulatorHandle
from cpsync_sample.generate import SampleInfo
from tests.helpers import wait_until


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(
    sample: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle, **extra: str
) -> Iterator[tuple[httpx.Client, int]]:
    """`cpsync serve` in its own process; stopped with Ctrl+C, which must end it cleanly."""
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPSYNC_")}
    env.update(
        CPSYNC_COUNTERPOINT_URL=f"sqlite:///{sample[0]}/counterpoint.db",
        CPSYNC_IMAGES_DIR=str(sample[0] / "ItemImages"),
        CPSYNC_BLOBS_DIR=str(tmp_path / "blobs"),
        CPSYNC_STATE_URL=f"sqlite:///{tmp_path}/state.db",
        CPSYNC_MAGENTO_URL=emulator.url,
        CPSYNC_MAGENTO_TOKEN=emulator.token,
        CPSYNC_API_KEYS='["serve-test-key-0123456789abcdef"]',
        CPSYNC_API_COOKIE_SECURE="false",
        **extra,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cpsync.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"X-API-Key": "serve-test-key-0123456789abcdef"},
        )
        deadline = time.monotonic() + 60  # a cold start imports everything, on a loaded machine
        while True:
            try:
                if client.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, f"cpsync serve ended: {process.communicate()[0]}"
            assert time.monotonic() < deadline, "cpsync serve did not start in 60 s"
            time.sleep(0.1)
        yield client, port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)  # stop() gives a drain under way up to 10 s
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, process.stdout.read() if process.stdout else ""


def test_serve_answers_the_api_and_its_updater_applies_what_a_button_queued(
    sample: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle
) -> None:
    with _serving(sample, tmp_path, emulator) as (client, port):
        assert httpx.get(f"http://127.0.0.1:{port}/api/dashboard").status_code == 401
        # The button starts a job and is answered at once; the page polls the job.
        started = client.post("/api/tasks/items/queue-changed")
        assert started.status_code == 202, started.text
        job = started.json()["job"]
        deadline = time.monotonic() + 60  # two suites share 2 cores in CI
        while job["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, f"the job did not finish: {job}"
            time.sleep(0.1)
            job = client.get(f"/api/jobs/{job['id']}").json()
        assert job["status"] == "done" and job["result"]["queued"] > 0
        deadline = time.monotonic() + 60  # the updater loop rests 2 s between drains
        while len(emulator.store.products_by_sku()) < 10:
            assert time.monotonic() < deadline, "the updater loop applied fewer than 10 products"
            time.sleep(0.1)
        assert "sync interface" in httpx.get(f"http://127.0.0.1:{port}/").text


def test_behind_a_reverse_proxy_the_allow_list_sees_the_real_caller(
    sample: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle
) -> None:
    # GIVEN serve behind a proxy on this machine, open to the shop's network only
    with _serving(sample, tmp_path, emulator, CPSYNC_API_ALLOWED_IPS='["192.168.1.0/24"]') as (
        client,
        _,
    ):
        # WHEN the proxy forwards a caller in the shop, or one outside it
        inside = client.get("/api/dashboard", headers={"X-Forwarded-For": "192.168.1.20"})
        outside = client.get("/api/dashboard", headers={"X-Forwarded-For": "203.0.113.9"})
        # THEN the allow-list judges the caller, not the proxy
        assert inside.status_code == 200
        assert outside.status_code == 403 and "203.0.113.9" in outside.json()["detail"]
    # ... and with no proxy trusted, a forged header does not get anyone in
    with _serving(
        sample,
        tmp_path,
        emulator,
        CPSYNC_API_ALLOWED_IPS='["192.168.1.0/24"]',
        CPSYNC_API_TRUSTED_PROXIES="[]",
    ) as (client, _):
        forged = client.get("/api/dashboard", headers={"X-Forwarded-For": "192.168.1.20"})
        assert forged.status_code == 403 and "127.0.0.1" in forged.json()["detail"]


def test_stopping_serve_in_the_middle_of_a_slow_batch_ends_it_at_once_and_loses_nothing(
    make_runtime: Callable[..., Runtime],
    sample: tuple[Path, SampleInfo],
    emulator: EmulatorHandle,
    tmp_path: Path,
) -> None:
    """Ctrl+C while the updater writes a big batch to a slow store: serve stops without waiting
    for the batch, the records it had not sent stay queued (retries, not lost), and the next
    start applies them."""
    runtime = make_runtime(sample[0], tmp_path, emulator)
    set_automatic_sync(runtime.state, False)  # only the updater loop works
    queued = runtime.task("items").run().queued
    # One product save at a time, 200 ms each: the batch would take minutes.
    emulator.configure(workers=1, costs_ms={"products.save": 200.0})
    service = Service(runtime, port=_port(), tick_seconds=60, drain_seconds=0.2)
    service.start_background()
    wait_until(lambda: len(emulator.store.products_by_sku()) >= 3, "the first products", 60)

    started = time.monotonic()
    service.stop()
    took = time.monotonic() - started

    assert took < 8  # not the 10 s stop() would wait, nor the minutes the batch needs
    assert not any(t.is_alive() for t in service._threads)
    depth = runtime.queue.depth()
    assert 0 < depth.visible + depth.in_flight + depth.delayed < queued  # some applied, rest kept
    assert runtime.queue.dead_letters() == []

    emulator.configure(workers=4, costs_ms={"products.save": 3.0})
    assert runtime.magento.deadline is None  # the stop's deadline did not outlive it
    runtime.updater.drain(max_wait_seconds=30)
    depth = runtime.queue.depth()
    assert depth.visible + depth.in_flight + depth.delayed == 0
    assert runtime.queue.dead_letters() == []
