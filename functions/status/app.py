"""StatusFunction: the read-only status API (IAM-authorized HTTP API).

Domain errors become HTTP answers here, and only here.
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from routes import router

import sms_gateway.status.reader  # noqa: F401 - the read path, loaded at init, not in the first request
from sms_gateway.errors import ConfigurationError, NotFound
from sms_gateway.http_answers import ErrorHandler, error_answer, on_errors
from sms_gateway.observability import logger, metrics, tracer
from sms_gateway.status.cursor import InvalidQuery

app = APIGatewayHttpResolver()
app.include_router(router)


def _on(*errors: type[Exception]) -> Callable[[ErrorHandler], ErrorHandler]:
    return on_errors(app, *errors)


@_on(InvalidQuery)
def _bad_request(exc: InvalidQuery) -> Response[dict[str, str]]:
    return error_answer(400, str(exc))


@_on(NotFound)
def _not_found(exc: NotFound) -> Response[dict[str, str]]:
    return error_answer(404, str(exc))


@_on(ConfigurationError, ClientError, BotoCoreError)
def _unavailable(exc: Exception) -> Response[dict[str, str]]:
    logger.warning("status read failed", extra={"error": type(exc).__name__})
    return error_answer(503, "temporarily unavailable, ask again later")


@_on(Exception)
def _internal(exc: Exception) -> Response[dict[str, str]]:
    logger.error("status request failed", extra={"error": type(exc).__name__})
    return error_answer(500, "internal error")


@app.not_found
def _no_route(exc: Exception) -> Response[dict[str, str]]:
    return error_answer(
        404, "no such route; use GET /messages/{id}, /recipients/{number}/messages or /accounts/{name}"
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
