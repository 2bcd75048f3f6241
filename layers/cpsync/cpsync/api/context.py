"""What every route shares (`ApiContext`) and the dependency that refuses anonymous calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response

from cpsync.api.auth import COOKIE_NAME, AccessRules, Lockout, SessionSigner
from cpsync.api.images import ImageActions
from cpsync.api.schedules import ScheduleMover
from cpsync.runtime import Runtime
from cpsync.scheduler import Scheduler
from cpsync.tasks import TASKS

__all__ = ["ApiContext", "Ctx", "User", "context", "known_task", "require_user", "set_session"]


@dataclass
class ApiContext:
    """The collaborators of one app: runtime, auth pieces, schedule mover, image actions."""

    runtime: Runtime
    signer: SessionSigner
    lockout: Lockout
    access: AccessRules
    mover: ScheduleMover
    images: ImageActions
    scheduler: Scheduler | None = None
    clock: Callable[[], float] = time.time


def context(request: Request) -> ApiContext:
    """The app's context (set by `create_app`)."""
    ctx: ApiContext = request.app.state.cpsync
    return ctx


def set_session(response: Response, ctx: ApiContext, user: str, sid: str | None = None) -> None:
    """Issue (or, with `sid`, refresh) the signed session cookie."""
    settings = ctx.runtime.settings
    response.set_cookie(
        COOKIE_NAME,
        ctx.signer.issue(user, sid),
        max_age=settings.api_session_idle_seconds,
        httponly=True,
        secure=settings.api_cookie_secure,
        samesite="strict",
        path="/",
    )


def require_user(
    request: Request, response: Response, ctx: Annotated[ApiContext, Depends(context)]
) -> str:
    """The caller: an API key (`X-API-Key`) or a live session; anyone else gets 401.

    Raises:
        HTTPException: 401 without a valid key or session.
    """
    key = request.headers.get("x-api-key")
    if key is not None:
        if ctx.access.key_valid(key):
            return "api key"
        raise HTTPException(401, "This API key is not valid.")
    session = ctx.signer.read(request.cookies.get(COOKIE_NAME))
    if session is None or ctx.lockout.revoked(session.sid):
        raise HTTPException(401, "Please sign in (your session may have expired).")
    set_session(response, ctx, session.user, session.sid)
    return session.user


User = Annotated[str, Depends(require_user)]
Ctx = Annotated[ApiContext, Depends(context)]


def known_task(name: str) -> str:
    """A registered task name.

    Raises:
        HTTPException: 404 naming the tasks there are.
    """
    if name not in TASKS:
        known = ", ".join(TASKS)
        raise HTTPException(404, f"There is no task called {name!r}; the tasks are: {known}.")
    return name
