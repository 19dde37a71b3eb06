"""Step 1: an SQS record becomes a request ready to plan, or a rejection with its reason.

A request that can never succeed (schema error, unknown account, a template for a vendor without
templates) is rejected here and recorded as failed; it never reaches a vendor.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from sms_gateway.accounts import Account
from sms_gateway.errors import InvalidSendRequest, UnknownAccount, UnsupportedRecipient
from sms_gateway.limits import MAX_SEND_REQUEST_BYTES, InputRefused, load_json
from sms_gateway.models import (
    MAX_TAG_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    MESSAGE_ID_PATTERN,
    OutboundItem,
    RecipientRecord,
    SendRequest,
)
from sms_gateway.phone import to_e164
from sms_gateway.protection.cancel import CancelRequest, cancel_request
from sms_gateway.routing.choose import Candidate, Choice
from sms_gateway.sending.plan import SCHEDULE_TOLERANCE
from sms_gateway.sending.ports import AccountSource, AdapterFactory, SendAdapter
from sms_gateway.sending.route import Resolver, direct, e164_numbers

MAX_SQS_DELAY_SECONDS = 900
# A broken request names at most this many recipients in its failed records (the request's own cap).
MAX_NAMED_RECIPIENTS = 10_000


@dataclass(frozen=True, kw_only=True)
class Accepted:
    sqs_id: str
    message_id: str
    body: dict[str, Any]
    request: SendRequest
    account: Account
    adapter: SendAdapter
    choice: Choice
    candidate: Candidate  # the first of the choice: the request in its account's form


@dataclass(frozen=True, kw_only=True)
class Held:
    """Every account that could serve it is unhealthy now: SQS brings it back later."""

    sqs_id: str
    message_id: str
    choice: Choice


@dataclass(frozen=True, kw_only=True)
class Rejected:
    sqs_id: str
    body: Any  # whatever could be read of it, to name the recipients of the failed records
    reason: str


def resolve_account(registry: AccountSource, request: SendRequest) -> Account:
    """The account a request goes to: the one it names, else the default account.

    The one place that decides it, so that routing can choose among accounts here instead.
    """
    return registry.get(request.account)


def parse_record(
    record: dict[str, Any],
    registry: AccountSource,
    adapter_for: AdapterFactory,
    route: Resolver | None = None,
) -> Accepted | Held | Rejected | CancelRequest:
    """``route`` chooses the accounts (the routes of the accounts document); without it the
    request's account or the default is the only one."""
    sqs_id = record["messageId"]
    body: Any = None
    try:
        body = load_json(record.get("body") or "", max_bytes=MAX_SEND_REQUEST_BYTES)
        if not isinstance(body, dict):
            raise InvalidSendRequest("the message body must be a JSON object")
        if "cancel" in body:
            return cancel_request(sqs_id, body)
        request = SendRequest.model_validate(body)
        message_id = request.id or sqs_id
        raw = [p.to for p in request.p2p] if request.p2p else list(request.to)
        choice = (route or direct(registry))(request, message_id, e164_numbers(raw))
        if not choice.candidates:
            return Held(sqs_id=sqs_id, message_id=message_id, choice=choice)
        candidate = choice.candidates[0]
        adapter = adapter_for(candidate.account)
        if candidate.template is not None and not adapter.supports_templates:
            vendor = candidate.account.vendor
            raise InvalidSendRequest(f"vendor {vendor} does not support templates; send 'content'")
    except (InputRefused, ValidationError, InvalidSendRequest, UnknownAccount) as exc:
        return Rejected(sqs_id=sqs_id, body=body, reason=reason(exc))
    return Accepted(
        sqs_id=sqs_id,
        message_id=message_id,
        body=body,
        request=request,
        account=candidate.account,
        adapter=adapter,
        choice=choice,
        candidate=candidate,
    )


def requeue_delay(request: SendRequest, adapter: SendAdapter, now: datetime) -> int | None:
    """Seconds to hold a request in SQS before its send_at, or None to send it now."""
    if request.send_at is None or adapter.native_scheduling:
        return None
    wait = request.send_at - now
    if wait <= SCHEDULE_TOLERANCE:
        return None
    # SQS caps a delay at 15 minutes: a later send_at takes several hops.
    return min(MAX_SQS_DELAY_SECONDS, math.ceil(wait.total_seconds()))


