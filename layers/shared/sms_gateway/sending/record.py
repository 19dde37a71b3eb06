"""Step 4: what the send path learnt, written to the store (one record per message id and recipient).

Recipients are marked inflight before their call and cleared once their verdict is recorded, so a
crash in between leaves a mark the next attempt turns into `unknown` instead of a resend.
"""

from __future__ import annotations

from collections.abc import Sequence

from sms_gateway.models import OutboundItem, RecipientRecord
from sms_gateway.sending.plan import Call, Work
from sms_gateway.sending.ports import SendStore

INTERRUPTED_REASON = "an earlier attempt was interrupted while sending; not resent"


def interrupted_records(work: Work, items: Sequence[OutboundItem]) -> list[RecipientRecord]:
    return [
        RecipientRecord.unknown(
            message_id=work.message_id,
            recipient=item.recipient,
            account=work.account.name,
            vendor=work.account.vendor,
            vendor_status="interrupted",
            reason=INTERRUPTED_REASON,
            tags=work.request.tags,
            kind=work.request.kind,
        )
        for item in items
    ]


class Recorder:
    def __init__(self, store: SendStore) -> None:
        self.store = store

    def write(self, records: list[RecipientRecord]) -> None:
        if records:
            self.store.record_submissions(records)

    def before_call(self, call: Call) -> None:
        for work, recipients in call.recipients_by_work():
            self.store.mark_inflight(work.message_id, recipients)
