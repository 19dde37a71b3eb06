"""Step 3b (issue 13): after each vendor call, the account's circuit learns the outcome and the
recipients known NOT sent move on to the next account of their route.

- The breaker is asked before the call: an open circuit means no call, and its recipients are
  not sent (no inflight marks: nothing can have left).
- Each recipient's verdict is classified by sms_gateway.routing.failover: ``sent`` and
  ``refused`` stay as the vendor said, ``may_have_been_sent`` stays `unknown` and never moves to
  any vendor, ``not_sent`` (connection refused, a documented balance refusal, an open circuit)
  moves to the next candidate it has not tried in this invocation, else back to the queue.
  A refusal the vendor answered (no balance) with no account left is recorded as it said.
- Every try is an attempt in the recipient's record and events: account, vendor, what happened,
  why that account was chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from sms_gateway import failures
from sms_gateway.clock import iso, utcnow
from sms_gateway.errors import UnsupportedRecipient
from sms_gateway.models import OutboundItem, RecipientRecord
from sms_gateway.observability import logger, metrics
from sms_gateway.protection.size import size_of
from sms_gateway.routing import failover as routing
from sms_gateway.routing.events import HealthChange, health_metrics
from sms_gateway.routing.health import Breaker, Gate
from sms_gateway.sending.dispatch import RecipientResult, Verdict, dispatch
from sms_gateway.sending.guard import Guard, Unguarded
from sms_gateway.sending.plan import Call, Work
from sms_gateway.sending.ports import AdapterFactory, SendAdapter
from sms_gateway.sending.record import Recorder

Key = tuple[str, str]  # (message id, recipient)


@dataclass
class Followed:
    """What one call leaves to do: requests back to the queue, recipients to send elsewhere now."""

    retry: set[str] = field(default_factory=set)
    moved: list[Work] = field(default_factory=list)


class FollowUp:
    """One per invocation: it remembers each recipient's attempts across its rounds of calls."""

    def __init__(
        self,
        recorder: Recorder,
        adapter_for: AdapterFactory,
        breaker: Breaker | None = None,
        *,
        count_unknown: bool = False,
        guard: Guard | None = None,
    ) -> None:
        self.recorder = recorder
        self.adapter_for = adapter_for
        self.breaker = breaker
        self.count_unknown = count_unknown
        self.guard: Guard = guard or Unguarded()
        self.attempts: dict[Key, list[dict[str, str]]] = {}
        self.unsettled: set[str] = set()  # message ids some of whose recipients moved or wait

    def run(self, call: Call) -> Followed:
        name, vendor = call.adapter.account.name, call.adapter.vendor
        gate = self.breaker.acquire(name) if self.breaker else Gate(allowed=True)
        self._changed(gate.change)
        interrupted: set[Key] = set()
        raw: list[RecipientResult] = []
        started = 0.0
        if gate.allowed:
            started = self.recorder.before_call(call)
            raw = dispatch(call.adapter, call.submission)
            interrupted = {
                (r.item.message_id, r.item.recipient) for r in raw if r.verdict is Verdict.INTERRUPTED
            }
            results = _classified(call.submission.items, raw, vendor, interrupted)
            self._learn(name, vendor, results, gate)
        else:
            logger.info("circuit open: account skipped", extra={"account": name, "reason": gate.reason})
            results = routing.not_called(call.submission.items, gate.reason)
        plan = routing.failover(
            name,
            vendor,
            results,
            call.submission.items,
            {message_id: work.candidates for message_id, work in call.works.items()},
            tried={key: [a["account"] for a in tried] for key, tried in self.attempts.items()},
        )
        # What screening reserved is settled by the call that decides it: a recipient moving to
        # another account keeps its places until its next call is answered.
        moving = {(i.message_id, i.recipient) for items in plan.moves.values() for i in items}
        self.guard.settle(call, [r for r in raw if (r.item.message_id, r.item.recipient) not in moving])
        self._note(call, plan.attempts)
        # With no account left, a refusal the vendor answered (no balance) is recorded as it said,
        # as before routes existed; one that never reached a vendor waits for redelivery.
        answered = {(r.message_id, r.recipient): r for r in results if r.outcome is not None}
        final = [
            answered[(i.message_id, i.recipient)]
            for i in plan.requeue
            if (i.message_id, i.recipient) in answered
        ]
        requeue = [i for i in plan.requeue if (i.message_id, i.recipient) not in answered]
        records = self._records(call, [*plan.stay, *final])
        followed = Followed(retry={m for m, _ in interrupted} | {i.message_id for i in requeue})
        # A request with recipients on their way elsewhere (or back to the queue) is not finished
        # by this call's records; the service finishes it once every part is settled.
        self.unsettled |= {i.message_id for items in plan.moves.values() for i in items} | followed.retry
        if gate.allowed:
            # Which requests go back to the queue is the failover plan's word (a recipient not
            # sent here may be on its way to another account), not the raw verdicts'.
            self.recorder.after_call(call, raw, started, records=records, unsettled=frozenset(self.unsettled))
        else:
            self.recorder.write(records)
        for account, items in plan.moves.items():
            self._move(call, account, items, followed)
        return followed

    # ------------------------------------------------------------------ health
    def _learn(self, name: str, vendor: str, results: Sequence[routing.RecipientResult], gate: Gate) -> None:
        if self.breaker is None or not results:
            return
        verdict = routing.verdict(results, count_unknown=self.count_unknown)
        self._changed(self.breaker.record(name, vendor, verdict, results[0].reason, gate.probe))

    @staticmethod
    def _changed(change: HealthChange | None) -> None:
        if change is None:
            return
        logger.warning(
            "account health changed",
            extra={"account": change.account, "state": change.state.value, "reason": change.reason},
        )
        for name in health_metrics(change):
            metrics.add_metric(name=name, unit="Count", value=1)

    # ------------------------------------------------------------------ history
    def _note(self, call: Call, attempts: Mapping[Key, routing.Attempt]) -> None:
        at = iso(utcnow())
        for key, attempt in attempts.items():
            work = call.works[key[0]]
            self.attempts.setdefault(key, []).append(
                {
                    "account": attempt.account,
                    "vendor": attempt.vendor,
                    "delivery": attempt.delivery.value,
                    "reason": attempt.reason,
                    "chosen": work.candidate.reason if work.candidate else "",
                    "at": at,
                }
            )

    def _records(self, call: Call, stay: Sequence[routing.RecipientResult]) -> list[RecipientRecord]:
        records: list[RecipientRecord] = []
        sent = {(i.message_id, i.recipient): i for i in call.submission.items}
        for result in stay:
            key = (result.message_id, result.recipient)
            work = call.works[result.message_id]
            outcome = result.outcome
            if outcome is None:  # a recipient the answer left out: it may have been sent
                item = OutboundItem(result.message_id, result.recipient)
                outcome = failures.unknown([item], result.reason)[0]
            record = RecipientRecord.answered(
                outcome,
                account=call.adapter.account.name,
                vendor=call.adapter.vendor,
                tags=work.request.tags,
                kind=call.submission.kind,
                size=size_of(call, sent.get(key) or OutboundItem(result.message_id, result.recipient)),
            )
            records.append(replace(record, attempts=tuple(self.attempts.get(key, ()))))
        return records

    # ------------------------------------------------------------------ failover
    def _move(self, call: Call, account: str, items: Sequence[OutboundItem], followed: Followed) -> None:
        by_message: dict[str, list[OutboundItem]] = {}
        for item in items:
            by_message.setdefault(item.message_id, []).append(item)
        for message_id, moved in by_message.items():
            work = call.works[message_id]
            candidate = (
                next(c for c in work.choice.candidates if c.account.name == account) if work.choice else None
            )
            if candidate is None:
                followed.retry.add(message_id)
                continue
            adapter = self.adapter_for(candidate.account)
            fits = [i for i in moved if _takes(adapter, i.recipient)]
            if len(fits) < len(moved):
                # The next account's vendor cannot reach these numbers: they wait for redelivery.
                followed.retry.add(message_id)
            if fits:
                logger.info(
                    "failing over",
                    extra={"message_id": message_id, "from": call.adapter.account.name, "to": account},
                )
                metrics.add_metric(name="RecipientsFailedOver", unit="Count", value=len(fits))
                followed.moved.append(
                    replace(
                        work,
                        account=candidate.account,
                        adapter=adapter,
                        candidate=candidate,
                        items=tuple(fits),
                    )
                )


def _classified(
    items: Sequence[OutboundItem], raw: Sequence[RecipientResult], vendor: str, interrupted: set[Key]
) -> list[routing.RecipientResult]:
    """The send step's verdicts in routing's terms; a recipient the answer left out may have
    been sent (never resent)."""
    results: list[routing.RecipientResult] = []
    for result in raw:
        if result.verdict is Verdict.INTERRUPTED:
            continue
        if result.outcome is not None:
            results.append(routing.classify_outcome(result.outcome, vendor))
        else:
            item = result.item
            results.append(
                routing.RecipientResult(
                    item.message_id, item.recipient, routing.Delivery.NOT_SENT, result.reason
                )
            )
    seen = {(r.message_id, r.recipient) for r in results} | interrupted
    lost = [i for i in items if (i.message_id, i.recipient) not in seen]
    results += [
        routing.RecipientResult(
            i.message_id, i.recipient, routing.Delivery.MAY_HAVE_BEEN_SENT, "the answer did not list it"
        )
        for i in lost
    ]
    return results


def _takes(adapter: SendAdapter, number: str) -> bool:
    try:
        adapter.vendor_number(number)
    except UnsupportedRecipient:
        return False
    return True
