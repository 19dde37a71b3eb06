"""Step 4: what the send path learnt, written to the store (one record per message id and recipient).

Recipients are marked inflight before their call (in the claim's own write when the request fits
one call), so a crash before their verdict is recorded leaves a mark the next attempt turns into
`unknown` instead of a resend. A mark on a recorded recipient is harmless (the next attempt skips
recorded ones first), so marks are only dropped for recipients that were not sent, when the
request is released, and all at once when it is finished.

A one-call request, freshly claimed, costs three DynamoDB calls: the claim (with its marks), its
records with its finish (one transaction), and one read of the orphan signal.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from sms_gateway.models import OutboundItem, RecipientRecord
from sms_gateway.protection.size import size_of
from sms_gateway.sending.dispatch import RecipientResult, Verdict
from sms_gateway.sending.plan import Call, Work
from sms_gateway.sending.ports import SendStore

# A transaction holds 100 writes: a lookup and a record per recipient, and the finish.
FINISHED_WITH_RECORDS_UP_TO = 40
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


@dataclass
class _Progress:
    """What one invocation did to one request."""

    fresh: bool  # claimed for the first time: none of its recipients can be recorded yet
    marked: set[str] = field(default_factory=set)
    recorded: set[str] = field(default_factory=set)
    interrupted: set[str] = field(default_factory=set)
    finished: bool = False


class Recorder:
    def __init__(self, store: SendStore) -> None:
        self.store = store
        self.progress: dict[str, _Progress] = {}

    def begin(self) -> None:
        """A new invocation: forget the last one's requests."""
        self.progress = {}

    def write(self, records: list[RecipientRecord]) -> None:
        if records:
            self.store.record_submissions(records)

    def claimed(self, message_id: str, *, fresh: bool, marked: Sequence[str]) -> None:
        self.progress[message_id] = _Progress(fresh=fresh, marked=set(marked))

    def before_call(self, call: Call) -> float:
        """Marks the recipients the claim did not mark; when the call starts (epoch seconds)."""
        for work, recipients in call.recipients_by_work():
            progress = self._of(work.message_id)
            if not progress.marked.issuperset(recipients):
                self.store.mark_inflight(work.message_id, recipients)
                progress.marked.update(recipients)
        return time.time()

    def after_call(
        self,
        call: Call,
        results: Sequence[RecipientResult],
        started: float,
        *,
        records: list[RecipientRecord] | None = None,
        unsettled: frozenset[str] = frozenset(),
    ) -> set[str]:
        """Records the call's verdicts (``records``, else one per answered result); the message
        ids that go back to the queue. A request in ``unsettled`` (some of its recipients moved to
        another account, or wait for redelivery) is never finished by this call's records."""
        retry = {r.item.message_id for r in results if r.retry}
        records = call_records(call, results) if records is None else records
        for result in results:
            if result.verdict is Verdict.INTERRUPTED:
                self._of(result.item.message_id).interrupted.add(result.item.recipient)
        rest: dict[bool, list[RecipientRecord]] = {True: [], False: []}
        for work, recipients in call.recipients_by_work():
            mine = [r for r in records if r.message_id == work.message_id]
            progress = self._of(work.message_id)
            progress.recorded.update(r.recipient for r in mine if r.recipient)
            if work.message_id not in unsettled and self._last_of(work, recipients, mine, retry):
                progress.finished = self.store.record_and_finish(work.message_id, mine, started)
                if not progress.finished:  # a record exists after all: each is written only if new
                    rest[False].extend(mine)
                continue
            rest[progress.fresh].extend(mine)
        for fresh, rows in rest.items():
            if rows:
                self.store.record_submissions(rows, fresh=fresh, since=started)
        return retry

    def _last_of(
        self, work: Work, recipients: list[str], mine: list[RecipientRecord], retry: set[str]
    ) -> bool:
        """This call answered every recipient of a freshly claimed request."""
        every = {i.recipient for i in work.items}
        return (
            self._of(work.message_id).fresh
            and work.message_id not in retry
            and set(recipients) == every
            and len(mine) == len(every) <= FINISHED_WITH_RECORDS_UP_TO
        )

    def finished(self, message_id: str) -> bool:
        return self._of(message_id).finished

    def not_sent(self, message_id: str) -> set[str]:
        """Marked recipients that were neither recorded nor interrupted: the next attempt sends them."""
        progress = self._of(message_id)
        return progress.marked - progress.recorded - progress.interrupted

    def _of(self, message_id: str) -> _Progress:
        return self.progress.setdefault(message_id, _Progress(fresh=False))
