"""The outbox: committed table changes (the DynamoDB stream) become EventBridge events.

Because events come from the stream, an event exists exactly when a change was committed: a
status that did not move (a duplicate or late report) writes nothing and so publishes nothing,
and a crash between a write and its event cannot lose the event.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sms_gateway.store import BALANCE, INBOUND, RECIPIENT, deserialize

SUBMITTED = "SMS Submitted"
SUBMIT_FAILED = "SMS Submit Failed"
DELIVERY_REPORT = "SMS Delivery Report"
INBOUND_EVENT = "SMS Inbound"
BALANCE_EVENT = "SMS Balance"
BALANCE_LOW = "SMS Balance Low"
PUT_EVENTS_LIMIT = 10


def events_for(stream_record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:  # noqa: PLR0911
    """(detail-type, detail) pairs for one stream record; empty when nothing is to be said."""
    change = stream_record.get("eventName")
    dynamodb = stream_record.get("dynamodb", {})
    new = deserialize(dynamodb["NewImage"]) if dynamodb.get("NewImage") else None
    old = deserialize(dynamodb["OldImage"]) if dynamodb.get("OldImage") else None
    if new is None or change not in {"INSERT", "MODIFY"}:
        return []
    kind = new.get("type")
    if kind == RECIPIENT:
        if change == "INSERT":
            return [(SUBMITTED if new["status"] == "submitted" else SUBMIT_FAILED, _message_detail(new))]
        if old is not None and old.get("status") != new.get("status"):
            return [(DELIVERY_REPORT, _message_detail(new))]
        return []
    if kind == INBOUND and change == "INSERT":
        return [(INBOUND_EVENT, _inbound_detail(new))]
    if kind == BALANCE:
        detail = _balance_detail(new)
        return [(BALANCE_EVENT, detail), *([(BALANCE_LOW, detail)] if detail["low"] else [])]
    return []


def _message_detail(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": item["message_id"],
        "recipient": item.get("recipient"),
        "account": item.get("account"),
        "vendor": item.get("vendor"),
        "vendor_message_id": item.get("vendor_message_id"),
        "status": item["status"],
        "final": bool(item.get("final")),
        "vendor_status": item.get("vendor_status"),
        "description": item.get("description"),
        "occurred_at": item.get("status_at"),
        "submitted_at": item.get("created_at"),
        "vendor_time": item.get("vendor_time"),
        "kind": item.get("kind"),
        "tags": item.get("tags") or {},
    }


def _inbound_detail(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "account": item["account"],
        "vendor": item.get("vendor"),
        "sender": item.get("sender"),
        "sender_mask": item.get("sender_mask"),
        "content": item.get("content"),
        "ext_no": item.get("ext_no"),
        "received_at": item.get("received_at"),
        "vendor_time": item.get("vendor_time"),
        "vendor_message_id": item.get("vendor_message_id"),
    }


def _balance_detail(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "account": item["account"],
        "vendor": item.get("vendor"),
        "amount": item["amount"],
        "currency": item.get("currency"),
        "low": bool(item.get("low")),
        "threshold": item.get("threshold"),
        "polled_at": item.get("polled_at"),
        "raw": item.get("raw") or {},
    }


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class PublishFailed(Exception):
    pass


class Publisher:
    def __init__(self, bus_name: str, source: str, events_client: Any) -> None:
        self.bus_name = bus_name
        self.source = source
        self._events = events_client

    def publish(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        entries = [
            {
                "EventBusName": self.bus_name,
                "Source": self.source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, ensure_ascii=False, default=_json_default),
            }
            for detail_type, detail in events
        ]
        for start in range(0, len(entries), PUT_EVENTS_LIMIT):
            answer = self._events.put_events(Entries=entries[start : start + PUT_EVENTS_LIMIT])
            if answer.get("FailedEntryCount"):
                codes = {e.get("ErrorCode") for e in answer.get("Entries", []) if e.get("ErrorCode")}
                # The stream retries the record; consumers may see an event twice, never zero times.
                raise PublishFailed(f"{answer['FailedEntryCount']} events not accepted: {sorted(codes)}")
