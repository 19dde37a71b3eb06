"""Every DynamoDB read and write of the project. One table; the item kinds and their keys:

| item         | pk                              | sk                         | written by            |
|--------------|---------------------------------|----------------------------|-----------------------|
| recipient    | MSG#{message_id}                | RCPT#{e164}                | send; reports update  |
| request      | MSG#{message_id}                | REQUEST                    | send (claim, lease)   |
| lookup       | VID#{account}#{vendor_msg_id}   | RCPT#{e164}                | send, with recipient  |
| orphan       | VID#{account}#{vendor_msg_id}   | ORPHAN#{number}#{hash}     | a report seen first   |
| ambiguous    | VID#{account}#{vendor_msg_id}   | AMBIGUOUS#{mask}#{hash}    | masked, 2+ candidates |
| inbound      | INBOUND#{account}               | {received_at}#{key}        | MO push or pull       |
| balance      | ACCOUNT#{account}               | BALANCE                    | balance poller        |
| token        | ACCOUNT#{account}               | TOKEN                      | token-based vendors   |
| inbox        | INBOX#{account}                 | {received_at}#{uuid}       | every push, first     |
| pulled       | PULLED#{account}                | {received_at}#{uuid}       | raw pulls, unreadable |

A recipient's status only moves forward (Status.rank), enforced by a condition on every update,
never by read-then-write. Events are not published here: the table stream is the outbox
(publishing.py), so an event exists exactly when a change was committed.
"""

from __future__ import annotations

import hashlib
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from sms_gateway.aws import client
from sms_gateway.clock import iso, utcnow
from sms_gateway.limits import SAMPLE_BYTES
from sms_gateway.models import BalanceIn, InboundIn, PendingRecipient, RecipientRecord, ReportIn, Status
from sms_gateway.phone import cn_mask, matches_mask

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Kept bodies: inline text up to this size, else compressed up to the other (the item limit is
# 400 KB, attribute names and the rest included).
INLINE_BODY_BYTES = 100_000
PACKED_BODY_BYTES = 300_000
KEPT_SECONDS = 7 * 86400

# Items whose change becomes an event (the stream filter in template.yaml uses the same names).
RECIPIENT, INBOUND, BALANCE = "recipient", "inbound", "balance"


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_plain(v)) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:20]


class ClaimState(StrEnum):
    CLAIMED = "claimed"  # first time: ours
    RECOVERED = "recovered"  # an earlier attempt's lease ran out: ours, check its inflight set
    BUSY = "busy"  # another invocation holds a live lease
    DONE = "done"  # already fully handled


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    inflight: frozenset[str] = frozenset()


class ReportResult(StrEnum):
    UPDATED = "updated"  # the status moved forward
    UNCHANGED = "unchanged"  # duplicate or late: the record already had this or a final status
    ORPHANED = "orphaned"  # no record yet; kept and applied when the submission is recorded
    AMBIGUOUS = "ambiguous"  # a masked number fits two recipients; kept against the vendor id


