"""AWS-mode fixtures: a sample Counterpoint file, the Magento emulator, and settings that point
cpsync at moto (SQS, DynamoDB, S3) through the environment, as a Lambda would see them."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from cpsync import handlers
from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import SampleInfo, generate

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def aws_sample_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleInfo]:
    folder = tmp_path_factory.mktemp("aws-sample")
    return folder, generate(folder, items=43, now=NOW.replace(tzinfo=None))


@pytest.fixture
def aws_sample(
    aws_sample_template: tuple[Path, SampleInfo], tmp_path: Path
) -> tuple[Path, SampleInfo]:
    folder, info = aws_sample_template
    copy = tmp_path / "cp"
    shutil.copytree(folder, copy)
    return copy, info


@pytest.fixture
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig()) as handle:
        yield handle


@pytest.fixture
def lambda_env(
    aws: Any,
    aws_sample: tuple[Path, SampleInfo],
    emulator: EmulatorHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """The environment of the deployed functions, pointed at moto, the sample and the emulator."""
    env = {
        "CPSYNC_COUNTERPOINT_URL": f"sqlite:///{aws_sample[0]}/counterpoint.db",
        "CPSYNC_IMAGES_DIR": str(aws_sample[0] / "ItemImages"),
        "CPSYNC_MAGENTO_URL": emulator.url,
        "CPSYNC_MAGENTO_TOKEN": emulator.token,
        "CPSYNC_QUEUE_URL": aws.queue_url,
        "CPSYNC_TABLE_NAME": aws.table,
        "CPSYNC_BUCKET": aws.bucket,
        "CPSYNC_RETRY_BASE_SECONDS": "1",
        "CPSYNC_RETRY_MAX_SECONDS": "5",
        "CPSYNC_QUEUE_MAX_RECEIVES": "3",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "cpsync-test",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    handlers.reset()
    clock, built = aws_sample[1].clock(), handlers.runtime

    def on_sample_clock() -> Any:  # the sample's time, not today's
        rt = built()
        rt.clock = clock
        return rt

    monkeypatch.setattr(handlers, "runtime", on_sample_clock)
    yield SimpleNamespace(aws=aws, sample=aws_sample, emulator=emulator)
    handlers.reset()


@pytest.fixture
def load_function() -> Callable[[str], ModuleType]:
    """Import `functions/<name>/app.py` as deployed (a fresh module per call)."""

    def load(name: str) -> ModuleType:
        path = ROOT / "functions" / name / "app.py"
        spec = importlib.util.spec_from_file_location(f"fn_{name}_app", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def lambda_context() -> Any:
    return SimpleNamespace(
        function_name="cpsync-test",
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:cpsync-test",
        aws_request_id="req-1",
        get_remaining_time_in_millis=lambda: 60_000,
    )


@pytest.fixture
def event() -> Callable[[str], dict[str, Any]]:
    """A sample event from events/<name>.json."""
    import json

    return lambda name: json.loads((ROOT / "events" / f"{name}.json").read_text())


API_KEY = "test-api-key-0123456789abcdef"


@pytest.fixture
def api_event(
    event: Callable[[str], dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., dict[str, Any]]:
    """HTTP API requests for the API function, as API Gateway sends them, carrying an API
    key the function accepts (`CPSYNC_API_KEYS` is set here): api_event(method, path, body)."""
    import json

    monkeypatch.setenv("CPSYNC_API_KEYS", json.dumps([API_KEY]))

    def build(method: str, path: str, body: Any = None) -> dict[str, Any]:
        request = event("api")
        request["rawPath"] = request["requestContext"]["http"]["path"] = path
        request["requestContext"]["http"]["method"] = method
        request["headers"] = {**request["headers"], "x-api-key": API_KEY}
        if body is not None:
            request["headers"]["content-type"] = "application/json"
            request["body"] = json.dumps(body)
        return request

    return build
