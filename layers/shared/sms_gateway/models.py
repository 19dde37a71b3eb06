"""The canonical model: what backends send, and what every vendor's reports, MO and balances become."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sms_gateway.vendors.toolkit import bare_sign

MAX_RECIPIENTS_PER_REQUEST = 10_000
MESSAGE_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class Status(StrEnum):
    SUBMITTED = "submitted"
    FAILED = "failed"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"  # a scheduled message cancelled before it left (issue 14)

    @property
    def final(self) -> bool:
        return self is not Status.SUBMITTED

    @property
    def rank(self) -> int:
        """A status only ever moves to a higher rank: submitted (1) -> any final status (2)."""
        return 1 if self is Status.SUBMITTED else 2

    def follows(self, current: Status) -> bool:
        """The state machine: a status replaces ``current`` only when it ranks higher, so a final
        status is never replaced and a repeated or late report changes nothing. The store
        enforces the same rule with a condition on status_rank."""
        return self.rank > current.rank


class MessageKind(StrEnum):
    VERIFICATION = "verification"
    NOTIFICATION = "notification"
    MARKETING = "marketing"


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    params: dict[str, str] = Field(default_factory=dict)

    @field_validator("params", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value


class P2PItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    to: str = Field(min_length=1, max_length=32)
    content: str = Field(min_length=1, max_length=1000)


MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 128, 256


class SendRequest(BaseModel):
    """The body of one SQS message. See README.md, "Send request"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    account: str | None = None
    route: str | None = Field(default=None, min_length=1, max_length=64)
    to: list[str] = Field(default_factory=list)
    p2p: list[P2PItem] = Field(default_factory=list)
    content: str | None = Field(default=None, max_length=1000)
    template: Template | None = None
    sign: str | None = Field(default=None, max_length=20)
    kind: MessageKind = MessageKind.NOTIFICATION
    send_at: datetime | None = None
    ext_no: str | None = Field(default=None, max_length=20)
    sender_id: str | None = Field(default=None, max_length=20)
    tags: dict[str, str] = Field(default_factory=dict, max_length=MAX_TAGS)

    @field_validator("tags")
    @classmethod
    def _tag_shape(cls, value: dict[str, str]) -> dict[str, str]:
        # DynamoDB refuses an empty attribute name inside a map, for ever: refused here instead.
        if any(not 0 < len(k) <= MAX_TAG_KEY for k in value) or any(
            len(v) > MAX_TAG_VALUE for v in value.values()
        ):
            raise ValueError(f"tag names are 1-{MAX_TAG_KEY} characters, values at most {MAX_TAG_VALUE}")
        return value

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str | None) -> str | None:
        if value is not None and not MESSAGE_ID_PATTERN.match(value):
            raise ValueError("id must be 1-128 characters of A-Za-z0-9._:-")
        return value

    @field_validator("sign")
    @classmethod
    def _bare_sign(cls, value: str | None) -> str | None:
        # Accept a sign written with its brackets; store it bare so each vendor can frame it.
        return bare_sign(value)

    @field_validator("send_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("send_at needs a UTC offset, e.g. 2026-11-23T09:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> SendRequest:
        if self.account is not None and self.route is not None:
            raise ValueError("give either 'account' or 'route', not both")
        if self.to and self.p2p:
            raise ValueError("give either 'to' or 'p2p', not both")
        if not self.to and not self.p2p:
            raise ValueError("no recipients: give 'to' or 'p2p'")
        count = len(self.to) + len(self.p2p)
        if count > MAX_RECIPIENTS_PER_REQUEST:
            raise ValueError(f"{count} recipients; at most {MAX_RECIPIENTS_PER_REQUEST} per request")
        if self.p2p:
            if self.content is not None or self.template is not None:
                raise ValueError("p2p carries its content per recipient; drop 'content'/'template'")
        elif self.template is None and not (self.content and self.content.strip()):
            raise ValueError("empty content: give 'content' or 'template'")
        elif self.template is not None and self.content is not None:
            raise ValueError("give either 'content' or 'template', not both")
        return self


# ---------------------------------------------------------------------------- vendor-facing shapes


@dataclass(frozen=True)
class OutboundItem:
    """One recipient of one request inside a vendor call."""

    message_id: str
    recipient: str  # E.164
    content: str | None = None  # per-recipient content (p2p); None means the call's content


@dataclass(frozen=True)
class Submission:
    """One vendor call's worth of recipients sharing content, sign, kind and options."""

    call_id: str  # deterministic for the same recipients: a vendor task id we can choose
    items: tuple[OutboundItem, ...]
    kind: MessageKind
    content: str | None = None
    template: Template | None = None
    sign: str | None = None
    ext_no: str | None = None
    sender_id: str | None = None
    send_at: datetime | None = None  # set only for adapters with native scheduling
    p2p: bool = False


@dataclass(frozen=True)
class SubmitOutcome:
    """What the vendor said about one recipient of a call."""

    message_id: str
    recipient: str
    status: Status  # SUBMITTED, or a final status when refused
    vendor_message_id: str | None
    vendor_status: str
    description: str


@dataclass(frozen=True, kw_only=True)
class RecipientRecord:
    """One recipient's first record, as the send path writes it (one per message id and recipient).

    Built through the named constructors, which say which of the three ways it came about.
    """

    message_id: str
    recipient: str | None  # None when the request was too broken to name one
    account: str | None
    vendor: str | None
    status: Status
    vendor_message_id: str | None = None
    vendor_status: str
    description: str
    tags: dict[str, str]
    kind: str | None = None
    # The text's encoding and segment count as carriers count them, and its cost where the
    # account sets a price (sms_gateway.protection.segments); None when the text is not ours.
    encoding: str | None = None
    segments: int | None = None
    cost: Decimal | None = None
    # Every account tried for it, in order, the one whose answer this is last (routing, issue 13):
    # {"account", "vendor", "delivery", "reason", "chosen", "at"}.
    attempts: tuple[dict[str, str], ...] = ()

    @classmethod
    def answered(
        cls,
        outcome: SubmitOutcome,
        *,
        account: str,
        vendor: str,
        tags: dict[str, str],
        kind: str | None,
        size: tuple[str, int, Decimal | None] | None = None,
    ) -> RecipientRecord:
        """What the vendor said (submitted or refused), or `unknown` when its answer was lost."""
        encoding, segments, cost = size or (None, None, None)
        return cls(
            encoding=encoding,
            segments=segments,
            cost=cost,
            message_id=outcome.message_id,
            recipient=outcome.recipient,
            account=account,
            vendor=vendor,
            status=outcome.status,
            vendor_message_id=outcome.vendor_message_id,
            vendor_status=outcome.vendor_status,
            description=outcome.description,
            tags=tags,
            kind=kind,
        )

    @classmethod
    def submitted(
        cls,
        *,
        message_id: str,
        recipient: str,
        account: str,
        vendor: str,
        vendor_message_id: str,
        vendor_status: str,
        description: str,
        tags: dict[str, str],
        kind: str | None = None,
    ) -> RecipientRecord:
        return cls(
            message_id=message_id,
            recipient=recipient,
            account=account,
            vendor=vendor,
            status=Status.SUBMITTED,
            vendor_message_id=vendor_message_id,
            vendor_status=vendor_status,
            description=description,
            tags=tags,
            kind=kind,
        )

    @classmethod
    def unknown(
        cls,
        *,
        message_id: str,
        recipient: str,
        account: str,
        vendor: str,
        vendor_status: str,
        reason: str,
        tags: dict[str, str],
        kind: str | None,
    ) -> RecipientRecord:
        """It cannot be known whether the vendor sent it: recorded so, never resent."""
        return cls(
            message_id=message_id,
            recipient=recipient,
            account=account,
            vendor=vendor,
            status=Status.UNKNOWN,
            vendor_status=vendor_status,
            description=reason,
            tags=tags,
            kind=kind,
        )

    @classmethod
    def cancelled(
        cls, *, message_id: str, recipient: str, account: str, vendor: str, tags: dict[str, str], kind: str
    ) -> RecipientRecord:
        """A scheduled message cancelled before it left: final, never sent."""
        return cls(
            message_id=message_id,
            recipient=recipient,
            account=account,
            vendor=vendor,
            status=Status.CANCELLED,
            vendor_status="cancelled",
            description="cancelled before its send time",
            tags=tags,
            kind=kind,
        )

    @classmethod
    def failed(
        cls,
        *,
        message_id: str,
        recipient: str | None,
        account: str | None,
        vendor: str | None,
        vendor_status: str,
        reason: str,
        tags: dict[str, str],
        kind: str | None = None,
    ) -> RecipientRecord:
        """Refused before any vendor call: an invalid request or number."""
        return cls(
            message_id=message_id,
            recipient=recipient,
            account=account,
            vendor=vendor,
            status=Status.FAILED,
            vendor_status=vendor_status,
            description=reason,
            tags=tags,
            kind=kind,
        )


@dataclass(frozen=True)
class ReportIn:
    """A delivery report as a vendor gave it, normalised."""

    vendor_message_id: str
    status: Status
    vendor_status: str
    description: str
    recipient: str | None = None  # E.164 when the vendor gives the full number
    recipient_mask: str | None = None  # e.g. "135****9831" when it does not
    occurred_at: datetime | None = None
    raw_time: str | None = None


@dataclass(frozen=True)
class InboundIn:
    """An MO (a reply from a phone), normalised."""

    sender: str | None  # E.164; None when the vendor shows only a masked number
    content: str
    received_at: datetime | None
    raw_time: str | None
    ext_no: str | None = None
    vendor_message_id: str | None = None
    sender_mask: str | None = None  # when the vendor hides part of the number


@dataclass(frozen=True)
class BalanceIn:
    amount: Decimal  # currency units (yuan for CNY)
    currency: str
    raw: dict[str, Any] = field(default_factory=dict)
    # Billed afterwards: the amount (negative by design on some vendors) is no reserve running low.
    postpaid: bool = False


@dataclass(frozen=True)
class PendingRecipient:
    """A submitted recipient still waiting for a final status (for vendors polled per message)."""

    message_id: str
    recipient: str
    vendor_message_id: str
    created_at: str


@dataclass(frozen=True)
class PushRequest:
    kind: Literal["report", "mo"]
    headers: dict[str, str]  # lower-cased names
    query: dict[str, str]
    body: bytes
    content_type: str


@dataclass(frozen=True)
class HttpAnswer:
    status_code: int
    body: str
    content_type: str = "application/json"


@dataclass(frozen=True)
class Unreadable:
    """A pushed or pulled record that could not be read or stored, kept raw for inspection and
    replay. ``reason`` never quotes a value (numbers and texts stay out of logs and answers)."""

    reason: str
    record: Any = None  # the record as the vendor gave it (parsed JSON), when there is one
    index: int | None = None  # its position in the push or pull


@dataclass(frozen=True)
class PushBatch:
    reports: tuple[ReportIn, ...] = ()
    inbound: tuple[InboundIn, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()

    @property
    def readable(self) -> int:
        return len(self.reports) + len(self.inbound)


class PullSink:
    """What a pull hands over besides its records: the raw answer, before it is parsed (some
    vendors hand each record out only once), and the records it could not read."""

    def __init__(self, keep_raw: Callable[[bytes], object] | None = None) -> None:
        self._keep_raw = keep_raw
        self.unreadable: list[Unreadable] = []

    def raw(self, body: bytes) -> None:
        if self._keep_raw is not None:
            self._keep_raw(body)

    def skip(self, record: Unreadable) -> None:
        self.unreadable.append(record)


# ---------------------------------------------------------------------------- kept batches

PULLED_BATCH = "application/vnd.sms-gateway.batch+json"  # content type of a kept pulled batch


def batch_to_json(batch: PushBatch) -> str:
    """A normalised batch as JSON, to keep it before it is applied (see polling.py)."""

    def plain(item: ReportIn | InboundIn) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(item).items()}

    return json.dumps(
        {"reports": [plain(r) for r in batch.reports], "inbound": [plain(i) for i in batch.inbound]},
        ensure_ascii=False,
    )


def batch_from_json(text: str) -> PushBatch:
    data = json.loads(text)

    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    reports = tuple(
        ReportIn(**{**r, "status": Status(r["status"]), "occurred_at": when(r.get("occurred_at"))})
        for r in data.get("reports", [])
    )
    inbound = tuple(
        InboundIn(**{**i, "received_at": when(i.get("received_at"))}) for i in data.get("inbound", [])
    )
    return PushBatch(reports, inbound)
