"""What every route shares (`ApiContext`) and the dependency that refuses anonymous calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response

from cpsync.api.auth import COOKIE_NAME, AccessRules, Locked, Lockout, SessionSigner
from cpsync.api.schedules import ScheduleMover
from cpsync.jobs import JobRunner
from cpsync.runtime import Runtime
from cpsync.scheduler import Scheduler
from cpsync.tasks import TASKS

__all__ = [
    "ApiContext",
    "Ctx",
    "User",
    "check_api_key",
    "context",
    "known_task",
    "locked_answer",
    "require_user",
    "set_session",
]


@dataclass
class ApiContext:
    """The collaborators of one app: runtime, auth pieces, schedule mover, job runner."""

    runtime: Runtime
    signer: SessionSigner
    lockout: Lockout
    access: AccessRules
    mover: ScheduleMover
    jobs: JobRunner
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


def locked_answer(exc: Locked, user: str, host: str) -> HTTPException:
    """The 429 for a locked user or address, saying how long to wait."""
    minutes = max(1, round(exc.seconds / 60))
    who = user if exc.what == "user" else f"this address ({host})"
    return HTTPException(
        429, f"Too many failed sign-ins for {who}: wait {minutes} minute(s) and try again."
    )


def check_api_key(ctx: ApiContext, key: str, host: str) -> None:
    """Accept `key`; a wrong one counts against the address like a failed sign-in.

    Raises:
        HTTPException: 429 when the address is locked, 401 when the key is wrong.
    """
    valid = ctx.access.key_valid(key)
    try:
        ctx.lockout.api_key(host, valid)
    except Locked as exc:
        raise locked_answer(exc, "api key", host) from None
    if not valid:
        raise HTTPException(401, "This API key is not valid.")


def require_user(
    request: Request, response: Response, ctx: Annotated[ApiContext, Depends(context)]
) -> str:
    """The caller: an API key (`X-API-Key`) or a live session; anyone else gets 401.

    Raises:
        HTTPException: 401 without a valid key or session, 429 after too many wrong keys.
    """
    key = request.headers.get("x-api-key")
    if key is not None:
        check_api_key(ctx, key, request.client.host if request.client else "unknown")
        return "api key"
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
