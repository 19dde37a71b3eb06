"""The send logic: one SQS batch of send requests -> as few vendor calls as the vendors allow.

Per request, in order:
1. parse and validate; a request that can never succeed is recorded as failed (one
   `SMS Submit Failed` per recipient) and leaves the queue;
2. a future `send_at` on a vendor without native scheduling goes back on the queue, delayed;
3. claim the message id (conditional write): a redelivered message is never sent twice;
4. recipients already recorded by an earlier attempt are skipped; recipients an interrupted
   attempt may have sent are recorded `unknown` instead of being sent again (no vendor
   document promises to recognise a resubmission);
5. requests sharing account, content or template, sign, kind and options are grouped, and each
   group chunked at the adapter's per-call limit;
6. each vendor call's outcome is recorded per recipient. A failure that sent nothing sends the
   request back to the queue (a batch item failure) and only its unrecorded recipients are tried
   again; a call that may have been sent makes its recipients `unknown` (sms_gateway.failures).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from sms_gateway import failures
from sms_gateway.accounts import Account, AccountRegistry
from sms_gateway.clock import utcnow
from sms_gateway.errors import (
    InvalidSendRequest,
    SubmitRejected,
    UnknownAccount,
    UnsupportedRecipient,
    VendorUnavailable,
)
from sms_gateway.limits import MAX_SEND_REQUEST_BYTES, InputRefused, load_json
from sms_gateway.models import (
    MAX_TAG_KEY,
    MAX_TAG_VALUE,
    MAX_TAGS,
    MESSAGE_ID_PATTERN,
    OutboundItem,
    SendRequest,
    Status,
    Submission,
    SubmitOutcome,
)
from sms_gateway.observability import logger, metrics
from sms_gateway.phone import to_e164
from sms_gateway.store import ClaimState, RecipientRecord, Store
from sms_gateway.vendors.base import VendorAdapter

MAX_SQS_DELAY_SECONDS = 900
# A send_at closer than this is sent now: not worth a trip through the queue.
SCHEDULE_TOLERANCE = timedelta(seconds=2)


class Outcome(StrEnum):
    DONE = "done"  # leaves the queue
    RETRY = "retry"  # reported as a batch item failure: SQS delivers it again


@dataclass
class Work:
    """One claimed request on its way to the vendor."""

    sqs_id: str
    message_id: str
    request: SendRequest
    account: Account
    adapter: VendorAdapter
    items: list[OutboundItem]
    retry: bool = False


@dataclass
class Group:
    adapter: VendorAdapter
    template: Submission  # the shared fields; items filled per chunk
    items: list[tuple[Work, OutboundItem]] = field(default_factory=list)


AdapterFactory = Callable[[Account], VendorAdapter]
Requeue = Callable[[str, int], None]


class SendService:
    def __init__(
        self,
        store: Store,
        registry: AccountRegistry,
        adapter_for: AdapterFactory,
        requeue: Requeue,
        time_reserve_seconds: float = 15.0,
    ) -> None:
        self.store = store
        self.registry = registry
        self.adapter_for = adapter_for
        self.requeue = requeue
        self.time_reserve_ms = time_reserve_seconds * 1000

    # ------------------------------------------------------------------ entry point
    def process(self, records: list[dict[str, Any]], remaining_ms: Callable[[], int]) -> dict[str, Outcome]:
        """Outcome per SQS messageId."""
        outcomes: dict[str, Outcome] = {}
        works: list[Work] = []
        first_of: dict[str, str] = {}  # message id -> the first SQS record carrying it
        duplicates: dict[str, str] = {}
        for record in records:
            work = self._prepare(record, outcomes)
            if work is None:
                continue
            if work.message_id in first_of:
                # SQS may deliver the same message twice in one batch: it shares the first's fate.
                duplicates[work.sqs_id] = first_of[work.message_id]
                continue
            first_of[work.message_id] = work.sqs_id
            if self._claim(work, remaining_ms, outcomes):
                works.append(work)

        for group in self._groups(works):
            self._send_group(group, remaining_ms)

        for work in works:
            if work.retry:
                self.store.release_request(work.message_id)
                outcomes[work.sqs_id] = Outcome.RETRY
            else:
                self.store.finish_request(work.message_id)
                outcomes[work.sqs_id] = Outcome.DONE
        for sqs_id, first in duplicates.items():
            outcomes[sqs_id] = outcomes.get(first, Outcome.RETRY)
        return outcomes

    # ------------------------------------------------------------------ 1-2: validate, schedule
    def _prepare(self, record: dict[str, Any], outcomes: dict[str, Outcome]) -> Work | None:
        sqs_id = record["messageId"]
        body: Any = None
        try:
            body = load_json(record.get("body") or "", max_bytes=MAX_SEND_REQUEST_BYTES)
            if not isinstance(body, dict):
                raise InvalidSendRequest("the message body must be a JSON object")
            request = SendRequest.model_validate(body)
            message_id = request.id or sqs_id
            account = self.registry.get(request.account)
            adapter = self.adapter_for(account)
            if request.template is not None and not adapter.supports_templates:
                raise InvalidSendRequest(
                    f"vendor {account.vendor} does not support templates; send 'content'"
                )
        except (InputRefused, ValidationError, InvalidSendRequest, UnknownAccount) as exc:
            self._reject_request(sqs_id, body, _reason(exc))
            outcomes[sqs_id] = Outcome.DONE
            return None

        if self._defer_if_early(sqs_id, message_id, body, request, adapter):
            outcomes[sqs_id] = Outcome.DONE
            return None

        items, refused = self._recipients(message_id, request, adapter)
        if refused:
            self._record(
                [
                    RecipientRecord(
                        message_id,
                        number,
                        account.name,
                        account.vendor,
                        Status.FAILED,
                        None,
                        "invalid_recipient",
                        reason,
                        request.tags,
                        request.kind,
                    )
                    for number, reason in refused
                ]
            )
        if not items:
            outcomes[sqs_id] = Outcome.DONE
            return None
        return Work(sqs_id, message_id, request, account, adapter, items)

    @staticmethod
    def _recipients(
        message_id: str, request: SendRequest, adapter: VendorAdapter
    ) -> tuple[list[OutboundItem], list[tuple[str, str]]]:
        pairs = [(p.to, p.content) for p in request.p2p] if request.p2p else [(to, None) for to in request.to]
        items: list[OutboundItem] = []
        refused: list[tuple[str, str]] = []
        seen: set[str] = set()
        for raw, content in pairs:
            try:
                number = to_e164(raw)
                adapter.vendor_number(number)
            except UnsupportedRecipient as exc:
                refused.append((str(raw).strip(), str(exc)))
                continue
            if number in seen:  # the same number twice in one request gets one SMS
                continue
            seen.add(number)
            items.append(OutboundItem(message_id, number, content))
        return items, refused

    def _defer_if_early(
        self, sqs_id: str, message_id: str, body: dict[str, Any], request: SendRequest, adapter: VendorAdapter
    ) -> bool:
        if request.send_at is None or adapter.native_scheduling:
            return False
        wait = request.send_at - utcnow()
        if wait <= SCHEDULE_TOLERANCE:
            return False
        delay = min(MAX_SQS_DELAY_SECONDS, math.ceil(wait.total_seconds()))
        # Keep the id so the message stays idempotent across hops; SQS caps a delay at 15 minutes.
        self.requeue(json.dumps({**body, "id": message_id}, ensure_ascii=False), delay)
        logger.info(
            "send_at in the future: requeued", extra={"message_id": message_id, "delay_seconds": delay}
        )
        return True

    def _reject_request(self, sqs_id: str, body: Any, reason: str) -> None:
        """Record a request that can never succeed: one failed record per recipient we can name."""
        body = body if isinstance(body, dict) else {}
        raw_id = body.get("id")
        message_id = raw_id if isinstance(raw_id, str) and MESSAGE_ID_PATTERN.match(raw_id) else sqs_id
        tags = body.get("tags") if isinstance(body.get("tags"), dict) else {}
        tags = dict(
            list({str(k)[:MAX_TAG_KEY]: str(v)[:MAX_TAG_VALUE] for k, v in tags.items() if str(k)}.items())[
                :MAX_TAGS
            ]
        )
        account_name = body.get("account") if isinstance(body.get("account"), str) else None
        account = self.registry.find(account_name) if account_name else None
        numbers: list[str | None] = []
        raw_to = body.get("to")
        candidates = [raw_to] if isinstance(raw_to, str) else raw_to if isinstance(raw_to, list) else []
        if isinstance(body.get("p2p"), list):
            candidates += [p.get("to") for p in body["p2p"] if isinstance(p, dict)]
        for raw in candidates[:10_000]:
            if isinstance(raw, str | int):
                try:
                    numbers.append(to_e164(str(raw)))
                except UnsupportedRecipient:
                    # An empty string cannot key the recipient index: such a number is not named.
                    if str(raw).strip():
                        numbers.append(str(raw).strip()[:32])
        logger.warning("send request refused", extra={"message_id": message_id, "reason": reason})
        metrics.add_metric(name="RequestsRefused", unit="Count", value=1)
        self._record(
            [
                RecipientRecord(
                    message_id,
                    number,
                    account.name if account else account_name,
                    account.vendor if account else None,
                    Status.FAILED,
                    None,
                    "invalid_request",
                    reason,
                    tags,
                )
                for number in (list(dict.fromkeys(numbers)) or [None])
            ]
        )

    # ------------------------------------------------------------------ 3-4: claim, resume
    def _claim(self, work: Work, remaining_ms: Callable[[], int], outcomes: dict[str, Outcome]) -> bool:
        lease = int(remaining_ms() / 1000) + 30
        claim = self.store.claim_request(work.message_id, work.account.name, lease)
        if claim.state is ClaimState.DONE:
            logger.info("duplicate delivery of a finished message", extra={"message_id": work.message_id})
            outcomes[work.sqs_id] = Outcome.DONE
            return False
        if claim.state is ClaimState.BUSY:
            outcomes[work.sqs_id] = Outcome.RETRY
            return False
        recorded = self.store.recorded_recipients(work.message_id)
        work.items = [item for item in work.items if item.recipient not in recorded]
        if claim.state is ClaimState.RECOVERED and claim.inflight:
            unsure = [item for item in work.items if item.recipient in claim.inflight]
            self._record_unknown(work, unsure, "an earlier attempt was interrupted while sending; not resent")
            work.items = [item for item in work.items if item.recipient not in claim.inflight]
        return True

    # ------------------------------------------------------------------ 5: group and chunk
    def _groups(self, works: list[Work]) -> Iterable[Group]:
        groups: dict[tuple[Any, ...], Group] = {}
        for work in works:
            request, adapter = work.request, work.adapter
            sign = request.sign or work.account.sign
            send_at = request.send_at if adapter.native_scheduling and request.send_at else None
            if send_at is not None and send_at - utcnow() <= SCHEDULE_TOLERANCE:
                send_at = None
            for item in work.items:
                p2p = item.content is not None and adapter.supports_p2p
                content = None if p2p else (item.content if item.content is not None else request.content)
                template_key = request.template.model_dump_json() if request.template else None
                key = (
                    work.account.name,
                    p2p,
                    content,
                    template_key,
                    sign,
                    request.kind,
                    request.ext_no,
                    request.sender_id,
                    send_at,
                )
                if key not in groups:
                    groups[key] = Group(
                        adapter,
                        Submission(
                            call_id="",
                            items=(),
                            kind=request.kind,
                            content=content,
                            template=request.template,
                            sign=sign,
                            ext_no=request.ext_no,
                            sender_id=request.sender_id,
                            send_at=send_at,
                            p2p=p2p,
                        ),
                    )
                groups[key].items.append((work, item))
        return groups.values()

    @staticmethod
    def _chunks(group: Group) -> list[list[tuple[Work, OutboundItem]]]:
        """At most the adapter's limit per call, and a number at most once per call."""
        adapter = group.adapter
        limit, max_chars = adapter.max_recipients_per_call, adapter.max_numbers_chars
        chunks: list[list[tuple[Work, OutboundItem]]] = []
        numbers: list[set[str]] = []
        chars: list[int] = []  # the joined numbers' length of each chunk, separators included
        for entry in group.items:
            width = len(adapter.vendor_number(entry[1].recipient)) if max_chars else 0
            for index, chunk in enumerate(chunks):
                fits = max_chars is None or chars[index] + 1 + width <= max_chars
                if len(chunk) < limit and fits and entry[1].recipient not in numbers[index]:
                    chunk.append(entry)
                    numbers[index].add(entry[1].recipient)
                    chars[index] += 1 + width
                    break
            else:
                chunks.append([entry])
                numbers.append({entry[1].recipient})
                chars.append(width)
        return chunks

    # ------------------------------------------------------------------ 6: call and record
    def _send_group(self, group: Group, remaining_ms: Callable[[], int]) -> None:
        for chunk in self._chunks(group):
            works = {id(w): w for w, _ in chunk}.values()
            if remaining_ms() < self.time_reserve_ms:
                # Not enough time left for a vendor call and its records: let SQS bring it back.
                for work in works:
                    work.retry = True
                continue
            submission = _with_items(group.template, tuple(item for _, item in chunk))
            for work in works:
                self.store.mark_inflight(work.message_id, [i.recipient for w, i in chunk if w is work])
            outcomes = self._call(group.adapter, submission, chunk)
            if outcomes is None:
                continue
            by_key = {(w.message_id, i.recipient): w for w, i in chunk}
            self._record(
                [
                    RecipientRecord(
                        o.message_id,
                        o.recipient,
                        by_key[(o.message_id, o.recipient)].account.name,
                        group.adapter.vendor,
                        o.status,
                        o.vendor_message_id,
                        o.vendor_status,
                        o.description,
                        by_key[(o.message_id, o.recipient)].request.tags,
                        submission.kind,
                    )
                    for o in outcomes
                    if (o.message_id, o.recipient) in by_key
                ]
            )
            for work in works:
                self.store.clear_inflight(work.message_id, [i.recipient for w, i in chunk if w is work])

    def _call(
        self, adapter: VendorAdapter, submission: Submission, chunk: list[tuple[Work, OutboundItem]]
    ) -> list[SubmitOutcome] | None:
        """The vendor's outcomes, or None when the chunk goes back to the queue."""
        log = {"account": adapter.account.name, "vendor": adapter.vendor, "recipients": len(submission.items)}
        metrics.add_metric(name="VendorCalls", unit="Count", value=1)
        try:
            outcomes = adapter.submit(submission)
        except VendorUnavailable as exc:
            # Recipients settled by earlier calls of a split submission keep their outcome.
            decided = list(exc.decided)
            settled = {(o.message_id, o.recipient) for o in decided}
            if exc.ambiguous:
                logger.warning("vendor outcome unknown; not resending", extra={**log, "reason": exc.reason})
                rest = [i for i in submission.items if (i.message_id, i.recipient) not in settled]
                return decided + failures.unknown(rest, exc.reason)
            logger.warning("vendor unavailable; will retry", extra={**log, "reason": exc.reason})
            self._retry([(w, i) for w, i in chunk if (i.message_id, i.recipient) not in settled])
            return decided or None
        except SubmitRejected as exc:
            logger.warning("vendor refused the call", extra={**log, "vendor_status": exc.vendor_status})
            return failures.outcomes(submission.items, Status.FAILED, exc.vendor_status, exc.description)
        except Exception:
            # A bug of ours, possibly after the vendor acted: keep the inflight marks so the
            # next attempt records these recipients as unknown instead of sending them twice.
            logger.exception("unexpected error while sending", extra=log)
            for work, _ in chunk:
                work.retry = True
            return None
        accepted = sum(1 for o in outcomes if o.status is Status.SUBMITTED)
        metrics.add_metric(name="RecipientsSubmitted", unit="Count", value=accepted)
        if accepted < len(outcomes):
            metrics.add_metric(name="RecipientsRefused", unit="Count", value=len(outcomes) - accepted)
        logger.info("vendor call done", extra={**log, "accepted": accepted})
        return outcomes

    def _retry(self, chunk: list[tuple[Work, OutboundItem]]) -> None:
        for work, item in chunk:
            work.retry = True
            self.store.clear_inflight(work.message_id, [item.recipient])

    def _record_unknown(self, work: Work, items: list[OutboundItem], reason: str) -> None:
        self._record(
            [
                RecipientRecord(
                    work.message_id,
                    i.recipient,
                    work.account.name,
                    work.account.vendor,
                    Status.UNKNOWN,
                    None,
                    "interrupted",
                    reason,
                    work.request.tags,
                    work.request.kind,
                )
                for i in items
            ]
        )

    def _record(self, records: list[RecipientRecord]) -> None:
        if records:
            self.store.record_submissions(records)


def _with_items(shared: Submission, items: tuple[OutboundItem, ...]) -> Submission:
    digest = hashlib.sha256("|".join(f"{i.message_id}:{i.recipient}" for i in items).encode()).hexdigest()
    from dataclasses import replace  # noqa: PLC0415

    return replace(shared, items=items, call_id=digest[:32])


def _reason(exc: Exception) -> str:
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


def requeue_with_delay(queue_url: str) -> Requeue:
    from sms_gateway.aws import client  # noqa: PLC0415

    def send(body: str, delay: int) -> None:
        client("sqs").send_message(QueueUrl=queue_url, MessageBody=body, DelaySeconds=delay)

    return send
