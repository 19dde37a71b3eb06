"""CallbackFunction: vendor pushes over the HTTP API.

Domain errors become HTTP answers here, and only here.
"""

import contextlib
from collections.abc import Callable
from typing import Any

# Loaded at init, not in the first request, as everything each push uses: the phone metadata and
# the ingest path (the shared package imports them lazily). No HTTP client: no vendor is called.
import phonenumbers  # noqa: F401
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from routes import router

import sms_gateway.ingest  # see phonenumbers above
import sms_gateway.store.facade  # noqa: F401 - likewise the table's parts, which Runtime.store builds
from sms_gateway import runtime
from sms_gateway.errors import (
    ConfigurationError,
    NotFound,
    PushRejected,
    PushTooLarge,
    PushUnauthorized,
    StorageUnavailable,
)
from sms_gateway.http_answers import ErrorHandler, error_answer, on_errors
from sms_gateway.observability import VENDOR_ROLLUP, emit, logger, metrics, status_class, tracer

app = APIGatewayHttpResolver()
app.include_router(router)


def _on(*errors: type[Exception]) -> Callable[[ErrorHandler], ErrorHandler]:
    return on_errors(app, *errors)


@_on(PushRejected)
def _bad_request(exc: PushRejected) -> Response[dict[str, str]]:
    return error_answer(400, str(exc))


@_on(PushTooLarge)
def _too_large(exc: PushTooLarge) -> Response[dict[str, str]]:
    return error_answer(413, str(exc))


@_on(PushUnauthorized)
def _unauthorized(exc: PushUnauthorized) -> Response[dict[str, str]]:
    return error_answer(401, str(exc))


@_on(NotFound)
def _not_found(exc: NotFound) -> Response[dict[str, str]]:
    return error_answer(404, str(exc))


@_on(ConfigurationError, StorageUnavailable, ClientError, BotoCoreError)
def _unavailable(exc: Exception) -> Response[dict[str, str]]:
    # Nothing was acknowledged: the vendor keeps the report and pushes again.
    logger.exception("push not stored")
    return error_answer(503, "temporarily unavailable, push again later")


@_on(Exception)
def _internal(exc: Exception) -> Response[dict[str, str]]:
    # A defect of ours, never the body's (parsing turns every slip into a 400): no trace and no
    # body in the answer or the log, only the type.
    logger.error("push failed", extra={"error": type(exc).__name__})
    return error_answer(500, "internal error")


def _no_route(exc: Exception) -> Response[dict[str, str]]:
    return error_answer(404, "no such route; use POST /callbacks/{account}/{kind}")


app.not_found(_no_route)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    answer = app.resolve(event, context)
    _count_answer(event, int(answer["statusCode"]))
    return answer


def _count_answer(event: dict[str, Any], status: int) -> None:
    # Only an account of the document names a dimension: a made-up path segment is "unknown".
    name, account = (event.get("pathParameters") or {}).get("account"), None
    with contextlib.suppress(Exception):  # the answer is decided; counting it must not change it
        account = runtime.current().registry().find(name) if name else None
    emit(
        "CallbackAnswers",
        dimensions={
            "vendor": account.vendor if account else None,
            "account": account.name if account else None,
            "status_class": status_class(status),
        },
        rollups=(("status_class",), (*VENDOR_ROLLUP, "status_class")),
    )
