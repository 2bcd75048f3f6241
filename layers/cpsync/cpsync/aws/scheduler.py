"""EventBridge Scheduler: the API's schedule mover in AWS."""

from __future__ import annotations

from typing import Any

__all__ = ["EventBridgeScheduleMover"]


class EventBridgeScheduleMover:
    """Moves a task's EventBridge Scheduler schedule when the operator changes it.

    The schedule is `<stack>-<task>`, as the template names it; the sync interface changes its
    expression or its switch.

    Args:
        stack: The stack name (`CPSYNC_STACK_NAME`, set by the template).
        scheduler: A boto3 EventBridge Scheduler client.
        cloud_runs: False in agent mode: the agent runs the tasks on the stored schedules, so
            the cloud schedule takes the expression but always stays disabled.
    """

    def __init__(self, stack: str, scheduler: Any, cloud_runs: bool = True) -> None:
        self.stack = stack
        self.scheduler = scheduler
        self.cloud_runs = cloud_runs

    def move(self, task: str, schedule: str, enabled: bool) -> None:
        """Apply the expression and the switch to the real schedule (time zone kept).

        Raises:
            ValueError: The expression is not a schedule EventBridge would take.
        """
        from zoneinfo import ZoneInfo

        from cpsync.schedules import parse_schedule

        parse_schedule(schedule, ZoneInfo("UTC"))  # ScheduleError is a ValueError
        name = f"{self.stack}-{task.replace('_', '-')}"
        current = self.scheduler.get_schedule(Name=name)
        update = {
            key: current[key]
            for key in ("GroupName", "Target", "FlexibleTimeWindow", "ScheduleExpressionTimezone")
            if key in current
        }
        self.scheduler.update_schedule(
            Name=name,
            ScheduleExpression=schedule,
            State="ENABLED" if enabled and self.cloud_runs else "DISABLED",
            **update,
        )
