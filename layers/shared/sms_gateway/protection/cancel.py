"""Cancel: ``{"cancel": "<id>"}`` on the send queue stops a scheduled message that has not left.

A message has left once the send path claimed it (its REQUEST item exists): from then on its
calls may be under way, or sent with the vendor's own scheduling. A cancel therefore writes the
REQUEST item itself, in state ``cancelled``, on the condition that it does not exist yet; the
claim of the message, when its send time comes, finds it so and records every recipient
``cancelled`` (ClaimState.CANCELLED). One conditional write decides: a cancel and a send racing
for the same message can never both win.

Each cancel also writes a `cancel` item that the stream publishes as `SMS Cancel Accepted` or
`SMS Cancel Refused` (the message had left); a redelivered cancel says the same again, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sms_gateway.clock import iso, utcnow
from sms_gateway.errors import InvalidSendRequest
from sms_gateway.models import MESSAGE_ID_PATTERN, RecipientRecord
from sms_gateway.store import keys
from sms_gateway.store.table import Table

if TYPE_CHECKING:
    from sms_gateway.sending.plan import Work

CANCELLED_STATE = "cancelled"
LEFT = "the message has already left (it was claimed for sending); it cannot be cancelled"


@dataclass(frozen=True, kw_only=True)
class CancelRequest:
    sqs_id: str
    message_id: str


def cancel_request(sqs_id: str, body: dict[str, Any]) -> CancelRequest:
    """The cancel a body asks for; InvalidSendRequest when it is not exactly ``{"cancel": id}``."""
    target = body.get("cancel")
    if set(body) != {"cancel"}:
        raise InvalidSendRequest("a cancel request carries only 'cancel' (the id of the message)")
    if not isinstance(target, str) or not MESSAGE_ID_PATTERN.match(target):
        raise InvalidSendRequest("cancel: the id must be 1-128 characters of A-Za-z0-9._:-")
    return CancelRequest(sqs_id=sqs_id, message_id=target)


class CancelStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def cancel(self, request: CancelRequest) -> bool:
        """True when the message is (now, or already) cancelled; False when it had left."""
        pk, sk = keys.request(request.message_id)
        now = iso(utcnow())
        taken = self.table.put(
            {
                "pk": pk,
                "sk": sk,
                "state": CANCELLED_STATE,
                "cancelled_at": now,
                "expires_at": self.table.expires(),
            },
            condition="attribute_not_exists(pk)",
        )
        cancelled = taken or (self.table.get((pk, sk)) or {}).get("state") == CANCELLED_STATE
        # One event per cancel request, however often SQS delivers it.
        self.table.put(
            {
                "pk": pk,
                "sk": f"CANCEL#{request.sqs_id}",
                "type": keys.CANCEL,
                "message_id": request.message_id,
                "outcome": CANCELLED_STATE if cancelled else "refused",
                "reason": None if cancelled else LEFT,
                "requested_at": now,
                "expires_at": self.table.expires(),
            },
            condition="attribute_not_exists(pk)",
        )
        return cancelled


def cancelled_records(work: Work) -> list[RecipientRecord]:
    return [
        RecipientRecord.cancelled(
            message_id=work.message_id,
            recipient=item.recipient,
            account=work.account.name,
            vendor=work.account.vendor,
            tags=work.request.tags,
            kind=work.request.kind,
        )
        for item in work.items
    ]
