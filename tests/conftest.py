"""Fixtures every test folder may use: AWS through moto server over real HTTP.

One ThreadedMotoServer on a free 127.0.0.1 port per session; `aws` resets it and creates the
stack's resources (queue + DLQ with a redrive policy, command queue, table, bucket) per test.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto server shared by the session (fake credentials set for boto3)."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in _FAKE_ENV}
    os.environ.update(_FAKE_ENV)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@dataclass
class AwsStack:
    """The resources of the SAM stack, created in moto for one test."""

    endpoint: str
    queue_url: str
    dead_letter_url: str
    command_queue_url: str
    table: str
    bucket: str

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1")


def create_stack(endpoint: str, max_receives: int = 8) -> AwsStack:
    """Reset moto and create the stack's resources in it."""
    import boto3
    import httpx

    httpx.post(f"{endpoint}/moto-api/reset").raise_for_status()
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    dead = sqs.create_queue(QueueName="cpsync-dead")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": max_receives + 2})
    queue = sqs.create_queue(QueueName="cpsync-changes", Attributes={"RedrivePolicy": policy})[
        "QueueUrl"
    ]
    commands = sqs.create_queue(QueueName="cpsync-commands")["QueueUrl"]
    db = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    db.create_table(
        TableName="cpsync-state",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="cpsync-blobs")
    return AwsStack(endpoint, queue, dead, commands, "cpsync-state", "cpsync-blobs")


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> AwsStack:
    """A fresh stack in moto; boto3 clients made without an endpoint reach it too."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return create_stack(moto_endpoint)
