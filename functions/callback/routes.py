"""Vendor push routes: POST /callbacks/{account}/{kind}?token=..."""

import base64
import binascii

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from sms_gateway import runtime
from sms_gateway.errors import PushRejected

router = APIGatewayHttpRouter()


@router.post("/callbacks/<account>/<kind>")
def push(account: str, kind: str) -> Response[str]:
    event = router.current_event
    raw = event.body or ""
    try:
        body = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode("utf-8")
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise PushRejected("body is not valid base64 or UTF-8") from exc
    query = dict(event.query_string_parameters or {})
    service = runtime.current().push_service()
    answer = service.handle(
        account, kind, query.pop("token", None), headers=dict(event.headers), query=query, body=body
    )
    return Response(status_code=answer.status_code, content_type=answer.content_type, body=answer.body)
