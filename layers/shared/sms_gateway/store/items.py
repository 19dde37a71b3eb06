"""Typed views of the items that leave the store: the stream images the publisher reads and the
kept pushes ingest replays. Attribute names are the table's; a view never changes an item."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sms_gateway.store.bodies import kept_body


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value)


@dataclass(frozen=True, kw_only=True)
class RecipientItem:
    message_id: str
    status: str
    recipient: str | None = None
    account: str | None = None
    vendor: str | None = None
    vendor_message_id: str | None = None
    final: bool = False
    vendor_status: str | None = None
    description: str | None = None
    status_at: str | None = None
    created_at: str | None = None
    vendor_time: str | None = None
    kind: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    segments: int | None = None
    cost: Decimal | None = None
    attempts: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RecipientItem:
        return cls(
            message_id=str(item["message_id"]),
            status=str(item["status"]),
            recipient=_text(item, "recipient"),
            account=_text(item, "account"),
            vendor=_text(item, "vendor"),
            vendor_message_id=_text(item, "vendor_message_id"),
            final=bool(item.get("final")),
            vendor_status=_text(item, "vendor_status"),
            description=_text(item, "description"),
            status_at=_text(item, "status_at"),
            created_at=_text(item, "created_at"),
            vendor_time=_text(item, "vendor_time"),
            kind=_text(item, "kind"),
            tags=dict(item.get("tags") or {}),
            encoding=_text(item, "encoding"),
            segments=None if item.get("segments") is None else int(item["segments"]),
            cost=None if item.get("cost") is None else Decimal(str(item["cost"])),
            attempts=[{str(k): str(v) for k, v in a.items()} for a in item.get("attempts") or []],
        )


@dataclass(frozen=True, kw_only=True)
class InboundItem:
    account: str
    vendor: str | None = None
    sender: str | None = None
    sender_mask: str | None = None
    content: str | None = None
    ext_no: str | None = None
    received_at: str | None = None
    vendor_time: str | None = None
    vendor_message_id: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> InboundItem:
        return cls(
            account=str(item["account"]),
            **{name: _text(item, name) for name in _INBOUND_TEXT},
        )


_INBOUND_TEXT = (
    "vendor",
    "sender",
    "sender_mask",
    "content",
    "ext_no",
    "received_at",
    "vendor_time",
    "vendor_message_id",
)


@dataclass(frozen=True, kw_only=True)
class BalanceItem:
    account: str
    vendor: str | None = None
    amount: Decimal
    currency: str | None = None
    low: bool = False
    threshold: Decimal | None = None
    polled_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> BalanceItem:
        return cls(
            account=str(item["account"]),
            amount=item["amount"],
            vendor=_text(item, "vendor"),
            currency=_text(item, "currency"),
            low=bool(item.get("low")),
            threshold=item.get("threshold"),
            polled_at=_text(item, "polled_at"),
            raw=dict(item.get("raw") or {}),
        )


@dataclass(frozen=True, kw_only=True)
class KeptItem:
    """A kept push or pulled batch waiting on the replay index."""

    key: tuple[str, str]
    kind: str
    content_type: str
    attributes: dict[str, Any] = field(repr=False)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> KeptItem:
        return cls(
            key=(str(item["pk"]), str(item["sk"])),
            kind=str(item.get("kind", "")),
            content_type=str(item.get("content_type", "")),
            attributes=item,
        )

    def body(self) -> bytes | None:
        """The body as received; None when only a sample was kept. Raises on a damaged body,
        which then counts as that item's failed replay."""
        return kept_body(self.attributes)
