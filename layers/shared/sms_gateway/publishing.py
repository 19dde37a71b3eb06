"""The outbox: committed table changes (the DynamoDB stream) become EventBridge events.

Because events come from the stream, an event exists exactly when a change was committed: a
status that did not move (a duplicate or late report) writes nothing and so publishes nothing,
and a crash between a write and its event cannot lose the event.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sms_gateway.observability import logger
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


class Publisher:
    def __init__(self, bus_name: str, source: str, events_client: Any) -> None:
        self.bus_name = bus_name
        self.source = source
        self._events = events_client

    def publish_records(self, records: list[dict[str, Any]]) -> set[str]:
        """Publish the events of a batch of stream records, ten to a call across records.

        Returns the eventIDs of the records whose events were not all accepted, and of every record
        after the first such one: the stream retries from the earliest, so stopping there keeps
        duplicates (never losses) to a minimum and the order of a recipient's events intact.
        """
        owned = [(record["eventID"], event) for record in records for event in events_for(record)]
        for start in range(0, len(owned), PUT_EVENTS_LIMIT):
            chunk = owned[start : start + PUT_EVENTS_LIMIT]
            try:
                answer = self._events.put_events(Entries=[self._entry(*event) for _, event in chunk])
            except Exception:
                logger.exception("PutEvents failed")
                answer = {"Entries": [{"ErrorCode": "PutEventsFailed"}] * len(chunk)}
            refused = [
                owner
                for (owner, _), entry in zip(chunk, answer.get("Entries", []), strict=False)
                if entry.get("ErrorCode")
            ]
            if refused or len(answer.get("Entries", [])) < len(chunk):
                first = min(i for i, r in enumerate(records) if r["eventID"] in ({*refused} or {chunk[0][0]}))
                logger.warning(
                    "events not accepted; the stream will retry", extra={"records": len(records) - first}
                )
                return {r["eventID"] for r in records[first:]}
        return set()

    def _entry(self, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
        return {
            "EventBusName": self.bus_name,
            "Source": self.source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, ensure_ascii=False, default=_json_default),
        }
