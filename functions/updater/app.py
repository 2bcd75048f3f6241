"""The updater: SQS batches of Changes -> Magento, with partial batch failures."""

from cpsync.handlers import handle_updater, logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path="Records[0].messageId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return handle_updater(event, context)
