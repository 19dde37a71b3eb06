"""Recipient records, their vendor-id lookups and kept reports (orphans, ambiguous).

A recipient's status only moves forward (Status.rank), enforced by a condition on every update,
never by read-then-write. Which record a report is about is decided by matching.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from sms_gateway.clock import iso, utcnow
from sms_gateway.matching import Advance, OrphanKey
from sms_gateway.models import RecipientRecord, ReportIn, Status
from sms_gateway.store import keys
from sms_gateway.store.inbound import digest
from sms_gateway.store.table import Key, Table, conditional_failed

# Below this many records, threads cost more than they save.
THREADED_FROM = 5
# An orphan of a vendor id can only be kept after the vendor issued the id, so a send looks for
# orphans only when its shard's signal is younger than its call (less this margin for clocks).
SIGNAL_CLOCK_MARGIN_SECONDS = 300


class RecipientStore:
    def __init__(self, table: Table, write_threads: int = 8) -> None:
        self.table = table
        self.write_threads = write_threads

    # ------------------------------------------------------------------ submissions
    def write_lookups(self, records: Iterable[RecipientRecord]) -> None:
        """Vendor-id lookups: plain idempotent puts, batched."""
        self.table.batch_put([lookup for r in records if (lookup := self._lookup_item(r))])

    def write_records(self, records: list[RecipientRecord]) -> list[bool]:
        """Each recipient's first record, a conditional put each (in parallel threads); that
        condition alone decides whether it is new, so a redelivered request never writes twice."""

        def put(record: RecipientRecord) -> bool:
            return self.table.put(self._record_item(record), "attribute_not_exists(pk)")

        if self.write_threads <= 1 or len(records) < THREADED_FROM:
            return [put(r) for r in records]
        with ThreadPoolExecutor(max_workers=self.write_threads) as pool:
            return list(pool.map(put, records))

    def write_fresh(self, records: list[RecipientRecord]) -> list[bool]:
        """Lookups and first records of a freshly claimed request, batched: no record of it can
        exist yet (only the claim's holder writes them), so no condition is needed."""
        self.table.batch_put(self.first_items(records))
        return [True] * len(records)

    def first_items(self, records: list[RecipientRecord]) -> list[dict[str, Any]]:
        """The lookups, then the records, of new recipients."""
        lookups = [lookup for r in records if (lookup := self._lookup_item(r))]
        return [*lookups, *(self._record_item(r) for r in records)]

    def signalled(self, records: list[RecipientRecord], since: float) -> list[RecipientRecord]:
        """The records whose shard kept an orphan report since ``since`` (one read for all)."""
        shard_of = {
            id(r): keys.orphan_signal(r.account, r.vendor_message_id)
            for r in records
            if r.vendor_message_id and r.recipient and r.account
        }
        fresh = {
            (item["pk"], item["sk"])
            for item in self.table.batch_get(sorted(set(shard_of.values())))
            if float(item.get("last_at", 0)) >= since - SIGNAL_CLOCK_MARGIN_SECONDS
        }
        return [r for r in records if shard_of.get(id(r)) in fresh]

    def _lookup_item(self, record: RecipientRecord) -> dict[str, Any] | None:
        if not (record.vendor_message_id and record.recipient and record.account):
            return None
        pk, sk = keys.lookup(record.account, record.vendor_message_id, record.recipient)
        return {
            "pk": pk,
            "sk": sk,
            "type": keys.LOOKUP,
            "message_id": record.message_id,
            "expires_at": self.table.expires(),
        }

    def _record_item(self, record: RecipientRecord) -> dict[str, Any]:
        now = iso(utcnow())
        number = record.recipient or keys.INVALID_RECIPIENT
        pk, sk = keys.recipient(record.message_id, number)
        item: dict[str, Any] = {
            "pk": pk,
            "sk": sk,
            "type": keys.RECIPIENT,
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
            "expires_at": self.table.expires(),
        }
        if record.status is Status.SUBMITTED and record.vendor_message_id and record.account:
            item["pending_pk"] = keys.pending_pk(record.account, record.message_id, number)
            item["pending_sk"] = keys.pending_sk(now, record.message_id, number)
        return item

    # ------------------------------------------------------------------ reads
    def recipient(self, message_id: str, recipient: str) -> dict[str, Any] | None:
        return self.table.get(keys.recipient(message_id, recipient))

    def message(self, message_id: str) -> list[dict[str, Any]]:
        """Every recipient record of a message: the answer to "what happened to this SMS?"."""
        return list(self.table.query(keys.message_pk(message_id), keys.RCPT_PREFIX))

    def lookup_message(self, account: str, vendor_message_id: str, number: str) -> str | None:
        """The message id recorded for this number under this vendor id, if any."""
        hit = self.table.get(keys.lookup(account, vendor_message_id, number))
        return str(hit["message_id"]) if hit else None

    def lookups(self, account: str, vendor_message_id: str) -> list[tuple[str, str]]:
        """(message id, number) of every recipient recorded under this vendor id."""
        pk = keys.lookup_pk(account, vendor_message_id)
        return [
            (str(i["message_id"]), keys.number_of(i["sk"])) for i in self.table.query(pk, keys.RCPT_PREFIX)
        ]

    # ------------------------------------------------------------------ reports
    def advance(self, message_id: str, recipient: str, report: ReportIn) -> Advance:
        """Move the record's status forward to the report's, atomically; never backwards."""
        now = iso(utcnow())
        occurred = iso(report.occurred_at) if report.occurred_at else now
        values: dict[str, Any] = {
            ":status": report.status,
            ":rank": report.status.rank,
            ":final": report.status.final,
            ":vendor_status": report.vendor_status,
            ":description": report.description,
            ":occurred": occurred,
            ":now": now,
            ":entry": [
                {"status": report.status.value, "vendor_status": report.vendor_status, "at": occurred}
            ],
            ":empty": [],
        }
        update = (
            "SET #status = :status, status_rank = :rank, #final = :final, vendor_status = :vendor_status, "
            "description = :description, status_at = :occurred, updated_at = :now, "
            "history = list_append(if_not_exists(history, :empty), :entry)"
        )
        if report.raw_time is not None:
            update += ", vendor_time = :raw_time"
            values[":raw_time"] = report.raw_time
        if report.status.final:
            update += " REMOVE pending_pk, pending_sk"
        try:
            self.table.update(
                keys.recipient(message_id, recipient),
                update,
                values,
                names={"#status": "status", "#final": "final"},
                condition="attribute_exists(pk) AND status_rank < :rank",
                # Tells, atomically, why the condition failed: a later read could find a record
                # written in between and drop the report as a duplicate.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            return Advance.NOT_FORWARD if exc.response.get("Item") else Advance.NO_RECORD
        return Advance.MOVED

    def keep_orphan(self, account: str, report: ReportIn) -> None:
        """Keep a report whose submission is not recorded yet, one per vendor id and number, found
        later by key (no query): the first report wins, as it would have on the record."""
        pk, sk = keys.orphan(account, report.vendor_message_id, report.recipient or report.recipient_mask)
        self.table.put(
            {
                "pk": pk,
                "sk": sk,
                "type": keys.ORPHAN,
                "recipient": report.recipient,
                "recipient_mask": report.recipient_mask,
                "status": report.status,
                "vendor_status": report.vendor_status,
                "description": report.description,
                "occurred_at": iso(report.occurred_at) if report.occurred_at else None,
                "raw_time": report.raw_time,
                "received_at": iso(utcnow()),
                "expires_at": self.table.expires(),
            },
            condition="attribute_not_exists(pk)",
        )
        # After the orphan, before the matcher looks for the lookup again: a sender that reads
        # the signal too early has written its lookup before this report's second look.
        signal_pk, signal_sk = keys.orphan_signal(account, report.vendor_message_id)
        self.table.update(
            (signal_pk, signal_sk),
            "SET #type = :type, last_at = :now, expires_at = :expires",
            {":type": keys.ORPHAN_SIGNAL, ":now": int(time.time()), ":expires": self.table.expires()},
            names={"#type": "type"},
        )

    def drop_orphan(self, key: OrphanKey) -> None:
        self.table.delete(keys.orphan(*key))

    def orphans(self, wanted: Iterable[OrphanKey]) -> Iterator[tuple[OrphanKey, ReportIn]]:
        """The kept orphan reports among ``wanted``, batched reads by key."""
        by_key: dict[Key, OrphanKey] = {keys.orphan(*k): k for k in wanted}
        for item in self.table.batch_get(list(by_key)):
            key = by_key[(item["pk"], item["sk"])]
            yield key, _report_from_item(key[1], item)

    def keep_ambiguous(self, account: str, report: ReportIn, candidates: int) -> None:
        pk, sk = keys.ambiguous(
            account,
            report.vendor_message_id,
            report.recipient_mask,
            digest(report.vendor_status, report.raw_time),
        )
        self.table.put(
            {
                "pk": pk,
                "sk": sk,
                "type": keys.AMBIGUOUS,
                "recipient_mask": report.recipient_mask,
                "candidates": candidates,
                "status": report.status,
                "vendor_status": report.vendor_status,
                "description": report.description,
                "raw_time": report.raw_time,
                "received_at": iso(utcnow()),
                "expires_at": self.table.expires(),
            }
        )


def _report_from_item(vendor_message_id: str, item: dict[str, Any]) -> ReportIn:
    occurred = item.get("occurred_at")
    return ReportIn(
        vendor_message_id=vendor_message_id,
        status=Status(item["status"]),
        vendor_status=str(item.get("vendor_status", "")),
        description=str(item.get("description", "")),
        recipient=item.get("recipient"),
        recipient_mask=item.get("recipient_mask"),
        occurred_at=datetime.fromisoformat(occurred.replace("Z", "+00:00")) if occurred else None,
        raw_time=item.get("raw_time"),
    )
