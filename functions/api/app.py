"""The HTTP API and sync interface (API Gateway HTTP API -> the ASGI app of cpsync.api)."""

from aws_lambda_powertools.logging import correlation_paths

from cpsync.handlers import api_handler, logger, tracer


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
@tracer.capture_lambda_handler
def handler(event, context):
    return api_handler(event, context)
