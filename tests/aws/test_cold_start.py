"""Cold starts: each Lambda function imports only what its job uses.

Each test imports `functions/<name>/app.py` in a fresh interpreter, as Lambda does, with
`LAMBDA_TASK_ROOT` set so that Powertools' Tracer patches what it patches in Lambda, then
does what the first invocation imports (a task function resolves its task class, the updater
builds its writers, the API builds its app), and looks at `sys.modules`. A module that shows
up here is paid for on every cold start of that function (`python -m bench.cold_start`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TASKS = ["items", "categories", "category_items", "inventory", "prices", "image_changes", "images"]
# Loaded only where a job needs them: Pillow when an image file is prepared, pymssql and
# SQLAlchemy's SQL Server dialect when the Counterpoint engine is created.
NEVER_AT_START = ["PIL", "pymssql", "sqlalchemy.dialects.mssql", "cpsync.imaging"]
API_ONLY = ["fastapi", "starlette", "mangum", "cpsync.api"]

# What the first invocation imports, without reaching any service.
FIRST_CALL = {
    "updater": (
        "from cpsync.runtime import Runtime\n"
        "from cpsync.settings import load_settings\n"
        "Runtime(load_settings(table_name='state', queue_url='http://127.0.0.1:9/q',"
        " dead_letter_queue_url='http://127.0.0.1:9/dlq', bucket='blobs',"
        " magento_url='http://127.0.0.1:9', magento_token='x')).updater\n"
    ),
    "api": "import cpsync.api, mangum\n",
}


def _loaded(function: str, first_call: bool) -> set[str]:
    """The modules in `sys.modules` after importing the function (and its first call)."""
    folder = ROOT / "functions" / function
    code = f"import sys\nsys.path.insert(0, {str(folder)!r})\nimport app\n"
    if first_call:
        code += FIRST_CALL.get(function, f"from cpsync.tasks import TASKS\nTASKS[{function!r}]\n")
    code += "import json\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {
        **os.environ,
        "LAMBDA_TASK_ROOT": str(folder),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def _present(loaded: set[str], names: list[str]) -> list[str]:
    return [n for n in names if n in loaded]


@pytest.mark.parametrize("task", TASKS)
def test_a_task_function_loads_its_own_task_and_neither_pillow_nor_the_api(task: str) -> None:
    at_import = _loaded(task, first_call=False)
    assert _present(at_import, NEVER_AT_START + API_ONLY) == []
    assert not {m for m in at_import if m.startswith("cpsync.tasks.")}, "a task at import"

    after = _loaded(task, first_call=True)
    assert f"cpsync.tasks.{task}" in after
    assert _present(after, NEVER_AT_START + API_ONLY) == []
    assert "cpsync.magento.products" not in after  # writers belong to the updater
    # Only the tasks this task's module is built on (Items finds new items' images).
    built_on = {
        "items": {"categories", "image_changes"},
        "category_items": {"categories"},
        "images": {"image_changes"},
    }.get(task, set())
    others = {m.split(".")[2] for m in after if m.startswith("cpsync.tasks.") and "._" not in m}
    assert others - {task, "base"} == built_on


def test_the_updater_loads_no_sqlalchemy_no_task_and_no_pillow() -> None:
    for first_call in (False, True):
        loaded = _loaded("updater", first_call)
        assert _present(loaded, [*NEVER_AT_START, *API_ONLY, "sqlalchemy"]) == [], first_call
        assert not {m for m in loaded if m.startswith("cpsync.tasks.")}
        assert "cpsync.embedded" not in loaded  # the SQLite adapters
    assert "cpsync.magento.products" in loaded  # its writers, built on the first batch


def test_the_api_loads_neither_pillow_nor_the_sql_server_driver() -> None:
    at_import = _loaded("api", first_call=False)
    assert _present(at_import, [*NEVER_AT_START, *API_ONLY, "sqlalchemy"]) == []
    after = _loaded("api", first_call=True)
    assert "fastapi" in after
    assert _present(after, NEVER_AT_START) == []