class Store:
    def __init__(
        self, table_name: str, retention_days: int = 90, dynamodb: Any = None, write_threads: int = 8
    ) -> None:
        self.table = table_name
        self.retention_seconds = retention_days * 86400
        self.write_threads = write_threads
        self._db = dynamodb or client("dynamodb")

    # ------------------------------------------------------------------ helpers
    def _expires(self, seconds: int | None = None) -> int:
        return int(time.time()) + (seconds or self.retention_seconds)

    def _put(self, item: dict[str, Any], condition: str | None = None) -> bool:
        kwargs: dict[str, Any] = {"TableName": self.table, "Item": serialize(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            self._db.put_item(**kwargs)
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        answer = self._db.get_item(
            TableName=self.table, Key=serialize({"pk": pk, "sk": sk}), ConsistentRead=True
        )
        item = answer.get("Item")
        return deserialize(item) if item else None

    def _query(self, pk: str, prefix: str, *, consistent: bool = True) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": serialize({":pk": pk, ":prefix": prefix}),
            "ConsistentRead": consistent,
        }
        while True:
            page = self._db.query(**kwargs)
            for item in page.get("Items", []):
                yield deserialize(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ------------------------------------------------------------------ send requests (claims)
    def claim_request(self, message_id: str, account: str, lease_seconds: int) -> Claim:
        """Take the request for this invocation. Conditional: two invocations never both own it."""
        now = int(time.time())
        try:
            answer = self._db.update_item(
                TableName=self.table,
                Key=serialize({"pk": f"MSG#{message_id}", "sk": "REQUEST"}),
                UpdateExpression=(
                    "SET #state = :busy, lease_until = :lease, account = :account, updated_at = :now_iso, "
                    "created_at = if_not_exists(created_at, :now_iso), expires_at = :expires "
                    "ADD attempts :one"
                ),
                ConditionExpression="attribute_not_exists(pk) OR (#state = :busy AND lease_until < :now)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=serialize(
                    {
                        ":busy": "in_progress",
                        ":lease": now + lease_seconds,
                        ":now": now,
                        ":now_iso": iso(utcnow()),
                        ":account": account,
                        ":expires": self._expires(),
                        ":one": 1,
                    }
                ),
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            current = self._get(f"MSG#{message_id}", "REQUEST") or {}
            return Claim(ClaimState.DONE if current.get("state") == "done" else ClaimState.BUSY)
        item = deserialize(answer["Attributes"])
        inflight = frozenset(item.get("inflight") or ())
        return Claim(
            ClaimState.RECOVERED if int(item.get("attempts", 1)) > 1 else ClaimState.CLAIMED, inflight
        )

    def mark_inflight(self, message_id: str, recipients: Iterable[str]) -> None:
        """Recipients about to be sent: if we crash now, the next attempt knows they may have left."""
        self._set_op(message_id, "ADD", set(recipients))

    def clear_inflight(self, message_id: str, recipients: Iterable[str]) -> None:
        self._set_op(message_id, "DELETE", set(recipients))

    def _set_op(self, message_id: str, op: str, values: set[str]) -> None:
        if not values:
            return
        self._db.update_item(
            TableName=self.table,
            Key=serialize({"pk": f"MSG#{message_id}", "sk": "REQUEST"}),
            UpdateExpression=f"{op} inflight :values",
            ExpressionAttributeValues={":values": {"SS": sorted(values)}},
        )

    def release_request(self, message_id: str) -> None:
        """Give the lease back so the redelivered message can be taken at once."""
        self._db.update_item(
            TableName=self.table,
            Key=serialize({"pk": f"MSG#{message_id}", "sk": "REQUEST"}),
            UpdateExpression="SET lease_until = :zero",
            ExpressionAttributeValues=serialize({":zero": 0}),
        )

    def finish_request(self, message_id: str) -> None:
        self._db.update_item(
            TableName=self.table,
            Key=serialize({"pk": f"MSG#{message_id}", "sk": "REQUEST"}),
            UpdateExpression="SET #state = :done, updated_at = :now REMOVE inflight",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=serialize({":done": "done", ":now": iso(utcnow())}),
        )

    def recorded_recipients(self, message_id: str) -> set[str]:
        return {item["sk"][5:] for item in self._query(f"MSG#{message_id}", "RCPT#")}

    # ------------------------------------------------------------------ recipient records
    def record_submissions(self, records: list[RecipientRecord]) -> list[bool]:
        """Write each recipient's first record; True where it was new.

        Every vendor-id lookup is written before any record, so a report that finds the lookup
        but not yet its record is kept as an orphan (see _advance), never lost. Lookups are plain
        idempotent puts, batched; each record is a conditional put (in parallel threads), and
        that condition alone decides whether it is new, so a redelivered request never writes (or
        publishes) twice. Then reports that arrived before their submission are applied.
        """
        self._batch_put([lookup for r in records if (lookup := self._lookup_item(r))])
        if self.write_threads <= 1 or len(records) <= 4:
            created = [self._put(self._record_item(r), "attribute_not_exists(pk)") for r in records]
        else:
            with ThreadPoolExecutor(max_workers=self.write_threads) as pool:
                created = list(
                    pool.map(lambda r: self._put(self._record_item(r), "attribute_not_exists(pk)"), records)
                )
        self._adopt_orphans([r for r, new in zip(records, created, strict=True) if new])
        return created

    def _lookup_item(self, record: RecipientRecord) -> dict[str, Any] | None:
        if not (record.vendor_message_id and record.recipient and record.account):
            return None
        return {
            "pk": f"VID#{record.account}#{record.vendor_message_id}",
            "sk": f"RCPT#{record.recipient}",
            "type": "lookup",
            "message_id": record.message_id,
            "expires_at": self._expires(),
        }

    def _record_item(self, record: RecipientRecord) -> dict[str, Any]:
        now = iso(utcnow())
        recipient_key = record.recipient or "invalid"
        item: dict[str, Any] = {
            "pk": f"MSG#{record.message_id}",
            "sk": f"RCPT#{recipient_key}",
            "type": RECIPIENT,
            "message_id": record.message_id,
            # An empty string cannot key the by_recipient index: such a record is left out of it.
            "recipient": record.recipient or None,
            "account": record.account,
            "vendor": record.vendor,
            "vendor_message_id": record.vendor_message_id,
            "status": record.status,
            "status_rank": record.status.rank,
            "final": record.status.final,
            "vendor_status": record.vendor_status,
            "description": record.description,
            "tags": record.tags,
            "kind": record.kind,
            "created_at": now,
            "updated_at": now,
            "status_at": now,
            "history": [{"status": record.status.value, "vendor_status": record.vendor_status, "at": now}],
            "expires_at": self._expires(),
        }
        if record.status is Status.SUBMITTED and record.vendor_message_id and record.account:
            item["pending_pk"] = f"PENDING#{record.account}"
            item["pending_sk"] = f"{now}#{record.message_id}#{recipient_key}"
        return item

    def _batch_put(self, items: list[dict[str, Any]]) -> None:
        """Unconditional puts, 25 a call, retrying what DynamoDB hands back unprocessed."""
        for start in range(0, len(items), 25):
            request = {
                self.table: [{"PutRequest": {"Item": serialize(i)}} for i in items[start : start + 25]]
            }
            for attempt in range(8):
                unprocessed = self._db.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                if not unprocessed:
                    break
                request = unprocessed
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise RuntimeError("DynamoDB kept items unprocessed after 8 attempts")

    def apply_report(self, account: str, report: ReportIn) -> ReportResult:
        lookup_pk = f"VID#{account}#{report.vendor_message_id}"
        candidates = self._candidates(lookup_pk, report)
        if not candidates:
            return self._keep_orphan(lookup_pk, report)
        if len(candidates) > 1:
            # A masked number fits two recipients of one vendor id: keep it, never guess.
            digest = _digest(report.vendor_status, report.raw_time)
            self._put(
                {
                    "pk": lookup_pk,
                    "sk": f"AMBIGUOUS#{report.recipient_mask}#{digest}",
                    "type": "ambiguous_report",
                    "recipient_mask": report.recipient_mask,
                    "candidates": len(candidates),
                    "status": report.status,
                    "vendor_status": report.vendor_status,
                    "description": report.description,
                    "raw_time": report.raw_time,
                    "received_at": iso(utcnow()),
                    "expires_at": self._expires(),
                }
            )
            return ReportResult.AMBIGUOUS
        message_id, recipient = candidates[0]
        result = self._advance(message_id, recipient, report)
        if result is ReportResult.ORPHANED:
            return self._keep_orphan(lookup_pk, report)
        return result

    def _candidates(self, lookup_pk: str, report: ReportIn) -> list[tuple[str, str]]:
        """(message id, recipient) pairs of this vendor id that the report can be about."""
        if report.recipient:
            hit = self._get(lookup_pk, f"RCPT#{report.recipient}")
            return [(hit["message_id"], report.recipient)] if hit else []
        candidates = [(i["message_id"], i["sk"][5:]) for i in self._query(lookup_pk, "RCPT#")]
        if report.recipient_mask:
            candidates = [c for c in candidates if matches_mask(c[1], report.recipient_mask)]
        return candidates

    def _advance(self, message_id: str, recipient: str, report: ReportIn) -> ReportResult:
        now = iso(utcnow())
        occurred = iso(report.occurred_at) if report.occurred_at else now
        names = {"#status": "status", "#final": "final"}
        values = {
            ":status": report.status,
            ":rank": report.status.rank,
            ":final": report.status.final,
            ":vendor_status": report.vendor_status,
            ":description": report.description,
            ":occurred": occurred,
            ":now": now,
            ":raw_time": report.raw_time,
            ":entry": [
                {"status": report.status.value, "vendor_status": report.vendor_status, "at": occurred}
            ],
        }
        update = (
            "SET #status = :status, status_rank = :rank, #final = :final, vendor_status = :vendor_status, "
            "description = :description, status_at = :occurred, updated_at = :now, "
            "history = list_append(if_not_exists(history, :empty), :entry)"
        )
        values[":empty"] = []
        if report.raw_time is not None:
            update += ", vendor_time = :raw_time"
        else:
            values.pop(":raw_time")
        if report.status.final:
            update += " REMOVE pending_pk, pending_sk"
        try:
            self._db.update_item(
                TableName=self.table,
                Key=serialize({"pk": f"MSG#{message_id}", "sk": f"RCPT#{recipient}"}),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND status_rank < :rank",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize(values),
                # Tells, atomically, why the condition failed: a later read could find a record
                # written in between and drop the report as a duplicate.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            if not exc.response.get("Item"):
                return ReportResult.ORPHANED  # the lookup is written before its record
            return ReportResult.UNCHANGED
        return ReportResult.UPDATED

    def _keep_orphan(self, lookup_pk: str, report: ReportIn) -> ReportResult:
        """Store a report whose submission is not recorded yet, then look once more.

        The sender writes its lookup and then looks for orphans; we write the orphan and then look
        for the lookup. With consistent reads at least one side sees the other, so none is stranded.
        """
        # One orphan per vendor id and number, found later by key (no query): the first report wins,
        # as it would have on the record (every report status is final).
        sk = f"ORPHAN#{report.recipient or report.recipient_mask or '-'}"
        self._put(
            {
                "pk": lookup_pk,
                "sk": sk,
                "type": "orphan_report",
                "recipient": report.recipient,
                "recipient_mask": report.recipient_mask,
                "status": report.status,
                "vendor_status": report.vendor_status,
                "description": report.description,
                "occurred_at": iso(report.occurred_at) if report.occurred_at else None,
                "raw_time": report.raw_time,
                "received_at": iso(utcnow()),
                "expires_at": self._expires(),
            },
            condition="attribute_not_exists(pk)",
        )
        candidates = self._candidates(lookup_pk, report)
        if len(candidates) == 1:
            result = self._advance(candidates[0][0], candidates[0][1], report)
            if result is not ReportResult.ORPHANED:
                self._delete(lookup_pk, sk)
                return result
        return ReportResult.ORPHANED

    def _adopt_orphans(self, records: list[RecipientRecord]) -> None:
        """Apply kept reports to newly recorded recipients: batched reads by key, one per form of
        the number a vendor may have used (full, masked as 135****9831, or none)."""
        wanted: dict[tuple[str, str], RecipientRecord] = {}
        for record in records:
            if not (record.vendor_message_id and record.recipient and record.account):
                continue
            pk = f"VID#{record.account}#{record.vendor_message_id}"
            for number in (record.recipient, cn_mask(record.recipient), "-"):
                wanted[(pk, f"ORPHAN#{number}")] = record
        keys = list(wanted)
        for start in range(0, len(keys), 100):
            request = {
                self.table: {
                    "Keys": [serialize({"pk": pk, "sk": sk}) for pk, sk in keys[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = self._db.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(self.table, []):
                    orphan = deserialize(raw)
                    record = wanted[(orphan["pk"], orphan["sk"])]
                    masked = orphan.get("recipient_mask")
                    if masked and not matches_mask(record.recipient or "", masked):
                        continue
                    assert record.recipient is not None
                    self._advance(
                        record.message_id, record.recipient, _report_from_item(orphan["pk"], orphan)
                    )
                    self._delete(orphan["pk"], orphan["sk"])
                request = answer.get("UnprocessedKeys") or {}

    def _delete(self, pk: str, sk: str) -> None:
        self._db.delete_item(TableName=self.table, Key=serialize({"pk": pk, "sk": sk}))

    def recipient(self, message_id: str, recipient: str) -> dict[str, Any] | None:
        return self._get(f"MSG#{message_id}", f"RCPT#{recipient}")

    def message(self, message_id: str) -> list[dict[str, Any]]:
        """Every recipient record of a message: the answer to "what happened to this SMS?"."""
        return list(self._query(f"MSG#{message_id}", "RCPT#"))

    def pending_recipients(self, account: str, limit: int) -> list[PendingRecipient]:
        """Recipients of this account still without a final status and due for a check, the
        longest due first (sparse GSI; pending_sk starts with the time of the next check)."""
        answer = self._db.query(
            TableName=self.table,
            IndexName="pending",
            # "$" sorts after "#": every key whose time is <= now, whatever follows it.
            KeyConditionExpression="pending_pk = :pk AND pending_sk < :due",
            ExpressionAttributeValues=serialize({":pk": f"PENDING#{account}", ":due": f"{iso(utcnow())}$"}),
            Limit=limit,
            ScanIndexForward=True,
        )
        result = []
        for raw in answer.get("Items", []):
            item = deserialize(raw)
            result.append(
                PendingRecipient(
                    message_id=item["message_id"],
                    recipient=item["recipient"],
                    vendor_message_id=item["vendor_message_id"],
                    created_at=item["created_at"],
                )
            )
        return result

    def defer_pending(self, rows: Iterable[PendingRecipient]) -> None:
        """Recipients a poll found still without a final status go to the back of the pending
        index, asked again after a pause that grows with their age (1 minute to 6 hours), so a
        few never-answered recipients cannot hide the others from a bounded poll."""
        now = utcnow()
        for row in rows:
            try:
                age = now - datetime.fromisoformat(row.created_at.replace("Z", "+00:00"))
            except ValueError:
                age = timedelta(0)
            pause = min(max(age / 4, timedelta(minutes=1)), timedelta(hours=6))
            try:
                self._db.update_item(
                    TableName=self.table,
                    Key=serialize({"pk": f"MSG#{row.message_id}", "sk": f"RCPT#{row.recipient}"}),
                    UpdateExpression="SET pending_sk = :sk",
                    ConditionExpression="attribute_exists(pending_pk)",
                    ExpressionAttributeValues=serialize(
                        {":sk": f"{iso(now + pause)}#{row.message_id}#{row.recipient}"}
                    ),
                )
            except ClientError as exc:
                if not _conditional_failed(exc):  # final meanwhile: nothing to defer
                    raise

    # ------------------------------------------------------------------ inbound, balance
    def record_inbound(self, account: str, vendor: str, inbound: InboundIn) -> bool:
        """Store an MO once; a repeated push of the same MO is recognised and not stored again."""
        received = iso(inbound.received_at) if inbound.received_at else (inbound.raw_time or "-")
        # When the vendor shows a masked form, the MO is known by it alone: the same MO pushed
        # with the full number and pulled masked (pwd_v1) is then stored, and published, once.
        sender = None if inbound.sender_mask else inbound.sender
        key = inbound.vendor_message_id or _digest(
            sender, inbound.sender_mask, inbound.content, inbound.ext_no, inbound.raw_time
        )
        return self._put(
            {
                "pk": f"INBOUND#{account}",
                "sk": f"{received}#{key}",
                "type": INBOUND,
                "account": account,
                "vendor": vendor,
                "sender": inbound.sender,
                "sender_mask": inbound.sender_mask,
                "content": inbound.content,
                "ext_no": inbound.ext_no,
                "vendor_message_id": inbound.vendor_message_id,
                "received_at": received,
                "vendor_time": inbound.raw_time,
                "stored_at": iso(utcnow()),
                "expires_at": self._expires(),
            },
            condition="attribute_not_exists(pk)",
        )

    def record_balance(self, account: str, vendor: str, balance: BalanceIn, threshold: float | None) -> None:
        low = threshold is not None and not balance.postpaid and balance.amount < Decimal(str(threshold))
        self._put(
            {
                "pk": f"ACCOUNT#{account}",
                "sk": "BALANCE",
                "type": BALANCE,
                "account": account,
                "vendor": vendor,
                "amount": balance.amount,
                "currency": balance.currency,
                "raw": balance.raw,
                "low": low,
                "threshold": threshold,
                "polled_at": iso(utcnow()),
            }
        )

    # ------------------------------------------------------------------ pushes (inbox), pulls
    def inbox_put(
        self,
        account: str,
        kind: str,
        body: bytes,
        content_type: str,
        *,
        state: str = "received",
        reason: str | None = None,
        sample_only: bool = False,
    ) -> tuple[str, str]:
        """Keep a pushed body as received, before parsing it: nothing between here and the ack drops it.

        A body is kept in a form the table can always hold (see _body_attributes), or only as a
        sample when it is refused for its size. Only items in state `received` wait on the
        replay index.
        """
        pk, sk = f"INBOX#{account}", f"{iso(utcnow())}#{uuid.uuid4().hex}"
        item: dict[str, Any] = {
            "pk": pk,
            "sk": sk,
            "type": "inbox",
            "kind": kind,
            "state": state,
            "reason": reason[:500] if reason else None,
            "content_type": content_type[:200],
            **_body_attributes(body, whole=not sample_only),
            "expires_at": self._expires(KEPT_SECONDS),
        }
        if state == "received":
            # Sparse: on the `pending` index until applied or rejected, so replay finds it.
            item.update(pending_pk=f"REPLAY#{account}", pending_sk=sk)
        self._put(item)
        return pk, sk

    def pulled_put(
        self, account: str, kind: str, body: bytes, state: str, reason: str | None = None
    ) -> tuple[str, str]:
        """Keep what a pull received (state `kept`, before parsing) or could not read (state
        `unreadable`), for inspection and replay by hand. Never on the replay index: the records
        that were read are kept and replayed as a normalised batch (polling.py)."""
        pk, sk = f"PULLED#{account}", f"{iso(utcnow())}#{uuid.uuid4().hex}"
        self._put(
            {
                "pk": pk,
                "sk": sk,
                "type": "pulled",
                "kind": kind,
                "state": state,
                "reason": reason[:500] if reason else None,
                **_body_attributes(body),
                "expires_at": self._expires(KEPT_SECONDS),
            }
        )
        return pk, sk

    def inbox_mark(
        self,
        key: tuple[str, str],
        state: str,
        reason: str | None = None,
        unreadable: list[dict[str, Any]] | None = None,
    ) -> None:
        values: dict[str, Any] = {":state": state}
        update = "SET #state = :state"
        if reason:
            update += ", reason = :reason"
            values[":reason"] = reason[:500]
        if unreadable:
            update += ", unreadable = :unreadable"
            values[":unreadable"] = unreadable[:100]
        update += " REMOVE pending_pk, pending_sk"
        self._db.update_item(
            TableName=self.table,
            Key=serialize({"pk": key[0], "sk": key[1]}),
            UpdateExpression=update,
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=serialize(values),
        )

    def inbox_failed(self, key: tuple[str, str], reason: str) -> int:
        """Count one failed replay of a kept item (it stays on the replay index); returns the count."""
        answer = self._db.update_item(
            TableName=self.table,
            Key=serialize({"pk": key[0], "sk": key[1]}),
            UpdateExpression="SET last_error = :reason ADD replay_failures :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize({":reason": reason[:500], ":one": 1}),
            ReturnValues="UPDATED_NEW",
        )
        return int(deserialize(answer["Attributes"])["replay_failures"])

    def inbox_unprocessed(
        self, account: str, older_than_seconds: int = 60, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Pushes stored but not applied (the apply failed after the body was kept), for replay.

        Read from the sparse `pending` index, where only unapplied pushes stay, so applied ones
        never crowd them out of a page.
        """
        cutoff = iso(datetime.fromtimestamp(time.time() - older_than_seconds, tz=UTC))
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "pending",
            "KeyConditionExpression": "pending_pk = :pk AND pending_sk < :cutoff",
            "ExpressionAttributeValues": serialize({":pk": f"REPLAY#{account}", ":cutoff": cutoff}),
        }
        found: list[dict[str, Any]] = []
        while True:
            page = self._db.query(**kwargs)
            found.extend(deserialize(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page or (limit is not None and len(found) >= limit):
                return found[:limit]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ------------------------------------------------------------------ tokens
    def get_token(self, account: str) -> tuple[str, int] | None:
        item = self._get(f"ACCOUNT#{account}", "TOKEN")
        if not item:
            return None
        return str(item["token"]), int(item["valid_until"])

    def put_token(self, account: str, token: str, valid_until: int) -> None:
        self._put(
            {
                "pk": f"ACCOUNT#{account}",
                "sk": "TOKEN",
                "type": "token",
                "token": token,
                "valid_until": valid_until,
                "expires_at": valid_until + 3600,
            }
        )

    def drop_token(self, account: str, token: str) -> None:
        """Forget a token the vendor refused, unless another instance already replaced it."""
        try:
            self._db.delete_item(
                TableName=self.table,
                Key=serialize({"pk": f"ACCOUNT#{account}", "sk": "TOKEN"}),
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues=serialize({":token": token}),
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise


def _body_attributes(body: bytes, *, whole: bool = True) -> dict[str, Any]:
    """A kept body in a form a DynamoDB item (400 KB) can always hold: the text when it is short
    UTF-8, else the exact bytes compressed (Binary), else a sample with the size and a digest."""
    size, digest = len(body), hashlib.sha256(body).hexdigest()
    if whole and size <= INLINE_BODY_BYTES:
        try:
            return {"body": body.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    packed = zlib.compress(body, 6) if whole else b""
    if whole and len(packed) <= PACKED_BODY_BYTES:
        return {"body_z": packed, "body_bytes": size, "body_sha256": digest}
    return {
        "body_sample": body[:SAMPLE_BYTES].decode("utf-8", errors="replace"),
        "body_bytes": size,
        "body_sha256": digest,
        "truncated": True,
    }


def kept_body(item: dict[str, Any]) -> bytes | None:
    """The body of a kept push or pull as it was received; None when only a sample was kept."""
    if "body" in item:
        return str(item["body"]).encode("utf-8")
    if "body_z" in item:
        packed = item["body_z"]
        return zlib.decompress(bytes(packed.value if hasattr(packed, "value") else packed))
    return None


def _report_from_item(lookup_pk: str, item: dict[str, Any]) -> ReportIn:
    occurred = item.get("occurred_at")
    return ReportIn(
        vendor_message_id=lookup_pk.split("#", 2)[2],
        status=Status(item["status"]),
        vendor_status=str(item.get("vendor_status", "")),
        description=str(item.get("description", "")),
        recipient=item.get("recipient"),
        recipient_mask=item.get("recipient_mask"),
        occurred_at=datetime.fromisoformat(occurred.replace("Z", "+00:00")) if occurred else None,
        raw_time=item.get("raw_time"),
    )
