"""The send path: one SQS batch of send requests -> as few vendor calls as the vendors allow.

Per request, in order:
1. parse and validate (parse.py); a request that can never succeed is recorded as failed (one
   `SMS Submit Failed` per recipient) and leaves the queue;
2. a future `send_at` on a vendor without native scheduling goes back on the queue, delayed;
3. claim the message id (conditional write): a redelivered message is never sent twice;
4. recipients already recorded by an earlier attempt are skipped; recipients an interrupted
   attempt may have sent are recorded `unknown` instead of being sent again (no vendor
   document promises to recognise a resubmission);
5. the claimed requests are planned into vendor calls (plan.py);
6. each call gets one verdict per recipient (dispatch.py), which is recorded (record.py). A
   recipient that was not sent sends its request back to the queue (a batch item failure) and only
   the unrecorded recipients are tried again; one that may have been sent is `unknown`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from typing import Any

from sms_gateway.clock import utcnow
from sms_gateway.observability import logger, metrics
from sms_gateway.sending.dispatch import dispatch
from sms_gateway.sending.parse import (
    Accepted,
    Rejected,
    parse_record,
    recipients,
    refused_numbers,
    rejection_records,
    requeue_delay,
)
from sms_gateway.sending.plan import Work, plan_calls
from sms_gateway.sending.ports import AccountSource, AdapterFactory, Requeue, SendStore
from sms_gateway.sending.record import Recorder, interrupted_records
from sms_gateway.store import ClaimState


class Outcome(StrEnum):
    DONE = "done"  # leaves the queue
    RETRY = "retry"  # reported as a batch item failure: SQS delivers it again


class SendService:
    def __init__(
        self,
        store: SendStore,
        registry: AccountSource,
        adapter_for: AdapterFactory,
        requeue: Requeue,
        time_reserve_seconds: float = 15.0,
    ) -> None:
        self.store = store
        self.registry = registry
        self.adapter_for = adapter_for
        self.requeue = requeue
        self.time_reserve_ms = time_reserve_seconds * 1000
        self.recorder = Recorder(store)

    def process(self, records: list[dict[str, Any]], remaining_ms: Callable[[], int]) -> dict[str, Outcome]:
        """Outcome per SQS messageId."""
        self.recorder.begin()
        outcomes: dict[str, Outcome] = {}
        works: list[Work] = []
        first_of: dict[str, str] = {}  # message id -> the first SQS record carrying it
        duplicates: dict[str, str] = {}
        for record in records:
            admitted = self._admit(record)
            if isinstance(admitted, Outcome):
                outcomes[record["messageId"]] = admitted
                continue
            if admitted.message_id in first_of:
                # SQS may deliver the same message twice in one batch: it shares the first's fate.
                duplicates[admitted.sqs_id] = first_of[admitted.message_id]
                continue
            first_of[admitted.message_id] = admitted.sqs_id
            claimed = self._claim(admitted, remaining_ms)
            if isinstance(claimed, Outcome):
                outcomes[admitted.sqs_id] = claimed
            else:
                works.append(claimed)

        retry = self._send(works, remaining_ms)
        for work in works:
            outcomes[work.sqs_id] = self._settle(work, retry)
        for sqs_id, first in duplicates.items():
            outcomes[sqs_id] = outcomes.get(first, Outcome.RETRY)
        return outcomes

    # ------------------------------------------------------------------ 1-2: parse, schedule
    def _admit(self, record: dict[str, Any]) -> Work | Outcome:
        parsed = parse_record(record, self.registry, self.adapter_for)
        if isinstance(parsed, Rejected):
            self._reject(parsed)
            return Outcome.DONE
        if self._defer_if_early(parsed):
            return Outcome.DONE
        items, refused = recipients(parsed.message_id, parsed.request, parsed.adapter)
        self.recorder.write(refused_numbers(parsed, refused))
        if not items:
            return Outcome.DONE
        return Work(
            sqs_id=parsed.sqs_id,
            message_id=parsed.message_id,
            request=parsed.request,
            account=parsed.account,
            adapter=parsed.adapter,
            items=tuple(items),
        )

    def _reject(self, rejected: Rejected) -> None:
        records = rejection_records(rejected, self.registry)
        logger.warning(
            "send request refused", extra={"message_id": records[0].message_id, "reason": rejected.reason}
        )
        metrics.add_metric(name="RequestsRefused", unit="Count", value=1)
        self.recorder.write(records)

    def _defer_if_early(self, parsed: Accepted) -> bool:
        delay = requeue_delay(parsed.request, parsed.adapter, utcnow())
        if delay is None:
            return False
        # Keep the id so the message stays idempotent across hops.
        self.requeue(json.dumps({**parsed.body, "id": parsed.message_id}, ensure_ascii=False), delay)
        logger.info(
            "send_at in the future: requeued",
            extra={"message_id": parsed.message_id, "delay_seconds": delay},
        )
        return True

    # ------------------------------------------------------------------ 3-4: claim, resume
    def _claim(self, work: Work, remaining_ms: Callable[[], int]) -> Work | Outcome:
        lease = int(remaining_ms() / 1000) + 30
        # A request that fits one call is marked inflight by its claim (one write fewer).
        marks = (
            [i.recipient for i in work.items]
            if len(work.items) <= work.adapter.max_recipients_per_call
            else []
        )
        claim = self.store.claim_request(work.message_id, work.account.name, lease, marks)
        if claim.state is ClaimState.DONE:
            logger.info("duplicate delivery of a finished message", extra={"message_id": work.message_id})
            return Outcome.DONE
        if claim.state is ClaimState.BUSY:
            return Outcome.RETRY
        self.recorder.claimed(work.message_id, fresh=claim.state is ClaimState.CLAIMED, marked=marks)
        if claim.state is ClaimState.CLAIMED:
            return work  # nothing of a fresh claim is recorded yet: no query
        recorded = self.store.recorded_recipients(work.message_id)
        items = [item for item in work.items if item.recipient not in recorded]
        if claim.state is ClaimState.RECOVERED and claim.inflight:
            self.recorder.write(
                interrupted_records(work, [i for i in items if i.recipient in claim.inflight])
            )
            items = [item for item in items if item.recipient not in claim.inflight]
        return replace(work, items=tuple(items))

    # ------------------------------------------------------------------ 5-6: plan, call, record
    def _send(self, works: list[Work], remaining_ms: Callable[[], int]) -> set[str]:
        """Every planned call that time allows; the message ids that go back to the queue."""
        retry: set[str] = set()
        for call in plan_calls(works, utcnow()):
            if remaining_ms() < self.time_reserve_ms:
                # Not enough time left for a vendor call and its records: let SQS bring it back.
                retry.update(call.works)
                continue
            started = self.recorder.before_call(call)
            retry |= self.recorder.after_call(call, dispatch(call.adapter, call.submission), started)
        return retry

    def _settle(self, work: Work, retry: set[str]) -> Outcome:
        if work.message_id in retry:
            self.store.release_request(work.message_id, self.recorder.not_sent(work.message_id))
            return Outcome.RETRY
        if not self.recorder.finished(work.message_id):
            self.store.finish_request(work.message_id)
        return Outcome.DONE


def requeue_with_delay(queue_url: str) -> Requeue:
    from sms_gateway.aws import client  # noqa: PLC0415

    def send(body: str, delay: int) -> None:
        client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, DelaySeconds=delay)

    return send
