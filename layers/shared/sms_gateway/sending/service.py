"""The send path: one SQS batch of send requests -> as few vendor calls as the vendors allow.

Per request, in order:
1. parse and validate (parse.py); a request that can never succeed is recorded as failed (one
   `SMS Submit Failed` per recipient) and leaves the queue; a cancel (`{"cancel": id}`) is
   carried out here and goes no further;
2. a future `send_at` on a vendor without native scheduling goes back on the queue, delayed;
3. claim the message id (conditional write): a redelivered message is never sent twice;
4. recipients already recorded by an earlier attempt are skipped; recipients an interrupted
   attempt may have sent are recorded `unknown` instead of being sent again (no vendor
   document promises to recognise a resubmission); a message cancelled in time has each
   recipient recorded `cancelled` instead;
4b. screening (the Guard: sms_gateway.protection.screen) refuses the recipients that must not be
   sent (destination, opt-out, per-number limit, cap), each with a final failed record;
5. the claimed requests are planned into vendor calls (plan.py);
6. each call gets one verdict per recipient (dispatch.py), which is recorded (record.py); the
   account's circuit learns it, and a recipient known not sent moves to the next account of its
   route in the same invocation while time allows (follow.py). One with no account left sends its
   request back to the queue (a batch item failure) and only the unrecorded recipients are tried
   again; one that may have been sent is `unknown`, never resent to any vendor.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from typing import Any

from sms_gateway.clock import utcnow
from sms_gateway.observability import logger, metrics
from sms_gateway.protection.cancel import CancelRequest, cancelled_records
from sms_gateway.sending.follow import FollowUp
from sms_gateway.sending.guard import Guard, Unguarded
from sms_gateway.sending.legs import legs
from sms_gateway.sending.parse import (
    Accepted,
    Held,
    Rejected,
    parse_record,
    rejection_records,
    requeue_delay,
)
from sms_gateway.sending.plan import Work, plan_calls
from sms_gateway.sending.ports import AccountSource, AdapterFactory, Requeue, SendStore
from sms_gateway.sending.record import Recorder, interrupted_records
from sms_gateway.sending.route import Router
from sms_gateway.store.requests import ClaimState


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
        *,
        guard: Guard | None = None,
        router: Router | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.adapter_for = adapter_for
        self.requeue = requeue
        self.time_reserve_ms = time_reserve_seconds * 1000
        self.recorder = Recorder(store)
        self.guard: Guard = guard or Unguarded()
        self.router = router  # None: the request's account or the default, no failover
        self.held: set[str] = set()  # this batch: message ids with a part no account can take now

    def process(self, records: list[dict[str, Any]], remaining_ms: Callable[[], int]) -> dict[str, Outcome]:
        """Outcome per SQS messageId."""
        try:
            return self._process(records, remaining_ms)
        finally:
            # What screening reserved for recipients that never reached a call is given back.
            self.guard.release_unsent()

    def _process(self, records: list[dict[str, Any]], remaining_ms: Callable[[], int]) -> dict[str, Outcome]:
        self.recorder.begin()
        outcomes: dict[str, Outcome] = {}
        works: list[Work] = []
        first_of: dict[str, str] = {}  # message id -> the first SQS record carrying it
        duplicates: dict[str, str] = {}
        self.held = set()
        if self.router is not None:
            self.router.refresh()
        for record in records:
            admitted = self._admit(record)
            if isinstance(admitted, Outcome):
                outcomes[record["messageId"]] = admitted
                continue
            first = admitted[0]
            if first.message_id in first_of:
                # SQS may deliver the same message twice in one batch: it shares the first's fate.
                duplicates[first.sqs_id] = first_of[first.message_id]
                continue
            first_of[first.message_id] = first.sqs_id
            claimed = self._claim(admitted, remaining_ms)
            if isinstance(claimed, Outcome):
                outcomes[first.sqs_id] = claimed
            else:
                works += [self._screen(part) for part in claimed]

        retry = self._send(works, remaining_ms) | self.held
        for work in {w.message_id: w for w in works}.values():
            outcomes[work.sqs_id] = self._settle(work, retry)
        for sqs_id, first_id in duplicates.items():
            outcomes[sqs_id] = outcomes.get(first_id, Outcome.RETRY)
        return outcomes

    # ------------------------------------------------------------------ 1-2: parse, schedule
    def _admit(self, record: dict[str, Any]) -> list[Work] | Outcome:
        route = self.router.resolve if self.router else None
        parsed = parse_record(record, self.registry, self.adapter_for, route)
        if isinstance(parsed, CancelRequest):
            self.guard.cancel(parsed)
            return Outcome.DONE
        if isinstance(parsed, Rejected):
            self._reject(parsed)
            return Outcome.DONE
        if isinstance(parsed, Held):
            skipped = {s.account: s.reason for s in parsed.choice.skipped}
            logger.warning(
                "no healthy account: retried later",
                extra={"message_id": parsed.message_id, "skipped": skipped},
            )
            return Outcome.RETRY
        if self._defer_if_early(parsed):
            return Outcome.DONE
        parts = legs(parsed, self.router, self.adapter_for)
        self.recorder.write(parts.refused)
        if parts.held:
            self.held.add(parsed.message_id)
        if not parts.works:
            return Outcome.RETRY if parts.held else Outcome.DONE
        return parts.works

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
    def _claim(self, parts: list[Work], remaining_ms: Callable[[], int]) -> list[Work] | Outcome:
        """One claim per message, whatever the number of its parts (one per route)."""
        work = parts[0]
        lease = int(remaining_ms() / 1000) + 30
        # A request that fits one call is marked inflight by its claim (one write fewer).
        marks = (
            [i.recipient for i in work.items]
            if len(parts) == 1 and len(work.items) <= work.adapter.max_recipients_per_call
            else []
        )
        claim = self.store.claim_request(
            work.message_id, work.account.name, lease, marks, content=work.request.content
        )
        if claim.state is ClaimState.DONE:
            logger.info("duplicate delivery of a finished message", extra={"message_id": work.message_id})
            return Outcome.DONE
        if claim.state is ClaimState.BUSY:
            return Outcome.RETRY
        if claim.state is ClaimState.CANCELLED:
            for part in parts:
                self.recorder.write(cancelled_records(part))
            return Outcome.DONE
        self.recorder.claimed(work.message_id, fresh=claim.state is ClaimState.CLAIMED, marked=marks)
        if claim.state is ClaimState.CLAIMED:
            return parts  # nothing of a fresh claim is recorded yet: no query
        recorded = self.store.recorded_recipients(work.message_id)
        inflight = claim.inflight if claim.state is ClaimState.RECOVERED else frozenset()
        claimed: list[Work] = []
        for part in parts:
            items = [item for item in part.items if item.recipient not in recorded]
            if inflight:
                self.recorder.write(interrupted_records(part, [i for i in items if i.recipient in inflight]))
                items = [item for item in items if item.recipient not in inflight]
            claimed.append(replace(part, items=tuple(items)))
        return claimed

    def _screen(self, work: Work) -> Work:
        """Protection (sms_gateway.protection.screen): the recipients that may be sent at all."""
        screened, refused = self.guard.screen(work)
        self.recorder.write(refused)
        return screened

    # ------------------------------------------------------------------ 5-6: plan, call, record
    def _send(self, works: list[Work], remaining_ms: Callable[[], int]) -> set[str]:
        """Every planned call that time allows; the message ids that go back to the queue."""
        retry: set[str] = set()
        breaker = self.router.breaker if self.router else None
        count_unknown = self.router.count_unknown if self.router else False
        follow = FollowUp(
            self.recorder, self.adapter_for, breaker, count_unknown=count_unknown, guard=self.guard
        )
        # Round after round: the recipients a call did not send go to their next account.
        while works:
            moved: list[Work] = []
            for call in plan_calls(works, utcnow()):
                if remaining_ms() < self.time_reserve_ms:
                    # Not enough time left for a vendor call and its records: let SQS bring it back.
                    retry.update(call.works)
                    continue
                followed = follow.run(call)
                retry |= followed.retry
                moved += followed.moved
            works = moved
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
