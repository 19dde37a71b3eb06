"""Failover without a duplicate: after a call, which recipients move to which next account.

Each recipient's result is classified with sms_gateway.failures' split:
- ``sent``: the vendor took it. Stays.
- ``may_have_been_sent`` (a lost answer, ``unknown``): never moves, to any vendor.
- ``not_sent``: nothing left, for a reason about the account (connection refused, throttling,
  credentials, IP, a stopped account, no balance, an open circuit). Moves to the next candidate
  not tried yet; with none left it goes back to the queue (redelivery tries again).
- ``refused``: a final refusal about the message itself (content, number). Stays failed: another
  vendor would be asked to send what one refused for what it says.

Every result becomes an ``Attempt`` (account, vendor, outcome, reason) for the recipient's history.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from sms_gateway.errors import SubmitRejected, VendorUnavailable
from sms_gateway.models import OutboundItem, Status, SubmitOutcome

# Refusals about the account, not the message: documented, per vendor, as "no balance". The
# vendor took nothing, so another account may send it. Other vendors document no such code.
ACCOUNT_REFUSALS: Final[Mapping[str, frozenset[str]]] = {
    "action_v1": frozenset({"15"}),  # 004 L557-558 RESULT 15 余额不足; L679 "返回15 余额不足"
    "intl_v1": frozenset({"1009"}),  # 002 L514-516 1009 AmountNotEnough 额度不足
}
CIRCUIT_OPEN = "circuit open"


class Delivery(StrEnum):
    SENT = "sent"
    MAY_HAVE_BEEN_SENT = "may_have_been_sent"
    NOT_SENT = "not_sent"
    REFUSED = "refused"


class Verdict(StrEnum):
    """What one call says about its account's health."""

    SUCCESS = "success"  # the vendor answered: it takes calls
    FAILURE = "failure"  # it sent nothing for a reason about the account
    NEUTRAL = "neutral"  # nothing can be told (a lost answer)


@dataclass(frozen=True)
class RecipientResult:
    message_id: str
    recipient: str
    delivery: Delivery
    reason: str
    outcome: SubmitOutcome | None = None  # what to record when the recipient stays


@dataclass(frozen=True)
class Attempt:
    """One try of one recipient on one account, for its history and its events."""

    account: str
    vendor: str
    delivery: Delivery
    reason: str


@dataclass(frozen=True)
class FailoverPlan:
    moves: Mapping[str, tuple[OutboundItem, ...]]  # next account -> recipients to send there now
    stay: tuple[RecipientResult, ...]  # recorded as they are (sent, unknown, refused)
    requeue: tuple[OutboundItem, ...]  # not sent and no account left: back to the queue
    attempts: Mapping[tuple[str, str], Attempt] = field(default_factory=dict)  # (message, recipient)


def classify_outcome(outcome: SubmitOutcome, vendor: str) -> RecipientResult:
    """A recipient the vendor answered for."""
    if outcome.status is Status.SUBMITTED:
        delivery = Delivery.SENT
    elif outcome.status is Status.UNKNOWN:
        delivery = Delivery.MAY_HAVE_BEEN_SENT
    elif outcome.vendor_status in ACCOUNT_REFUSALS.get(vendor, frozenset()):
        delivery = Delivery.NOT_SENT
    else:
        delivery = Delivery.REFUSED
    reason = f"{outcome.vendor_status}: {outcome.description}"
    return RecipientResult(outcome.message_id, outcome.recipient, delivery, reason, outcome)


def classify_failure(
    items: Sequence[OutboundItem], exc: VendorUnavailable | SubmitRejected, vendor: str
) -> list[RecipientResult]:
    """The recipients of a call that raised: those an earlier part settled keep their outcome."""
    decided = list(exc.decided) if isinstance(exc, VendorUnavailable) else []
    results = [classify_outcome(o, vendor) for o in decided]
    settled = {(o.message_id, o.recipient) for o in decided}
    rest = [i for i in items if (i.message_id, i.recipient) not in settled]
    if isinstance(exc, SubmitRejected):
        refusal = SubmitOutcome("", "", Status.FAILED, None, exc.vendor_status, exc.description)
        delivery = classify_outcome(refusal, vendor).delivery
        reason = f"{exc.vendor_status}: {exc.description}"
        return results + [
            RecipientResult(
                i.message_id,
                i.recipient,
                delivery,
                reason,
                SubmitOutcome(
                    i.message_id, i.recipient, Status.FAILED, None, exc.vendor_status, exc.description
                ),
            )
            for i in rest
        ]
    delivery = Delivery.MAY_HAVE_BEEN_SENT if exc.ambiguous else Delivery.NOT_SENT
    return results + [RecipientResult(i.message_id, i.recipient, delivery, exc.reason) for i in rest]


def not_called(items: Sequence[OutboundItem], reason: str = CIRCUIT_OPEN) -> list[RecipientResult]:
    """Recipients whose account was never called (its circuit is open, its probe taken)."""
    return [RecipientResult(i.message_id, i.recipient, Delivery.NOT_SENT, reason) for i in items]


def verdict(results: Sequence[RecipientResult], *, count_unknown: bool = False) -> Verdict:
    """One call's word on its account: any answer from the vendor is a success (a refused text
    says the account takes calls); a call that sent nothing for the account is a failure."""
    deliveries = {r.delivery for r in results}
    if deliveries & {Delivery.SENT, Delivery.REFUSED}:
        return Verdict.SUCCESS
    if Delivery.NOT_SENT in deliveries:
        return Verdict.FAILURE
    if count_unknown and Delivery.MAY_HAVE_BEEN_SENT in deliveries:
        return Verdict.FAILURE
    return Verdict.NEUTRAL


def failover(
    account: str,
    vendor: str,
    results: Sequence[RecipientResult],
    items: Sequence[OutboundItem],
    candidates: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    tried: Mapping[tuple[str, str], Collection[str]] | None = None,
) -> FailoverPlan:
    """Where each recipient of a call on ``account`` goes next.

    ``candidates`` are the account names in order (``choose``): one list for every recipient,
    or one per message id (a grouped call carries several requests, each with its own choice).
    ``tried`` holds the accounts each (message id, recipient) already tried in earlier attempts.
    A not-sent recipient moves to the first candidate it has not tried; ``items`` give the
    recipients' content.
    """
    per_message = candidates if isinstance(candidates, Mapping) else None
    by_key = {(i.message_id, i.recipient): i for i in items}
    tried = tried or {}
    moves: dict[str, list[OutboundItem]] = {}
    stay: list[RecipientResult] = []
    requeue: list[OutboundItem] = []
    attempts: dict[tuple[str, str], Attempt] = {}
    for result in results:
        key = (result.message_id, result.recipient)
        attempts[key] = Attempt(account, vendor, result.delivery, result.reason)
        if result.delivery is not Delivery.NOT_SENT:
            stay.append(result)
            continue
        done = {account, *tried.get(key, ())}
        ordered = per_message.get(result.message_id, ()) if per_message is not None else candidates
        following = next((c for c in ordered if c not in done), None)
        item = by_key.get(key) or OutboundItem(result.message_id, result.recipient)
        if following is None:
            requeue.append(item)
        else:
            moves.setdefault(following, []).append(item)
    return FailoverPlan({k: tuple(v) for k, v in moves.items()}, tuple(stay), tuple(requeue), attempts)
