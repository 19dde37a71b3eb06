"""What the HTTP functions share to map domain errors to answers (each function keeps its own map)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from aws_lambda_powertools.event_handler import Response, content_types

from sms_gateway.observability import redact

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

ErrorHandler = TypeVar("ErrorHandler", bound=Callable[..., "Response[dict[str, str]]"])


def on_errors(
    app: APIGatewayHttpResolver, *errors: type[Exception]
) -> Callable[[ErrorHandler], ErrorHandler]:
    """Powertools' ``exception_handler`` for several errors, typed: its own decorator is not annotated."""

    def register(handler: ErrorHandler) -> ErrorHandler:
        for error in errors:
            app.exception_handler(error)(handler)
        return handler

    return register


def error_answer(status: int, reason: str) -> Response[dict[str, str]]:
    """A JSON ``{"error": reason}`` answer: a short reason, never a stack trace (vendors log the
    callback's answers verbatim). A reason can quote the asked number or the pushed body, so it is
    redacted as a log line is."""
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body={"error": redact(reason)}
    )
