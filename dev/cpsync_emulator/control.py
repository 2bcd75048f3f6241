"""Control routes under ``/__emulator/``: stats, reset, config, save, bulk pause/resume.

No authentication.

They exist for benchmarks and the demo driving an emulator in another process; in-process
tests can use the :class:`~emulator.server.EmulatorHandle` methods instead.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from cpsync_emulator.runtime import Emulator

__all__ = ["CONTROL_PREFIX", "control_routes"]

CONTROL_PREFIX = "/__emulator"


def control_routes(emulator: Emulator) -> list[BaseRoute]:
    """Routes bound to one emulator."""

    async def stats(_request: Request) -> Response:
        return JSONResponse(emulator.stats.snapshot())

    async def reset(_request: Request) -> Response:
        emulator.reset()
        return JSONResponse({"reset": True})

    async def get_config(_request: Request) -> Response:
        return JSONResponse(emulator.config.public_dump())

    async def set_config(request: Request) -> Response:
        try:
            changes: Any = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object of settings")
            emulator.configure(changes)
        except (ValueError, ValidationError) as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        return JSONResponse(emulator.config.public_dump())

    async def bulk_pause(_request: Request) -> Response:
        emulator.configure({"bulk_consumer_paused": True})
        return JSONResponse({"paused": True, "open": emulator.bulk.open_operations})

    async def bulk_resume(_request: Request) -> Response:
        emulator.configure({"bulk_consumer_paused": False})
        return JSONResponse({"paused": False, "open": emulator.bulk.open_operations})

    async def save(_request: Request) -> Response:
        path = emulator.save()
        return JSONResponse({"saved": str(path) if path else None})

    return [
        Route(f"{CONTROL_PREFIX}/stats", stats, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/config", get_config, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/config", set_config, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/save", save, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/bulk/pause", bulk_pause, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/bulk/resume", bulk_resume, methods=["POST"]),
    ]
