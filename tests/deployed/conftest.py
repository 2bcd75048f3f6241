"""Shared parts of the deployed-stack tests: ministack on a free port (one per session), the
Magento emulator, and `deploy()` of the built SAM template under a stack name and parameters.

Slow (a few minutes), so these tests run in their own step: `make e2e-aws` (also run by
.ci/run). They need `.venv-ministack` (made by that target: ministack pinned, on python3.12 so
the Lambdas run on the runtime of the template) and the build in `.aws-sam/`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from cpsync_emulator.config import EmulatorConfig
from cpsync_emulator.server import EmulatorHandle, running_emulator
from cpsync_sample.generate import SampleInfo, generate

ROOT = Path(__file__).resolve().parents[2]
MINISTACK = ROOT / ".venv-ministack" / "bin" / "ministack"
SAM = ROOT / ".venv-tools" / "bin" / "sam"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here deploys into ministack (minutes): only under `make e2e-aws`."""
    if os.environ.get("CPSYNC_MINISTACK") == "1":
        return
    skip = pytest.mark.skip(reason="deploys the SAM stack into ministack: run `make e2e-aws`")
    for item in items:
        if "tests/deployed" in str(item.fspath):
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def ministack_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """ministack on a free port, in its own process group; stopped by process id."""
    assert MINISTACK.exists(), "run `make e2e-aws` (it creates .venv-ministack)"
    port = _free_port()
    scratch = tmp_path_factory.mktemp("ministack")
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "TMPDIR": str(scratch),  # its Lambda worker folders land here, removed below
    }
    log = (scratch / "ministack.log").open("w")
    process = subprocess.Popen(
        [str(MINISTACK)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Well under a second here; up to a minute for a cold start on a loaded machine.
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_ministack/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("ministack did not start; see " + str(scratch / "ministack.log"))
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # ministack and its Lambda workers
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig()) as handle:
        yield handle


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
    }


def aws_client(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def deploy(
    endpoint: str,
    emulator: EmulatorHandle,
    tmp: Path,
    stack: str = "cpsync-e2e",
    parameters: dict[str, str] | None = None,
) -> dict[str, str]:
    """Deploy the built template as `stack` (MagentoUrl and a 1 s batching window set, then
    `parameters`); returns the stack's outputs."""
    s3 = aws_client(endpoint, "s3")
    if "sam-artifacts" not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket="sam-artifacts")
    config = tmp / "samconfig.toml"
    config.write_text("version = 0.1\n")  # not the repo's (it resolves an S3 bucket itself)
    subprocess.run(
        [
            str(SAM),
            "deploy",
            "--config-file",
            str(config),
            "--template-file",
            str(ROOT / ".aws-sam" / "build" / "template.yaml"),
            "--stack-name",
            stack,
            "--s3-bucket",
            "sam-artifacts",
            "--capabilities",
            "CAPABILITY_IAM",
            "CAPABILITY_AUTO_EXPAND",
            "--no-confirm-changeset",
            "--no-fail-on-empty-changeset",
            "--region",
            "us-east-1",
            "--parameter-overrides",
            f"MagentoUrl={emulator.url}",
            "UpdaterBatchingWindow=1",
            *(f"{k}={v}" for k, v in (parameters or {}).items()),
        ],
        cwd=ROOT,
        env=aws_env(endpoint),
        check=True,
        capture_output=True,
        timeout=600,
    )
    found = aws_client(endpoint, "cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in found["Outputs"]}


def workaround_ministack_numbers(endpoint: str) -> None:
    """ministack 1.5.33 keeps !Ref'd numbers of an event source mapping as strings and its SQS
    poller then fails ('>=' between int and str); CloudFormation converts them. Set them again
    through the API, with the template's own values."""
    lam = aws_client(endpoint, "lambda")
    for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
        lam.update_event_source_mapping(
            UUID=mapping["UUID"],
            BatchSize=int(mapping["BatchSize"]),
            MaximumBatchingWindowInSeconds=int(mapping["MaximumBatchingWindowInSeconds"]),
            ScalingConfig={
                "MaximumConcurrency": int(mapping["ScalingConfig"]["MaximumConcurrency"])
            },
        )


def wait_for(predicate: Any, seconds: float, what: str) -> None:
    """Poll `predicate` every second; fail naming `what` after `seconds`.

    The predicate is asked once more at the deadline, so a slow last poll still counts.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    if not predicate():
        pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")


def prefixed_sample(folder: Path, mark: str) -> tuple[Path, SampleInfo]:
    """The sample with `mark` before every item number and item image file name (and its
    lower case before every URL), so tests sharing the session's emulator do not collide."""
    info = generate(folder, items=43)
    db = folder / "counterpoint.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        for table in inspect(conn).get_table_names():
            columns = {c["name"] for c in inspect(conn).get_columns(table)}
            if "ITEM_NO" in columns:
                conn.execute(text(f'UPDATE "{table}" SET ITEM_NO = :m || ITEM_NO'), {"m": mark})
        conn.execute(
            text("UPDATE IM_ITEM SET URL = :m || URL WHERE URL IS NOT NULL"), {"m": mark.lower()}
        )
        custom = {
            str(r[0]).lower()
            for r in conn.execute(text("SELECT ECOMM_IMG_FILE FROM IM_ITEM"))
            if r[0]
        }
    engine.dispose()
    for path in sorted((folder / "ItemImages").iterdir()):
        if path.name.lower() not in custom:  # a custom file keeps the name IM_ITEM gives it
            path.rename(path.with_name(mark + path.name))
    return db, info


class Ministack:
    """What a deployed test uses: the endpoint, boto3 clients, `deploy`, `wait_for`,
    `prefixed_sample`."""

    root = ROOT

    def __init__(self, url: str) -> None:
        self.url = url

    def client(self, service: str) -> Any:
        return aws_client(self.url, service)

    def deploy(
        self,
        emulator: EmulatorHandle,
        tmp: Path,
        stack: str = "cpsync-e2e",
        parameters: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """Deploy the built template (see `deploy`) and set the mapping numbers right."""
        outputs = deploy(self.url, emulator, tmp, stack, parameters)
        workaround_ministack_numbers(self.url)
        return outputs

    wait_for = staticmethod(wait_for)
    prefixed_sample = staticmethod(prefixed_sample)


@pytest.fixture(scope="session")
def ministack(ministack_url: str) -> Ministack:
    return Ministack(ministack_url)
