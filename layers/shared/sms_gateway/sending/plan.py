"""Step 2: claimed requests become vendor calls. Pure functions: no store, no network, no clock.

Requests sharing account, content or template, sign, kind, extension, sender id and schedule share
calls; each group is chunked at the adapter's declared limits, a number at most once per call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sms_gateway.accounts import Account
from sms_gateway.models import OutboundItem, SendRequest, Submission, Template
from sms_gateway.routing.choose import Candidate, Choice
from sms_gateway.sending.ports import CallLimits, SendAdapter

# A send_at closer than this is sent now: not worth a trip through the queue.
SCHEDULE_TOLERANCE = timedelta(seconds=2)


@dataclass(frozen=True, kw_only=True)
class Work:
    """One claimed request: the recipients still to send."""

    sqs_id: str
    message_id: str
    request: SendRequest
    account: Account
    adapter: SendAdapter
    items: tuple[OutboundItem, ...]
    # The accounts that may serve it in order, and the one these items go to (its form of the
    # request: its own template id, or text for a vendor without templates). None: `account` alone.
    choice: Choice | None = None
    candidate: Candidate | None = None

    @property
    def template(self) -> Template | None:
        # A candidate with text instead of a template (a vendor without templates) has none.
        return self.candidate.template if self.candidate else self.request.template

    @property
    def content(self) -> str | None:
        if self.candidate and self.candidate.content is not None:
            return self.candidate.content
        return self.request.content

    @property
    def candidates(self) -> list[str]:
        """The failover order of its accounts' names."""
        return [c.account.name for c in self.choice.candidates] if self.choice else [self.account.name]


@dataclass(frozen=True, kw_only=True)
class Call:
    """One vendor call and the requests its recipients belong to."""

    adapter: SendAdapter
    submission: Submission
    works: dict[str, Work]  # by message id

    def work_of(self, item: OutboundItem) -> Work:
        return self.works[item.message_id]

    def recipients_by_work(self) -> Iterator[tuple[Work, list[str]]]:
        for message_id, work in self.works.items():
            yield work, [i.recipient for i in self.submission.items if i.message_id == message_id]


@dataclass(frozen=True, kw_only=True)
class _Group:
    adapter: SendAdapter
    shared: Submission  # the fields every call of the group shares; items filled per call
    items: list[OutboundItem]
    works: dict[str, Work]


def plan_calls(works: Sequence[Work], now: datetime) -> list[Call]:
    """Every vendor call the claimed requests need, as few as the adapters' limits allow."""
    calls: list[Call] = []
    for group in _groups(works, now):
        for items in chunk(group.adapter, group.items):
            involved = {i.message_id: group.works[i.message_id] for i in items}
            calls.append(
                Call(adapter=group.adapter, submission=_with_items(group.shared, items), works=involved)
            )
    return calls


def chunk(limits: CallLimits, items: Sequence[OutboundItem]) -> list[list[OutboundItem]]:
    """At most the adapter's limit per call (recipients, and characters of the joined numbers where
    the vendor caps them), a number at most once per call; each item goes to the first call it fits.
    """
    limit, max_chars = limits.max_recipients_per_call, limits.max_numbers_chars
    chunks: list[list[OutboundItem]] = []
    numbers: list[set[str]] = []
    chars: list[int] = []  # the joined numbers' length of each chunk, separators included
    for item in items:
        width = len(limits.vendor_number(item.recipient)) if max_chars else 0
        for index, current in enumerate(chunks):
            fits = max_chars is None or chars[index] + 1 + width <= max_chars
            if len(current) < limit and fits and item.recipient not in numbers[index]:
                current.append(item)
                numbers[index].add(item.recipient)
                chars[index] += 1 + width
                break
        else:
            chunks.append([item])
            numbers.append({item.recipient})
            chars.append(width)
    return chunks


def _groups(works: Sequence[Work], now: datetime) -> list[_Group]:
    groups: dict[tuple[object, ...], _Group] = {}
    for work in works:
        for item in work.items:
            shared = _shared(work, item, now)
            # Parts of one message on different routes never share a call: each fails over
            # along its own route.
            route = work.choice.route if work.choice else None
            key = (work.account.name, route, *_key(shared))
            if key not in groups:
                groups[key] = _Group(adapter=work.adapter, shared=shared, items=[], works={})
            groups[key].items.append(item)
            groups[key].works[work.message_id] = work
    return list(groups.values())


def _shared(work: Work, item: OutboundItem, now: datetime) -> Submission:
    """The call-level fields this recipient needs: what it can share a call with others on."""
    request, adapter = work.request, work.adapter
    send_at = request.send_at if adapter.native_scheduling else None
    if send_at is not None and send_at - now <= SCHEDULE_TOLERANCE:
        send_at = None
    p2p = item.content is not None and adapter.supports_p2p
    content = None if p2p else (item.content if item.content is not None else work.content)
    return Submission(
        call_id="",
        items=(),
        kind=request.kind,
        content=content,
        template=work.template,
        sign=request.sign or work.account.sign,
        ext_no=request.ext_no,
        sender_id=request.sender_id,
        send_at=send_at,
        p2p=p2p,
    )


def _key(shared: Submission) -> tuple[object, ...]:
    template = shared.template.model_dump_json() if shared.template else None
    return (
        shared.p2p,
        shared.content,
        template,
        shared.sign,
        shared.kind,
        shared.ext_no,
        shared.sender_id,
        shared.send_at,
    )


def _with_items(shared: Submission, items: Sequence[OutboundItem]) -> Submission:
    # The same recipients give the same call id: a vendor task id we can choose.
    digest = hashlib.sha256("|".join(f"{i.message_id}:{i.recipient}" for i in items).encode()).hexdigest()
    return replace(shared, items=tuple(items), call_id=digest[:32])
