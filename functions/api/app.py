"""The HTTP API and sync interface (API Gateway HTTP API -> the ASGI app of cpsync.api).

X-Ray never records the response: it carries the session cookie (Set-Cookie) and API data.
"""

from aws_lambda_powertools.logging import correlation_paths

from cpsync.handlers import api_handler, logger, tracer


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event, context):
    return api_handler(event, context)
