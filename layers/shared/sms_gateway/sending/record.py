"""Step 4: what the send path learnt, written to the store (one record per message id and recipient).

Recipients are marked inflight before their call and cleared once their verdict is recorded, so a
crash in between leaves a mark the next attempt turns into `unknown` instead of a resend.
"""

from __future__ import annotations

from collections.abc import Sequence

from sms_gateway.models import OutboundItem, RecipientRecord
from sms_gateway.protection.size import size_of
from sms_gateway.sending.dispatch import RecipientResult, Verdict
from sms_gateway.sending.plan import Call, Work
from sms_gateway.sending.ports import SendStore

INTERRUPTED_REASON = "an earlier attempt was interrupted while sending; not resent"


def call_records(call: Call, results: Sequence[RecipientResult]) -> list[RecipientRecord]:
    records: list[RecipientRecord] = []
    for result in results:
        if result.outcome is None:
            continue
        work = call.work_of(result.item)
        records.append(
            RecipientRecord.answered(
                result.outcome,
                account=work.account.name,
                vendor=call.adapter.vendor,
                tags=work.request.tags,
                kind=call.submission.kind,
                size=size_of(call, result.item),
            )
        )
    return records


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

    def after_call(self, call: Call, results: Sequence[RecipientResult]) -> set[str]:
        """Records the call's verdicts; the message ids that go back to the queue."""
        self.write(call_records(call, results))
        interrupted = {
            (r.item.message_id, r.item.recipient) for r in results if r.verdict is Verdict.INTERRUPTED
        }
        for work, recipients in call.recipients_by_work():
            done = [n for n in recipients if (work.message_id, n) not in interrupted]
            if done:
                self.store.clear_inflight(work.message_id, done)
        return {r.item.message_id for r in results if r.retry}
