"""What X-Ray keeps of a function's invoke: never the API's response, which sets the session
cookie. The deployed functions (functions/<name>/app.py) run with a recording trace provider
in place of the X-Ray recorder, so the test sees what would be sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from cpsync import handlers


class _Subsegment:
    def __init__(self, recorded: list[tuple[str, Any]]) -> None:
        self.recorded = recorded

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.recorded.append((key, value))

    def put_annotation(self, key: str, value: Any) -> None:
        pass


class _RecordingProvider:
    """The part of the X-Ray recorder that `Tracer.capture_lambda_handler` uses."""

    def __init__(self) -> None:
        self.metadata: list[tuple[str, Any]] = []

    @contextmanager
    def in_subsegment(self, name: str) -> Iterator[_Subsegment]:
        yield _Subsegment(self.metadata)


@pytest.fixture
def traces(monkeypatch: pytest.MonkeyPatch) -> _RecordingProvider:
    # Decided in the code, not only by the template's environment variable.
    monkeypatch.delenv("POWERTOOLS_TRACER_CAPTURE_RESPONSE", raising=False)
    provider = _RecordingProvider()
    monkeypatch.setattr(handlers.tracer, "provider", provider)
    return provider


def _sign_in(event: Any) -> dict[str, Any]:
    request = event("api")
    request["rawPath"] = request["requestContext"]["http"]["path"] = "/api/session"
    request["requestContext"]["http"]["method"] = "POST"
    request["headers"] = {**request["headers"], "content-type": "application/json"}
    request["body"] = json.dumps({"username": "admin", "password": "admin123"})
    return dict(request)


@pytest.fixture
def api_env(lambda_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CPSYNC_API_SESSION_SECRET", "s" * 48)
    handlers.reset()
    return lambda_env


def test_given_a_sign_in_through_the_api_function_then_x_ray_does_not_record_the_cookie(
    api_env, load_function, event, lambda_context, traces
) -> None:
    response = load_function("api").handler(_sign_in(event), lambda_context)

    assert response["statusCode"] == 200
    assert "cpsync_session=" in json.dumps(response)
    assert traces.metadata == []  # no "handler response", so no Set-Cookie in X-Ray


def test_a_handler_left_to_the_default_would_record_the_cookie(
    api_env, event, lambda_context, traces
) -> None:
    # The check above can fail: Powertools' default records the response, cookie included.
    @handlers.tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handlers.api_handler(event, context)

    handler(_sign_in(event), lambda_context)
    assert "cpsync_session=" in json.dumps(traces.metadata)
