"""`cpsync serve`: the scheduler, the updater and the sync interface in one process.

For a small shop on one machine: the embedded scheduler fires each task on its schedule
(through `run_scheduled`, so the switches apply), an updater thread drains the queue into
Magento every few seconds, and uvicorn serves the API and the page. Everything shares one
Runtime (SQLite state and queue).
"""

from __future__ import annotations

import logging
import threading
import time

import uvicorn

from cpsync.api.app import create_app
from cpsync.errors import CpsyncError
from cpsync.redact import install_log_filter
from cpsync.runtime import Runtime
from cpsync.scheduler import Scheduler

__all__ = ["Service"]

logger = logging.getLogger(__name__)


class Service:
    """The three loops of `cpsync serve`.

    Args:
        runtime: The wiring (embedded adapters).
        host: Address to listen on.
        port: Port to listen on.
        tick_seconds: How often the scheduler looks for due tasks.
        drain_seconds: How long the updater rests when the queue is empty.
    """

    def __init__(
        self,
        runtime: Runtime,
        host: str = "127.0.0.1",
        port: int = 8080,
        tick_seconds: float = 5.0,
        drain_seconds: float = 2.0,
    ) -> None:
        self.runtime = runtime
        self.scheduler = Scheduler(runtime.state, runtime.task, runtime.settings.zone)
        self.app = create_app(runtime, scheduler=self.scheduler)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host=host,
                port=port,
                log_level="warning",
                lifespan="off",
                # The caller behind a reverse proxy, for the allow-list and the lockouts.
                proxy_headers=True,
                forwarded_allow_ips=runtime.settings.api_trusted_proxies,
            )
        )
        # uvicorn set up its own handlers just now: mask passwords on them and on the root's.
        for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
            install_log_filter(logging.getLogger(name))
        self.tick_seconds = tick_seconds
        self.drain_seconds = drain_seconds
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def _drain_forever(self) -> None:
        settings = self.runtime.settings
        while not self.stopping.is_set():
            try:
                result = self.runtime.updater.drain(
                    batch_size=settings.updater_batch_size, max_wait_seconds=0, stop=self.stopping
                )
                if result.batches:
                    logger.info(
                        "updater: applied %d, retried %d, dead-lettered %d",
                        result.applied,
                        result.retried,
                        result.dead,
                    )
            except CpsyncError as exc:
                logger.error("updater: %s", exc)
            except Exception:
                logger.exception("updater loop failed; trying again")
            self.stopping.wait(self.drain_seconds)

    def start_background(self) -> None:
        """Start the scheduler and updater threads."""
        # Build the shared collaborators once, before several threads reach for them.
        _ = self.runtime.updater, self.runtime.context
        for target, name in (
            (lambda: self.scheduler.run_forever(self.stopping, self.tick_seconds), "scheduler"),
            (self._drain_forever, "updater"),
        ):
            thread = threading.Thread(target=target, name=f"cpsync-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def start(self, timeout: float = 10.0) -> None:
        """Start everything in background threads (tests); returns once HTTP answers.

        Raises:
            RuntimeError: The web server did not start in `timeout` seconds.
        """
        self.start_background()
        thread = threading.Thread(target=self.server.run, name="cpsync-http", daemon=True)
        thread.start()
        self._threads.append(thread)
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the sync interface did not start")
            time.sleep(0.02)

    def run(self) -> None:
        """Serve in the foreground until interrupted (Ctrl+C), then stop the loops."""
        self.start_background()
        try:
            self.server.run()
        except KeyboardInterrupt:
            # uvicorn shuts down gracefully, then re-raises the signal it caught.
            logger.info("cpsync serve stopped")
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop the loops and the web server and wait for them.

        A batch the updater is writing ends at once: Magento requests not yet started are not
        sent (`MagentoClient.until`), so their records go back to the queue as retries and the
        batch's state is written, instead of the process ending in the middle of it.
        """
        self.stopping.set()
        self.server.should_exit = True
        client = self.runtime.__dict__.get("magento")  # only when the updater built it
        previous = client.deadline if client is not None else None
        if client is not None:
            client.deadline = time.monotonic()
        for thread in self._threads:
            thread.join(timeout=10)
        # A thread still in a slow request keeps the deadline: it must start no other one.
        if client is not None and not any(t.is_alive() for t in self._threads):
            client.deadline = previous