def recipients(
    message_id: str,
    request: SendRequest,
    adapter: SendAdapter,
    *,
    only: Collection[str] | None = None,
    unreadable: bool = True,
) -> tuple[list[OutboundItem], list[tuple[str, str]]]:
    """The request's recipients in E.164, once each, and the numbers refused with their reason.

    ``only``: the E.164 numbers of one part of a request split across routes; ``unreadable``:
    whether this part names the numbers that are not numbers at all (one part does)."""
    pairs = [(p.to, p.content) for p in request.p2p] if request.p2p else [(to, None) for to in request.to]
    items: list[OutboundItem] = []
    refused: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw, content in pairs:
        try:
            number = to_e164(raw)
        except UnsupportedRecipient as exc:
            if unreadable:
                refused.append((str(raw).strip(), str(exc)))
            continue
        if only is not None and number not in only:
            continue
        try:
            adapter.vendor_number(number)
        except UnsupportedRecipient as exc:
            refused.append((str(raw).strip(), str(exc)))
            continue
        if number in seen:  # the same number twice in one request gets one SMS
            continue
        seen.add(number)
        items.append(OutboundItem(message_id, number, content))
    return items, refused


def refused_numbers(accepted: Accepted, refused: list[tuple[str, str]]) -> list[RecipientRecord]:
    return [
        RecipientRecord.failed(
            message_id=accepted.message_id,
            recipient=number,
            account=accepted.account.name,
            vendor=accepted.account.vendor,
            vendor_status="invalid_recipient",
            reason=why,
            tags=accepted.request.tags,
            kind=accepted.request.kind,
        )
        for number, why in refused
    ]


def rejection_records(rejected: Rejected, registry: AccountSource) -> list[RecipientRecord]:
    """One failed record per recipient a broken request names (one without a number if none)."""
    body = rejected.body if isinstance(rejected.body, dict) else {}
    raw_id = body.get("id")
    message_id = raw_id if isinstance(raw_id, str) and MESSAGE_ID_PATTERN.match(raw_id) else rejected.sqs_id
    account_name = body.get("account") if isinstance(body.get("account"), str) else None
    account = registry.find(account_name) if account_name else None
    numbers: list[str | None] = list(dict.fromkeys(_named_numbers(body)))
    return [
        RecipientRecord.failed(
            message_id=message_id,
            recipient=number,
            account=account.name if account else account_name,
            vendor=account.vendor if account else None,
            vendor_status="invalid_request",
            reason=rejected.reason,
            tags=_bounded_tags(body.get("tags")),
        )
        for number in (numbers or [None])
    ]


def _bounded_tags(tags: Any) -> dict[str, str]:
    if not isinstance(tags, dict):
        return {}
    bounded = {str(k)[:MAX_TAG_KEY]: str(v)[:MAX_TAG_VALUE] for k, v in tags.items() if str(k)}
    return dict(list(bounded.items())[:MAX_TAGS])


def _named_numbers(body: dict[str, Any]) -> list[str]:
    raw_to = body.get("to")
    candidates = [raw_to] if isinstance(raw_to, str) else raw_to if isinstance(raw_to, list) else []
    if isinstance(body.get("p2p"), list):
        candidates += [p.get("to") for p in body["p2p"] if isinstance(p, dict)]
    numbers: list[str] = []
    for raw in candidates[:MAX_NAMED_RECIPIENTS]:
        if not isinstance(raw, str | int):
            continue
        try:
            numbers.append(to_e164(str(raw)))
        except UnsupportedRecipient:
            # An empty string cannot key the recipient index: such a number is not named.
            if str(raw).strip():
                numbers.append(str(raw).strip()[:32])
    return numbers


def reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors(include_input=False, include_url=False)
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in first[:3]]
        return "; ".join(parts)
    if isinstance(exc, InputRefused):
        # The position of a JSON error is noise to a backend; a bound it broke is not.
        if "valid JSON" in exc.reason:
            return "the message body is not valid JSON"
        return f"the message body is refused: {exc.reason}"
    return str(exc)
