"""The HTTP API and the sync interface: `create_app()` returns the ASGI app.

The same app runs under uvicorn (`cpsync serve`) and, wrapped, in a Lambda behind API
Gateway. Modules: `app` (routes), `auth` (sign-in, sessions, keys), `actions` (queue and sync
buttons), `images` (the Images tab), `schedules` (moving real schedules), `static/` (the page).
"""

from __future__ import annotations

from cpsync.api.app import create_app
from cpsync.api.images import ImageActions
from cpsync.api.schedules import EmbeddedScheduleMover, ScheduleMover

__all__ = ["EmbeddedScheduleMover", "ImageActions", "ScheduleMover", "create_app"]
