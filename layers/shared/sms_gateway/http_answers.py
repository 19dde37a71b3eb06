"""What the HTTP functions share to map domain errors to answers (each function keeps its own map)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

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
