"""The status API's routes: read-only questions about messages, numbers and accounts."""

from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from sms_gateway import runtime
from sms_gateway.status.reader import page_size

router = APIGatewayHttpRouter()


def _query(name: str) -> str | None:
    value: str | None = router.current_event.get_query_string_value(name)
    return value


@router.get("/messages/<message_id>")
def message(message_id: str) -> dict[str, Any]:
    return (
        runtime.current()
        .status_reader()
        .message(
            unquote(message_id),
            after=_query("cursor"),
            limit=page_size(_query("limit")),
            show_content=_query("content") == "show",
        )
    )


@router.get("/recipients/<number>/messages")
def number(number: str) -> dict[str, Any]:
    # The resolver matches the raw path: a number's + and spaces arrive percent-encoded.
    return (
        runtime.current()
        .status_reader()
        .number(
            unquote(number),
            since=_query("since"),
            until=_query("until"),
            after=_query("cursor"),
            limit=page_size(_query("limit")),
        )
    )


@router.get("/accounts/<name>")
def account(name: str) -> dict[str, Any]:
    return runtime.current().status_reader().account(unquote(name))
