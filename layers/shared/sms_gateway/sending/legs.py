"""A request whose recipients fit different routes (destination criteria: country, prefix) is
sent in parts, one per route, each with its own choice of accounts; every other request is one
part. Each part's numbers are checked against its own first account's vendor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sms_gateway.models import OutboundItem, RecipientRecord
from sms_gateway.sending.parse import Accepted, recipients, refused_numbers
from sms_gateway.sending.plan import Work
from sms_gateway.sending.ports import AdapterFactory
from sms_gateway.sending.route import Router, e164_numbers


@dataclass
class Legs:
    works: list[Work]
    refused: list[RecipientRecord]
    held: bool = False  # some part has no healthy account now: its request comes back for it


def legs(parsed: Accepted, router: Router | None, adapter_for: AdapterFactory) -> Legs:
    request = parsed.request
    raw = [p.to for p in request.p2p] if request.p2p else list(request.to)
    parts = router.parts(request, parsed.message_id, e164_numbers(raw)) if router else []
    if len(parts) <= 1:
        items, refused = recipients(parsed.message_id, request, parsed.adapter)
        return Legs([_work(parsed, items)] if items else [], refused_numbers(parsed, refused))
    out = Legs([], [])
    for numbers, choice in parts:
        if not choice.candidates:
            out.held = True
            continue
        candidate = choice.candidates[0]
        part = replace(
            parsed,
            account=candidate.account,
            adapter=adapter_for(candidate.account),
            choice=choice,
            candidate=candidate,
        )
        # The numbers that are not numbers at all are named once, by the first part sent.
        unreadable = not out.works and not out.refused
        items, refused = recipients(
            parsed.message_id, request, part.adapter, only=set(numbers), unreadable=unreadable
        )
        out.refused += refused_numbers(part, refused)
        if items:
            out.works.append(_work(part, items))
    return out


def _work(parsed: Accepted, items: Sequence[OutboundItem]) -> Work:
    return Work(
        sqs_id=parsed.sqs_id,
        message_id=parsed.message_id,
        request=parsed.request,
        account=parsed.account,
        adapter=parsed.adapter,
        items=tuple(items),
        choice=parsed.choice,
        candidate=parsed.candidate,
    )
