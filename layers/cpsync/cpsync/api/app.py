"""The ASGI app: the sign-in routes, the JSON API, the OpenAPI document and the page.

Anonymous callers reach only `GET /api/health`, `POST /api/session` (sign-in) and the static
page files (HTML, JS and CSS without any data); everything else needs a session or an API key.
The optional IP allow-list applies to every route but health.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from cpsync.api import (
    check_routes,
    image_routes,
    import_media,
    magento_health,
    queue_routes,
    routes,
    schedule_routes,
)
from cpsync.api import schemas as S
from cpsync.api.auth import (
    COOKIE_NAME,
    AccessRules,
    Locked,
    Lockout,
    SessionSigner,
    local_admin_sign_in,
    magento_sign_in,
)
from cpsync.api.context import ApiContext, Ctx, User, check_api_key, locked_answer, set_session
from cpsync.api.schedules import EmbeddedScheduleMover, ScheduleMover
from cpsync.errors import ConfigurationError, CpsyncError
from cpsync.jobs import JobRunner, LocalJobs, error_of
from cpsync.redact import describe
from cpsync.runtime import Runtime
from cpsync.scheduler import Scheduler
from cpsync.settings import load_settings

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
_OPEN_PATHS = frozenset({"/api/health"})


class SignIn(BaseModel):
    """A Magento admin user and password, or an API key (stores with two-factor sign-in)."""

    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=255)
    api_key: str | None = Field(default=None, max_length=500)


def _words(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{'.'.join(where) or 'request'}: {message}")
    return "; ".join(parts)


def _sentence(exc: Exception) -> str:
    text = describe(exc)
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _words(exc)}, status_code=422)

    async def _refused(_: Request, exc: Exception) -> JSONResponse:
        # One mapping for routes and jobs (`cpsync.jobs.error_of`).
        error = error_of(exc)
        return JSONResponse({"detail": error.detail}, status_code=error.status)

    for kind in (OperationalError, CpsyncError):  # TaskBusy, NothingToSend... are CpsyncErrors
        app.add_exception_handler(kind, _refused)


def _install_guard(app: FastAPI, access: AccessRules) -> None:
    @app.middleware("http")
    async def _guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path not in _OPEN_PATHS:
            host = request.client.host if request.client else None
            if not access.address_allowed(host):
                return JSONResponse(
                    {"detail": f"Calls from {host} are not allowed (CPSYNC_API_ALLOWED_IPS)."},
                    status_code=403,
                )
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:"
        )
        return response


def _session_routes(app: FastAPI) -> None:
    @app.get("/api/health", summary="Liveness (anonymous)")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/api/session",
        summary="Sign in with the Magento admin user (or an API key)",
        responses=S.ERRORS,
    )
    def sign_in(body: SignIn, request: Request, response: Response, ctx: Ctx) -> dict[str, str]:
        host = request.client.host if request.client else "unknown"
        if body.api_key is not None:
            check_api_key(ctx, body.api_key, host)
            set_session(response, ctx, "api key")
            return {"user": "api key", "zone": ctx.runtime.settings.zone.key}
        if not body.username or not body.password:
            raise HTTPException(422, "Enter the Magento admin user name and password.")
        label = body.username.strip()
        try:
            attempt = ctx.lockout.reserve(label, host)
        except Locked as exc:
            raise locked_answer(exc, label, host) from None
        local = local_admin_sign_in(ctx.runtime.settings, label, body.password)
        if local is not None:  # the local admin: Magento is not asked (it may be down)
            if not local:
                raise HTTPException(401, "The user name or password is not right for this store.")
            ctx.lockout.succeeded(attempt)
            set_session(response, ctx, label)
            return {"user": label, "zone": ctx.runtime.settings.zone.key}
        outcome = magento_sign_in(ctx.runtime.settings, label, body.password)
        if not outcome.ok:
            if outcome.reason == "bad_credentials":
                raise HTTPException(401, outcome.message)  # the reservation stays counted
            ctx.lockout.not_checked(attempt)
            status = 403 if outcome.reason == "two_factor" else 503
            raise HTTPException(status, outcome.message)
        ctx.lockout.succeeded(attempt)
        set_session(response, ctx, label)
        return {"user": label, "zone": ctx.runtime.settings.zone.key}

    @app.get("/api/session", summary="Who is signed in", responses=S.ERRORS)
    def who(user: User, ctx: Ctx) -> dict[str, str]:
        return {"user": user, "zone": ctx.runtime.settings.zone.key}

    @app.delete("/api/session", summary="Sign out", responses=S.ERRORS)
    def sign_out(request: Request, ctx: Ctx) -> JSONResponse:
        session = ctx.signer.read(request.cookies.get(COOKIE_NAME))
        if session is None or ctx.lockout.revoked(session.sid):
            raise HTTPException(401, "Please sign in (your session may have expired).")
        ctx.lockout.revoke(session.sid, ctx.runtime.settings.api_session_idle_seconds)
        response = JSONResponse({"signed_out": session.user})
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(_: User) -> dict[str, Any]:
        return app.openapi()


def create_app(
    runtime: Runtime | None = None,
    *,
    schedule_mover: ScheduleMover | None = None,
    jobs: JobRunner | None = None,
    scheduler: Scheduler | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The sync interface app.

    Args:
        runtime: The wiring to act on (default: from the environment).
        schedule_mover: Moves real schedules (default: the runtime's `schedule_mover`
            attribute if it has one, else the embedded scheduler's).
        jobs: Runs the manual actions (default: threads of this process).
        scheduler: The embedded scheduler, to show next run times (`cpsync serve`).
        clock: Seconds since the epoch, for sessions and lockouts (tests move it).

    Raises:
        ConfigurationError: A setting of the API is invalid (names the variable).
    """
    runtime = runtime or Runtime(load_settings())
    settings = runtime.settings
    try:
        access = AccessRules(settings)
    except ValueError as exc:
        raise ConfigurationError(f"CPSYNC_API_ALLOWED_IPS: {exc}") from exc
    if settings.api_session_secret is None and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        logger.warning(
            "api_session_secret is missing from the secret: a sign-in lasts only while one "
            "Lambda container serves it. Put it back (any long random text)."
        )
    elif settings.api_session_secret is None:
        logger.info("CPSYNC_API_SESSION_SECRET is not set: sign-ins end when this process stops")
    secret = (
        settings.api_session_secret.get_secret_value().encode()
        if settings.api_session_secret
        else secrets.token_bytes(32)
    )
    app = FastAPI(
        title="cpsync sync interface",
        version="1",
        description="Manual actions and status of the Counterpoint -> Magento sync.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.cpsync = ApiContext(
        runtime=runtime,
        signer=SessionSigner(secret, settings.api_session_idle_seconds, clock),
        lockout=Lockout(
            runtime.state, settings.api_max_failed_signins, settings.api_lockout_seconds, clock
        ),
        access=access,
        # A runtime that fires tasks elsewhere (EventBridge Scheduler) offers its own mover.
        mover=schedule_mover or getattr(runtime, "schedule_mover", None) or EmbeddedScheduleMover(),
        jobs=jobs or LocalJobs(runtime),
        scheduler=scheduler,
        clock=clock,
    )
    _install_handlers(app)
    _install_guard(app, access)
    _session_routes(app)
    app.include_router(routes.router)
    app.include_router(queue_routes.router)
    app.include_router(image_routes.router)
    app.include_router(check_routes.router)
    app.include_router(schedule_routes.router)
    app.include_router(magento_health.router)
    app.include_router(import_media.router)  # signed links only (Magento's import)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
