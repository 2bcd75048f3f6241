"""`cpsync serve`: one process answers the API, drains the queue and stops on Ctrl+C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from emulator.server import EmulatorHandle
from sample.generate import SampleInfo


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_the_api_and_its_updater_applies_what_a_button_queued(
    sample: tuple[Path, SampleInfo], tmp_path: Path, emulator: EmulatorHandle
) -> None:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPSYNC_")}
    env.update(
        CPSYNC_COUNTERPOINT_URL=f"sqlite:///{sample[0]}/counterpoint.db",
        CPSYNC_IMAGES_DIR=str(sample[0] / "ItemImages"),
        CPSYNC_BLOBS_DIR=str(tmp_path / "blobs"),
        CPSYNC_STATE_URL=f"sqlite:///{tmp_path}/state.db",
        CPSYNC_MAGENTO_URL=emulator.url,
        CPSYNC_MAGENTO_TOKEN=emulator.token,
        CPSYNC_API_KEYS='["serve-test-key"]',
        CPSYNC_API_COOKIE_SECURE="false",
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
            base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": "serve-test-key"}
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "cpsync serve did not start"
            time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/api/dashboard").status_code == 401
        queued = client.post("/api/tasks/items/queue-changed").json()["queued"]
        assert queued > 0
        deadline = time.monotonic() + 30
        while len(emulator.store.products_by_sku()) < 10:
            assert time.monotonic() < deadline, "the updater loop applied nothing"
            time.sleep(0.1)
        assert "sync interface" in httpx.get(f"http://127.0.0.1:{port}/").text
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, process.stdout.read() if process.stdout else ""
