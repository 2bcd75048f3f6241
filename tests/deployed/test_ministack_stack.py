"""The SAM stack for real: `sam build`, `sam deploy` into ministack, the Items function invoked,
the updater Lambda triggered by the queue writing products into the Magento emulator, and a
record Magento refuses landing in the dead-letter queue with its reason.

Slow (a few minutes), so it runs in its own step: `make e2e-aws` (also run by .ci/run). It
needs `.venv-ministack` (made by that target: ministack pinned, on python3.12 so the Lambdas run
on the runtime of the template) and the build in `.aws-sam/`.
"""

from __future__ import annotations

import json
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
from sqlalchemy import create_engine, update

from cpsync.aws import DynamoState
from cpsync.counterpoint.schema import IM_ITEM
from emulator.config import EmulatorConfig
from emulator.server import EmulatorHandle, running_emulator
from sample.generate import generate

ROOT = Path(__file__).resolve().parents[2]
MINISTACK = ROOT / ".venv-ministack" / "bin" / "ministack"
SAM = ROOT / ".venv-tools" / "bin" / "sam"
STACK = "cpsync-e2e"

pytestmark = pytest.mark.skipif(
    os.environ.get("CPSYNC_MINISTACK") != "1",
    reason="deploys the SAM stack into ministack (minutes): run `make e2e-aws`",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ministack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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
        for _ in range(100):
            try:
                if httpx.get(f"{url}/_ministack/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
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


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with running_emulator(EmulatorConfig()) as handle:
        yield handle


def _aws_env(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
    }


def _client(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _deploy(endpoint: str, emulator: EmulatorHandle, tmp: Path) -> dict[str, str]:
    _client(endpoint, "s3").create_bucket(Bucket="sam-artifacts")
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
            STACK,
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
        ],
        cwd=ROOT,
        env=_aws_env(endpoint),
        check=True,
        capture_output=True,
        timeout=600,
    )
    stack = _client(endpoint, "cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def _workaround_ministack_numbers(endpoint: str) -> None:
    """ministack 1.5.33 keeps !Ref'd numbers of an event source mapping as strings and its SQS
    poller then fails ('>=' between int and str); CloudFormation converts them. Set them again
    through the API, with the template's own values."""
    lam = _client(endpoint, "lambda")
    for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
        lam.update_event_source_mapping(
            UUID=mapping["UUID"],
            BatchSize=int(mapping["BatchSize"]),
            MaximumBatchingWindowInSeconds=int(mapping["MaximumBatchingWindowInSeconds"]),
            ScalingConfig={
                "MaximumConcurrency": int(mapping["ScalingConfig"]["MaximumConcurrency"])
            },
        )


def _wait(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}")


def test_the_deployed_stack_syncs_items_into_magento_and_parks_a_refused_one(
    ministack: str, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    info = generate(tmp_path / "cp", items=43)
    db = tmp_path / "cp" / "counterpoint.db"
    refused = sorted(set(info.ecommerce_item_nos) - set(info.grid_item_nos))[0]
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(update(IM_ITEM).where(IM_ITEM.c.ITEM_NO == refused).values(URL="taken-url"))
    engine.dispose()
    httpx.post(
        f"{emulator.rest_url}/all/V1/products",
        headers={"Authorization": f"Bearer {emulator.token}"},
        json={
            "product": {
                "sku": "SOMEONE-ELSE",
                "name": "x",
                "price": 1,
                "attribute_set_id": 4,
                "custom_attributes": [{"attribute_code": "url_key", "value": "taken-url"}],
            }
        },
    ).raise_for_status()

    outputs = _deploy(ministack, emulator, tmp_path)
    _workaround_ministack_numbers(ministack)
    secrets = _client(ministack, "secretsmanager")
    secret = json.loads(secrets.get_secret_value(SecretId=outputs["SecretArn"])["SecretString"])
    # The stack generated the key that signs the sync interface's sessions, shared by every
    # API container; the operator fills in the rest.
    assert set(secret) == {"magento_token", "counterpoint_url", "api_session_secret"}
    assert len(secret["api_session_secret"]) == 48
    secret |= {"magento_token": emulator.token, "counterpoint_url": f"sqlite:///{db}"}
    secrets.put_secret_value(SecretId=outputs["SecretArn"], SecretString=json.dumps(secret))

    invoked = _client(ministack, "lambda").invoke(
        FunctionName=outputs["ItemsFunctionName"],
        Payload=json.dumps(json.loads((ROOT / "events" / "items.json").read_text())),
    )
    result = json.loads(invoked["Payload"].read())
    assert "FunctionError" not in invoked, result
    assert result["ran"] and result["queued"] > 10

    state = DynamoState(outputs["StateTableName"], _client(ministack, "dynamodb"))
    skus = set(state.get_sent("product")) - {refused}  # what the Items function queued
    assert len(skus) == result["queued"] - 1

    def synced() -> bool:
        return skus <= set(emulator.store.products_by_sku())

    _wait(synced, 180, "the updater Lambda to write the products")
    sqs = _client(ministack, "sqs")
    dead: list[dict[str, Any]] = []

    def parked() -> bool:
        dead.extend(
            sqs.receive_message(
                QueueUrl=outputs["DeadLetterQueueUrl"], MessageAttributeNames=["All"]
            ).get("Messages", [])
        )
        return bool(dead)

    _wait(parked, 60, "the refused record in the dead-letter queue")
    (message,) = dead
    reason = message["MessageAttributes"]["reason"]["StringValue"]
    assert reason.startswith(f"product {refused}: ")
    assert "URL key for specified store already exists." in reason
    assert refused not in emulator.store.products_by_sku()
    depth = sqs.get_queue_attributes(
        QueueUrl=outputs["ChangeQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert depth == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
