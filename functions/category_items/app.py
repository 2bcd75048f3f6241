"""The category_items task: EventBridge Scheduler invokes it; it detects changes and queues them."""

from aws_lambda_powertools.logging import correlation_paths

from cpsync.handlers import handle_task, logger, metrics, tracer

tracer.patch(["sqlalchemy_core"])  # X-Ray: the Counterpoint queries (only tasks import SQLAlchemy)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return handle_task("category_items", event)
