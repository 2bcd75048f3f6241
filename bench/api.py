"""Sync interface benchmark: `python -m bench.api --items 200 2000` (figures printed, not asserted).

The app under uvicorn on 127.0.0.1 against a sample database and the emulator, called over
HTTP with an API key, as the page does. Measured per size: the dashboard (every task's status,
the queue depth) and the queue list, p50 and p95 over 20 calls; one Queue Changed of the Items
task on a first run (every item read and queued); one Sync Item; an Images search and one
image's Sync now.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from cpsync.api import create_app
from cpsync.runtime import Runtime
from cpsync.settings import load_settings
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import running_emulator
from cpsync_sample.generate import generate

RESULTS = Path(__file__).parent / "results" / "api.json"


def _timed(
    call: Callable[[], httpx.Response], times: int = 1
) -> tuple[httpx.Response, dict[str, float]]:
    seconds = []
    response = None
    for _ in range(times):
        started = time.perf_counter()
        response = call()
        seconds.append(time.perf_counter() - started)
        response.raise_for_status()
    assert response is not None
    seconds.sort()
    figures = {"p50_ms": round(statistics.median(seconds) * 1000, 1)}
    if times > 1:
        figures["p95_ms"] = round(seconds[int(0.95 * (times - 1))] * 1000, 1)
    return response, figures


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(items: int) -> dict[str, Any]:
    """One size: a fresh sample, emulator, state and app."""
    with tempfile.TemporaryDirectory() as folder, running_emulator(EmulatorConfig()) as emulator:
        root = Path(folder)
        info = generate(root / "cp", items=items, now=datetime(2026, 11, 27, 14))
        runtime = Runtime(
            load_settings(
                counterpoint_url=f"sqlite:///{root}/cp/counterpoint.db",
                images_dir=root / "cp" / "ItemImages",
                blobs_dir=root / "blobs",
                state_url=f"sqlite:///{root}/state.db",
                magento_url=emulator.url,
                magento_token=emulator.token,
                api_keys=["bench-api-key-0123456789abcdef"],
            )
        )
        port = _port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(runtime), port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"X-API-Key": "bench-api-key-0123456789abcdef"},
            timeout=300,
        )
        item = info.special["slash_item"]
        try:
            result: dict[str, Any] = {"items": items}
            queued, result["queue_changed_first_run"] = _timed(
                lambda: client.post("/api/tasks/items/queue-changed")
            )
            result["queue_changed_first_run"]["queued"] = queued.json()["queued"]
            _, result["dashboard"] = _timed(lambda: client.get("/api/dashboard"), 20)
            _, result["queue_list_100"] = _timed(
                lambda: client.get("/api/queue", params={"limit": 100}), 20
            )
            _, result["sync_item"] = _timed(
                lambda: client.post("/api/tasks/items/sync-item", json={"key": item})
            )
            _, result["images_check"] = _timed(
                lambda: client.post("/api/images/check", json={"item_no": item})
            )
            _, result["images_search"] = _timed(
                lambda: client.get("/api/images", params={"file_name": "MUG_12"}), 20
            )
            _, result["image_sync_now"] = _timed(
                lambda: client.post(
                    "/api/images/sync", json={"file_name": "MUG_12^2.jpg", "item_no": item}
                )
            )
        finally:
            client.close()
            server.should_exit = True
            thread.join(timeout=10)
            runtime.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[200, 2000])
    args = parser.parse_args()
    results = [measure(n) for n in args.items]
    print(json.dumps(results, indent=1))
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
