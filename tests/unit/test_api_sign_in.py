"""Sign-in answers of Magento stores the emulator does not play (docs/reference/magento.md#admin-token-and-two-factor-sign-in)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cpsync.api.auth import magento_sign_in
from cpsync.settings import Settings

ANSWERS: list[tuple[int, dict]] = []


class _Store(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        status, body = ANSWERS[0]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def store() -> Iterator[Settings]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Store)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield Settings(magento_url=f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "Please use the 2fa provider-specific endpoints to obtain a token."),
        (400, "Please use the 2fa provider-specific endpoints to obtain a token."),
        (
            401,
            "You are required to configure personal Two-Factor Authorization in order to login. "
            "Please check your email.",
        ),
    ],
)
def test_two_factor_stores_are_told_apart_from_a_wrong_password(
    store: Settings, status: int, message: str
) -> None:
    ANSWERS[:] = [(status, {"message": message, "parameters": {"active_providers": ["google"]}})]
    outcome = magento_sign_in(store, "admin", "right")
    assert (outcome.ok, outcome.reason) == (False, "two_factor")
    assert "API key" in outcome.message


def test_a_wrong_password_and_a_broken_store_are_different_answers(store: Settings) -> None:
    ANSWERS[:] = [
        (
            401,
            {
                "message": "The account sign-in was incorrect or your account is disabled "
                "temporarily. Please wait and try again later."
            },
        )
    ]
    assert magento_sign_in(store, "admin", "wrong").reason == "bad_credentials"
    ANSWERS[:] = [(500, {"message": "Internal Error"})]
    broken = magento_sign_in(store, "admin", "right")
    assert broken.reason == "unreachable" and "500" in broken.message
    ANSWERS[:] = [(200, "0123456789abcdef0123456789abcdef")]  # type: ignore[list-item]
    assert magento_sign_in(store, "admin", "right").ok
