"""What the AWS adapters share: the boto3 client factory and small helpers.

Environment variables read here: none directly; boto3 reads `AWS_REGION`,
`AWS_ENDPOINT_URL` and the credentials chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Clock", "client", "error_code"]

Clock = Callable[[], float]


def client(service: str, **kwargs: Any) -> Any:
    """A boto3 client with bounded retries and timeouts.

    Standard retry mode: throttling and 5xx are retried with backoff, 8 attempts. boto3 is
    imported here, lazily, so the embedded mode never needs it. The read timeout leaves room
    for a 20 s SQS long poll.

    Returns:
        The client of `service`.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=40,
        max_pool_connections=16,
    )
    if (extra := kwargs.pop("config", None)) is not None:
        config = config.merge(extra)
    return boto3.client(service, config=config, **kwargs)


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError (empty for any other exception)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
