"""Recipient records and their vendor-id lookups; the reports kept until a recipient is known are
orphans.py's (orphans, ambiguous, the orphan signal).

A recipient's status only moves forward (Status.rank), enforced by a condition on every update,
never by read-then-write. Which record a report is about is decided by matching.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

import sms_gateway.store.keys as layout
from sms_gateway.clock import iso, utcnow
from sms_gateway.matching import Advance
from sms_gateway.models import RecipientRecord, ReportIn, Status
from sms_gateway.store.orphans import KeptReports
from sms_gateway.store.table import Table, conditional_failed

# Below this many records, threads cost more than they save.
THREADED_FROM = 5


class RecipientStore(KeptReports):
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

    def _lookup_item(self, record: RecipientRecord) -> dict[str, Any] | None:
        if not (record.vendor_message_id and record.recipient and record.account):
            return None
        pk, sk = layout.lookup(record.account, record.vendor_message_id, record.recipient)
        return {
            "pk": pk,
            "sk": sk,
            "type": layout.LOOKUP,
            "message_id": record.message_id,
            "expires_at": self.table.expires(),
        }

    def _record_item(self, record: RecipientRecord) -> dict[str, Any]:
        now = iso(utcnow())
        number = record.recipient or layout.INVALID_RECIPIENT
        pk, sk = layout.recipient(record.message_id, number)
        item: dict[str, Any] = {
            "pk": pk,
            "sk": sk,
            "type": layout.RECIPIENT,
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
            "encoding": record.encoding,
            "segments": record.segments,
            "cost": record.cost,
            "created_at": now,
            "updated_at": now,
            "status_at": now,
            "history": [{"status": record.status.value, "vendor_status": record.vendor_status, "at": now}],
            "expires_at": self.table.expires(),
        }
        if record.attempts:
            item["attempts"] = list(record.attempts)
            item["history"][0]["attempts"] = list(record.attempts)
        if record.status is Status.SUBMITTED and record.vendor_message_id and record.account:
            item["pending_pk"] = layout.pending_pk(record.account, record.message_id, number)
            item["pending_sk"] = layout.pending_sk(now, record.message_id, number)
        return item

    # ------------------------------------------------------------------ reads
    def recipient(self, message_id: str, recipient: str) -> dict[str, Any] | None:
        return self.table.get(layout.recipient(message_id, recipient))

    def message(self, message_id: str) -> list[dict[str, Any]]:
        """Every recipient record of a message: the answer to "what happened to this SMS?"."""
        return list(self.table.query(layout.message_pk(message_id), layout.RCPT_PREFIX))

    def lookup_message(self, account: str, vendor_message_id: str, number: str) -> str | None:
        """The message id recorded for this number under this vendor id, if any."""
        hit = self.table.get(layout.lookup(account, vendor_message_id, number))
        return str(hit["message_id"]) if hit else None

    def lookups(self, account: str, vendor_message_id: str) -> list[tuple[str, str]]:
        """(message id, number) of every recipient recorded under this vendor id."""
        pk = layout.lookup_pk(account, vendor_message_id)
        items = self.table.query(pk, layout.RCPT_PREFIX)
        return [(str(i["message_id"]), layout.number_of(i["sk"])) for i in items]

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
                layout.recipient(message_id, recipient),
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
