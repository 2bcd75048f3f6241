"""What a manager relies on when something goes wrong: the Magento card, sign-in while Magento
is down (the local admin), and each task's outcome in Magento, not only what was queued."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import datetime

import pytest

from cpsync.api.auth import hash_password, verify_password
from cpsync.errors import ConfigurationError
from cpsync.settings import load_settings
from tests.helpers import clash_url_key

PASSWORD = "correct horse battery"


def _closed_port_url() -> str:
    with socket.socket() as s:  # a port nothing listens on: Magento is down
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_given_a_password_when_hashed_then_salted_and_only_that_password_matches() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second and first.startswith("scrypt$")  # a random salt each time
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "!", first)
    assert not verify_password(PASSWORD, "scrypt$broken")


def test_given_hash_password_when_run_then_it_prints_a_local_admin_setting() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cpsync.cli", "hash-password", "--user", "manager"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    user, _, stored = done.stdout.strip().partition(":")
    assert user == "manager" and verify_password(PASSWORD, stored)
    assert PASSWORD not in done.stdout


def test_given_magento_down_when_the_local_admin_signs_in_then_it_works_and_counts_failures(
    make_api,
) -> None:
    setting = f"manager:{hash_password(PASSWORD)}"
    api = make_api(magento_url=_closed_port_url(), api_local_admin=setting)
    client = api.client()
    # The Magento admin cannot sign in (Magento does not answer) ...
    refused = client.post("/api/session", json={"username": "admin", "password": "admin123"})
    assert refused.status_code == 503
    # ... the local admin can, and sees the Magento card red.
    wrong = client.post("/api/session", json={"username": "manager", "password": "nope"})
    assert wrong.status_code == 401
    signed = client.post("/api/session", json={"username": "manager", "password": PASSWORD})
    assert signed.status_code == 200 and signed.json()["user"] == "manager"
    health = client.get("/api/magento").json()
    assert health["ok"] is False and health["reachable"] is False
    assert "refused" in health["detail"] and "Errno" not in health["detail"]
    # Wrong passwords count against the same lockout as Magento sign-ins.
    for _ in range(6):
        client.post("/api/session", json={"username": "manager", "password": "nope"})
    locked = client.post("/api/session", json={"username": "manager", "password": PASSWORD})
    assert locked.status_code == 429


def test_given_a_local_admin_setting_without_a_hash_when_starting_then_it_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"CPSYNC_API_LOCAL_ADMIN.*hash-password"):
        load_settings(api_local_admin="manager:plaintext")


def test_given_magento_up_when_checked_then_the_card_is_green_with_the_last_write(api) -> None:
    client = api.keyed()
    before = client.get("/api/magento").json()
    assert before["ok"] is True and before["signed_in"] is True and before["last_write"] is None
    client.post("/api/tasks/categories/queue-all")
    api.runtime.updater.drain(max_wait_seconds=5)
    after = client.get("/api/magento").json()
    assert after["last_write"] is not None and after["waiting"] == 0
    assert datetime.fromisoformat(after["last_write"]).utcoffset() is not None


def test_given_magento_refuses_records_then_the_task_says_so_not_ok(api) -> None:
    client = api.keyed()
    clash_url_key(api.runtime, api.emulator, api.sample.special["slash_item"])
    queued = client.post("/api/tasks/items/queue-all").json()["queued"]
    api.runtime.updater.drain(max_wait_seconds=5)
    task = client.get("/api/tasks/items").json()
    assert task["last_run"]["trigger"] == "queue_all"
    magento = task["magento"]
    assert magento["parked"] > 0 and magento["applied"] + magento["parked"] <= queued
    assert magento["waiting"] == 0
    # A one-item lookup afterwards does not hide that run's outcome.
    key = api.sample.ecommerce_item_nos[0]
    client.post("/api/tasks/items/queue-item", json={"key": key.lower()})
    again = client.get("/api/tasks/items").json()
    assert again["last_run"]["run_id"] == task["last_run"]["run_id"]


def test_given_an_item_number_in_lower_case_then_it_is_found(api) -> None:
    client = api.keyed()
    key = api.sample.special["slash_item"]  # MUG/12
    answer = client.post("/api/tasks/items/queue-item", json={"key": key.lower()})
    assert answer.status_code == 200 and answer.json()["read"] == 1
    unknown = client.post("/api/tasks/items/sync-item", json={"key": "nope-123"})
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("No such item")
