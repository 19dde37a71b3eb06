"""The outbox: committed table changes (the DynamoDB stream) become EventBridge events.

Because events come from the stream, an event exists exactly when a change was committed: a
status that did not move (a duplicate or late report) writes nothing and so publishes nothing,
and a crash between a write and its event cannot lose the event.

PutEvents can accept some entries of a call and refuse others. Only the refused entries are put
again, a bounded number of times with jittered back-off, so a partial failure no longer makes the
stream deliver again events that were already accepted. What is still refused after that:
* a change that cannot be turned into events (an image the code cannot read, a detail that breaks
  the events contract, contract.py), a refusal that cannot heal (anything but throttling or an
  internal failure: a malformed or oversized detail, a missing permission), or a change committed more than
  ``park_after_seconds`` ago (it has waited that long behind failures), is PARKED: the
  publisher sends the item's keys, its new image and the refused entries to the
  PublishFailureQueue (which pages through its alarm) and moves on, so one change can neither
  block its shard nor be skipped with only the stream's metadata;
* anything else is handed back to the stream from its first such record (ReportBatchItemFailures):
  Lambda delivers that record and every later one of the batch again.
Metrics of the changes published or parked here (event_metrics.change_metrics) are emitted once
the batch is decided, for the records not handed back, so a retried record is not counted twice.
Duplicates therefore come only from that hand-back (the accepted events of the later records
are put again) and from a crash between a put and the stream's checkpoint.

A parked message (JSON, ``version`` 1): ``reason`` (the last error code), ``event_id``,
``event_name``, ``sequence_number``, ``approximate_creation``, ``keys`` and ``new_image``
(DynamoDB JSON, as the stream gave them) and ``entries`` (the refused PutEvents entries, ready to
be put again: ``Publisher.republish``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sms_gateway import contract
from sms_gateway.detail_types import (
    BALANCE_EVENT,
    BALANCE_LOW,
    DELIVERY_REPORT,
    INBOUND_EVENT,
    SUBMIT_FAILED,
    SUBMITTED,
    VERSION,
)
from sms_gateway.event_metrics import change_metrics
from sms_gateway.observability import MetricBatch, logger, metrics
from sms_gateway.protection.events import CANCELLED, PROTECTION_EVENTS, protection_events
from sms_gateway.routing.events import ROUTE_HEALTH_DETAIL_TYPE, change_from_images, route_health_detail
from sms_gateway.store.items import BalanceItem, InboundItem, RecipientItem
from sms_gateway.store.keys import BALANCE, CIRCUIT, INBOUND, RECIPIENT
from sms_gateway.store.table import deserialize

__all__ = ["BALANCE_EVENT", "BALANCE_LOW", "DELIVERY_REPORT", "INBOUND_EVENT", "SUBMITTED", "SUBMIT_FAILED"]
PUT_EVENTS_LIMIT = 10
# PutEvents attempts per entry within one invocation, and their jittered exponential back-off.
PUT_ATTEMPTS = 4
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 2.0
# Entry error codes that a later attempt can cure; any other refusal is final for that entry.
TRANSIENT_ERRORS = frozenset({"ThrottlingException", "InternalFailure", "InternalException"})
# The code given to entries of a call that raised or whose answer did not list them.
CALL_FAILED = "PutEventsFailed"
# The codes of changes parked without a put: they cannot heal by retrying either.
UNREADABLE_CHANGE = "UnreadableChange"
UNSERIALISABLE = "Unserialisable"
CONTRACT_VIOLATION = "ContractViolation"
PARK_AFTER_SECONDS = 900.0


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
        recipient = RecipientItem.from_item(new)
        if change == "INSERT":
            return [(_first_event(recipient.status), _message_detail(recipient))]
        if old is not None and old.get("status") != new.get("status"):
            return [(DELIVERY_REPORT, _message_detail(recipient))]
        return []
    if kind in PROTECTION_EVENTS:
        return protection_events(kind, change, new, old)
    if kind == INBOUND and change == "INSERT":
        return [(INBOUND_EVENT, {"version": VERSION, **asdict(InboundItem.from_item(new))})]
    if kind == BALANCE:
        balance = BalanceItem.from_item(new)
        detail = {"version": VERSION, **asdict(balance)}
        return [(BALANCE_EVENT, detail), *([(BALANCE_LOW, detail)] if balance.low else [])]
    if kind == CIRCUIT:
        return _route_health(new, old)
    return []


def _first_event(status: str) -> str:
    if status == "submitted":
        return SUBMITTED
    return CANCELLED if status == "cancelled" else SUBMIT_FAILED


def _route_health(new: dict[str, Any], old: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    # A failure counted or a probe lease taken over changes the item, not the circuit: no event.
    change = change_from_images(new, old)
    return [(ROUTE_HEALTH_DETAIL_TYPE, route_health_detail(change))] if change else []


def _message_detail(item: RecipientItem) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "version": VERSION,
        "message_id": item.message_id,
        "recipient": item.recipient,
        "account": item.account,
        "vendor": item.vendor,
        "vendor_message_id": item.vendor_message_id,
        "status": item.status,
        "final": item.final,
        "vendor_status": item.vendor_status,
        "description": item.description,
        "occurred_at": item.status_at,
        "submitted_at": item.created_at,
        "vendor_time": item.vendor_time,
        "kind": item.kind,
        "tags": item.tags,
        # Where the text was ours to count (not a vendor template): protection.segments.
        **(
            {"encoding": item.encoding, "segments": item.segments, "cost": item.cost}
            if item.segments is not None
            else {}
        ),
    }
    if item.attempts:  # routed (issue 13): every account tried, the serving one last
        detail["attempts"] = item.attempts
    return detail


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@dataclass
class _Pending:
    index: int  # of the stream record in the batch
    entry: dict[str, Any]
    error: str = ""
    detail: dict[str, Any] | None = None  # what the metrics of a published change are read from


class Publisher:
    def __init__(
        self,
        bus_name: str,
        source: str,
        events_client: Any,
        *,
        failure_queue_url: str | None = None,
        sqs_client: Any = None,
        park_after_seconds: float = PARK_AFTER_SECONDS,
        attempts: int = PUT_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bus_name = bus_name
        self.source = source
        self._events = events_client
        self._failure_queue_url = failure_queue_url
        self._sqs = sqs_client
        self._park_after = park_after_seconds
        self._attempts = max(1, attempts)
        self._sleep = sleep
        self._clock = clock

    def publish_records(self, records: list[dict[str, Any]]) -> set[str]:
        """Publish the events of a batch of stream records, ten to a call across records.

        Returns the eventIDs of the records to hand back to the stream: the first record whose
        events could be neither put nor parked, and every record after it (the stream retries from
        the earliest, so stopping there keeps a recipient's events in order).
        """
        pending = [item for index, record in enumerate(records) for item in self._pending(index, record)]
        first = len(records)
        for start in range(0, len(pending), PUT_EVENTS_LIMIT):
            refused = self._put(pending[start : start + PUT_EVENTS_LIMIT])
            held = self._park_or_hold(records, refused)
            if held:
                first = min(p.index for p in held)
                logger.warning(
                    "events not accepted; the stream will retry",
                    extra={"records": len(records) - first, "reason": held[0].error},
                )
                break
        batch = MetricBatch()
        for item in pending:
            if item.index < first and item.detail is not None:
                change_metrics(batch, item.entry["DetailType"], item.detail)
        batch.flush()
        return {r["eventID"] for r in records[first:]}

    def _pending(self, index: int, record: dict[str, Any]) -> list[_Pending]:
        """The entries of one stream record; what can never become an entry is marked to be parked."""
        try:
            events = events_for(record)
        except Exception as exc:
            # An image our code cannot read (a missing key, a foreign type) fails the same way on
            # every retry: parked with its keys and new image instead of blocking the shard until
            # the stream drops it with metadata only.
            logger.error("unreadable table change", extra={"error": type(exc).__name__})
            return [_Pending(index, {"DetailType": None}, UNREADABLE_CHANGE)]
        pending: list[_Pending] = []
        for detail_type, detail in events:
            try:
                pending.append(_Pending(index, self._entry(detail_type, detail), detail=detail))
            except contract.ContractViolation:
                pending.append(_Pending(index, {"DetailType": detail_type}, CONTRACT_VIOLATION))
            except (TypeError, ValueError):
                # Our own serialisation cannot heal by retrying: park the change as it is.
                pending.append(_Pending(index, {"DetailType": detail_type}, UNSERIALISABLE))
        return pending

    def republish(self, parked: dict[str, Any]) -> bool:
        """Put the entries of a parked message again; True when EventBridge accepted all of them."""
        entries = [_Pending(0, entry) for entry in parked.get("entries", []) if "Detail" in entry]
        return not self._put(entries) and len(entries) == len(parked.get("entries", []))

    def _put(self, batch: list[_Pending]) -> list[_Pending]:
        """Put ``batch`` (at most ten), then again only what was refused; returns what never went."""
        final: list[_Pending] = [p for p in batch if p.error]
        remaining = [p for p in batch if not p.error]
        for attempt in range(self._attempts):
            if not remaining:
                break
            if attempt:
                self._sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))  # noqa: S311 - jitter
            try:
                answer = self._events.put_events(Entries=[p.entry for p in remaining])
                results = list(answer.get("Entries", []))
            except (ClientError, BotoCoreError) as exc:
                logger.warning(
                    "PutEvents failed", extra={"reason": type(exc).__name__, "attempt": attempt + 1}
                )
                results = []
            results += [{"ErrorCode": CALL_FAILED}] * (len(remaining) - len(results))
            retry: list[_Pending] = []
            for item, result in zip(remaining, results, strict=False):
                if result.get("ErrorCode"):
                    item.error = str(result["ErrorCode"])
                    (retry if item.error in TRANSIENT_ERRORS | {CALL_FAILED} else final).append(item)
            if retry and attempt + 1 < self._attempts:
                metrics.add_metric(name="EventsRetried", unit="Count", value=len(retry))
            remaining = retry
        return final + remaining

    def _park_or_hold(self, records: list[dict[str, Any]], refused: list[_Pending]) -> list[_Pending]:
        """Park the refused entries that must not go back to the stream; returns the others."""
        by_record: dict[int, list[_Pending]] = {}
        for item in refused:
            by_record.setdefault(item.index, []).append(item)
        held: list[_Pending] = []
        for index, items in sorted(by_record.items()):
            record = records[index]
            healable = all(i.error in TRANSIENT_ERRORS | {CALL_FAILED} for i in items)
            if (healable and not self._too_old(record)) or not self._park(record, items):
                held.extend(items)
        return held

    def _too_old(self, record: dict[str, Any]) -> bool:
        created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
        try:
            return self._clock() - float(created) > self._park_after
        except (TypeError, ValueError):
            return False

    def _park(self, record: dict[str, Any], items: list[_Pending]) -> bool:
        if not self._failure_queue_url or self._sqs is None:
            return False
        dynamodb = record.get("dynamodb", {})
        message = {
            "version": 1,
            "reason": items[-1].error,
            "event_id": record.get("eventID"),
            "event_name": record.get("eventName"),
            "sequence_number": dynamodb.get("SequenceNumber"),
            "approximate_creation": dynamodb.get("ApproximateCreationDateTime"),
            "keys": dynamodb.get("Keys"),
            "new_image": dynamodb.get("NewImage"),
            "entries": [i.entry for i in items],
        }
        try:
            self._sqs.send_message(
                QueueUrl=self._failure_queue_url,
                MessageBody=json.dumps(message, ensure_ascii=False, default=_json_default),
            )
        except (ClientError, BotoCoreError, TypeError, ValueError) as exc:
            logger.warning("cannot park an unpublished change", extra={"reason": type(exc).__name__})
            return False
        metrics.add_metric(name="EventsParked", unit="Count", value=len(items))
        logger.error(
            "change parked in the publish failure queue",
            extra={"event_id": record.get("eventID"), "reason": items[-1].error, "events": len(items)},
        )
        return True

    def _entry(self, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(detail, ensure_ascii=False, default=_json_default)
        contract.check(detail_type, text)
        return {
            "EventBusName": self.bus_name,
            "Source": self.source,
            "DetailType": detail_type,
            "Detail": text,
        }
