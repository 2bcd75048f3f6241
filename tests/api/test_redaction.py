"""A Counterpoint URL with a password never comes back in an answer, the run log or the CLI.

pymssql is not installed here, so using the URL fails the way a missing driver does on a
retailer's machine (the message used to quote the URL with its password).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PASSWORD = "S3cret-Pa55word"
URL = f"mssql+pymssql://sa:{PASSWORD}@127.0.0.1:1/CPSQL"


def test_given_a_url_with_a_password_when_routes_fail_then_no_answer_carries_it(make_api) -> None:
    api = make_api(counterpoint_url=URL)
    client = api.keyed()
    answers = [
        client.post("/api/counterpoint/check"),
        client.post("/api/tasks/items/queue-changed"),
        client.post("/api/tasks/items/sync-item", json={"key": "ITEM-1"}),
        client.post("/api/tasks/prices/queue-all"),
        client.get("/api/dashboard"),
        client.get("/api/log"),
        client.get("/api/tasks/items/log"),
    ]
    for response in answers:
        assert PASSWORD not in response.text, (response.request.url, response.text)
        assert response.status_code < 500 or response.status_code == 503, response.text
    health = answers[0].json()
    assert health["ok"] is False and "sa:***@127.0.0.1" in health["detail"]
    # The operator still learns what is wrong: the setting, the driver, the masked URL.
    failed = answers[1].json()["detail"]
    assert "CPSYNC_COUNTERPOINT_URL" in failed and "sa:***@127.0.0.1" in failed
    assert "pymssql" in failed
    runs = api.runtime.state.runs(limit=20)
    errors = api.runtime.state.errors(limit=100)
    assert PASSWORD not in repr(runs) + repr(errors)


def test_given_a_url_with_a_password_when_the_cli_fails_then_it_is_not_printed(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "CPSYNC_COUNTERPOINT_URL": URL,
        "CPSYNC_STATE_URL": f"sqlite:///{tmp_path}/state.db",
        "CPSYNC_BLOBS_DIR": str(tmp_path / "blobs"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "cpsync.cli", "-v", "run", "items"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert PASSWORD not in output
    assert "CPSYNC_COUNTERPOINT_URL" in output and "sa:***@" in output
