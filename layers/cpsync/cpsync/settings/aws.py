"""Settings of the section "AWS" of `docs/configuration.md`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from cpsync.settings._section import SettingsSection

__all__ = ["AwsSettings"]


class AwsSettings(SettingsSection):
    """The stack's resources; set, they switch the adapters to AWS."""

    section_title: ClassVar[str] = "AWS"
    section_intro: ClassVar[str] = (
        "Set by the SAM stack (or, for the agent, from the stack's outputs): set, they switch the "
        "adapters to SQS, DynamoDB and S3 ([deploying to AWS](deploy-aws.md))."
    )

    queue_url: str | None = Field(
        default=None,
        description="SQS queue of Changes; set, the queue is SQS (AWS mode).",
        examples=["https://sqs.us-east-1.amazonaws.com/123456789012/cpsync-changes"],
    )
    dead_letter_queue_url: str | None = Field(
        default=None,
        description="Its dead-letter queue; unset, read from the redrive policy.",
        examples=["https://sqs.us-east-1.amazonaws.com/123456789012/cpsync-changes-dlq"],
    )
    table_name: str | None = Field(
        default=None,
        description="DynamoDB table of cpsync's state; set, state is DynamoDB.",
        examples=["cpsync-state"],
    )
    bucket: str | None = Field(
        default=None,
        description="S3 bucket of image blobs and oversized queue messages.",
        examples=["cpsync-blobs-123456789012"],
    )
    command_queue_url: str | None = Field(
        default=None,
        description="SQS queue the agent long-polls for commands from the cloud.",
        examples=["https://sqs.us-east-1.amazonaws.com/123456789012/cpsync-commands"],
    )
    secret_id: str | None = Field(
        default=None,
        description="Secrets Manager secret (a JSON object whose keys are settings, such as "
        "`magento_token` and `counterpoint_url`), read at start and cached 5 minutes.",
        examples=["arn:aws:secretsmanager:us-east-1:123456789012:secret:cpsync-AbCdEf"],
    )
    stack_name: str | None = Field(
        default=None,
        description="Name of the SAM stack (set by the template): the API function moves the "
        "task schedules and invokes the task functions named `<stack>-<task>`.",
        examples=["cpsync"],
    )
    run_log_days: int = Field(
        default=30,
        ge=1,
        description="Days runs and errors are kept in DynamoDB (TTL).",
        examples=[90],
    )
    connection_mode: Literal["direct", "agent"] = Field(
        default="direct",
        description="How AWS reaches Counterpoint: `direct` (the task Lambdas) or `agent` (in "
        "the store); manual actions (jobs) go to the task's Lambda in direct mode and to the "
        "agent's command queue in agent mode.",
        examples=["agent"],
    )
