"""One request's recipients through its candidate accounts: ask the breaker, call, classify,
record the call's verdict, fail over what was not sent. The vendor call itself is the caller's
(``submit``: it builds the Submission from the candidate's form, marks the recipients inflight
and calls the adapter), so the send path keeps its grouping, claims and records.

A recipient ends here in exactly one place: ``served`` (sent, may have been sent, or refused,
with the account whose answer it is) or ``requeue`` (not sent anywhere yet: SQS brings it back).
An exception other than the vendor's two (a bug of ours) propagates: the inflight marks then
make the next attempt record those recipients ``unknown`` instead of sending them again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from sms_gateway.errors import SubmitRejected, VendorUnavailable
from sms_gateway.models import OutboundItem, SubmitOutcome
from sms_gateway.routing.choose import Candidate, Choice
from sms_gateway.routing.events import HealthChange
from sms_gateway.routing.failover import (
    Attempt,
    RecipientResult,
    classify_failure,
    classify_outcome,
    failover,
    not_called,
    verdict,
)
from sms_gateway.routing.health import Breaker, Gate

SubmitCall = Callable[[Candidate, list[OutboundItem]], list[SubmitOutcome]]
Key = tuple[str, str]  # (message id, recipient)


@dataclass(frozen=True)
class Served:
    result: RecipientResult
    candidate: Candidate  # the account whose answer this is
    attempts: tuple[Attempt, ...]  # every try of this invocation, this one last


@dataclass
class Dispatch:
    served: list[Served] = field(default_factory=list)
    requeue: list[OutboundItem] = field(default_factory=list)
    attempts: dict[Key, list[Attempt]] = field(default_factory=dict)
    changes: list[HealthChange] = field(default_factory=list)


class Dispatcher:
    def __init__(self, breaker: Breaker | None = None, *, count_unknown: bool = False) -> None:
        self.breaker = breaker
        self.count_unknown = count_unknown

    def run(
        self,
        items: Sequence[OutboundItem],
        choice: Choice,
        submit: SubmitCall,
        *,
        time_left: Callable[[], bool] = lambda: True,
        tried: Mapping[Key, Collection[str]] | None = None,
    ) -> Dispatch:
        """``tried``: the accounts each recipient tried in earlier invocations (from its history),
        so a redelivered request carries on from the next account."""
        order = [c.account.name for c in choice.candidates]
        earlier = tried or {}
        done = {
            (i.message_id, i.recipient): list(earlier.get((i.message_id, i.recipient), ())) for i in items
        }
        out = Dispatch()
        pending: dict[str, list[OutboundItem]] = {}
        for item in items:
            start = next((n for n in order if n not in done[(item.message_id, item.recipient)]), None)
            if start is None:
                out.requeue.append(item)
            else:
                pending.setdefault(start, []).append(item)
        while pending:
            name = next(n for n in order if n in pending)
            batch = pending.pop(name)
            if not time_left():
                out.requeue += batch + [i for rest in pending.values() for i in rest]
                break
            candidate = choice.candidates[order.index(name)]
            results = self._try(candidate, batch, submit, out)
            plan = failover(name, candidate.account.vendor, results, batch, order, tried=done)
            for key, attempt in plan.attempts.items():
                out.attempts.setdefault(key, []).append(attempt)
                done.setdefault(key, []).append(name)
            out.served += [
                Served(r, candidate, tuple(out.attempts[(r.message_id, r.recipient)])) for r in plan.stay
            ]
            out.requeue += plan.requeue
            for following, moved in plan.moves.items():
                pending.setdefault(following, []).extend(moved)
        return out

    def _try(
        self, candidate: Candidate, batch: list[OutboundItem], submit: SubmitCall, out: Dispatch
    ) -> list[RecipientResult]:
        name, vendor = candidate.account.name, candidate.account.vendor
        gate = self.breaker.acquire(name) if self.breaker else Gate(True)
        if gate.change is not None:
            out.changes.append(gate.change)
        if not gate.allowed:
            return not_called(batch, gate.reason)
        try:
            results = _answered(batch, submit(candidate, batch), vendor)
        except (VendorUnavailable, SubmitRejected) as exc:
            results = classify_failure(batch, exc, vendor)
        if self.breaker is not None:
            call = verdict(results, count_unknown=self.count_unknown)
            change = self.breaker.record(name, vendor, call, results[0].reason if results else "", gate.probe)
            if change is not None:
                out.changes.append(change)
        return results


def _answered(batch: list[OutboundItem], outcomes: list[SubmitOutcome], vendor: str) -> list[RecipientResult]:
    """The vendor's outcomes; a recipient its answer leaves out may have been sent."""
    asked = {(i.message_id, i.recipient) for i in batch}
    answered = {(o.message_id, o.recipient): o for o in outcomes if (o.message_id, o.recipient) in asked}
    missing = [i for i in batch if (i.message_id, i.recipient) not in answered]
    lost = classify_failure(missing, VendorUnavailable("the answer did not list it", ambiguous=True), vendor)
    return [classify_outcome(o, vendor) for o in answered.values()] + lost
