"""Reports kept against a vendor id until their recipient is known: orphans (the report overtook
its submission) and ambiguous ones (a masked number fits two recipients), and the per-shard
signal that tells the send path whether any orphan can be waiting for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sms_gateway.store.keys as layout
from sms_gateway.clock import iso, utcnow
from sms_gateway.matching import OrphanKey
from sms_gateway.models import RecipientRecord, ReportIn, Status
from sms_gateway.store.inbound import digest
from sms_gateway.store.table import Key, Table

# An orphan of a vendor id can only be kept after the vendor issued the id, so a send looks for
# orphans only when its shard's signal is younger than its call (less this margin for clocks).
SIGNAL_CLOCK_MARGIN_SECONDS = 300


class KeptReports:
    table: Table

    def signalled(self, records: list[RecipientRecord], since: float) -> list[RecipientRecord]:
        """The records whose shard kept an orphan report since ``since`` (one read for all)."""
        shard_of = {
            id(r): layout.orphan_signal(r.account, r.vendor_message_id)
            for r in records
            if r.vendor_message_id and r.recipient and r.account
        }
        fresh = {
            (item["pk"], item["sk"])
            for item in self.table.batch_get(sorted(set(shard_of.values())))
            if float(item.get("last_at", 0)) >= since - SIGNAL_CLOCK_MARGIN_SECONDS
        }
        return [r for r in records if shard_of.get(id(r)) in fresh]

    def keep_orphan(self, account: str, report: ReportIn) -> None:
        """Keep a report whose submission is not recorded yet, one per vendor id and number, found
        later by key (no query): the first report wins, as it would have on the record."""
        pk, sk = layout.orphan(account, report.vendor_message_id, report.recipient or report.recipient_mask)
        self.table.put(
            {
                "pk": pk,
                "sk": sk,
                "type": layout.ORPHAN,
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
        signal_pk, signal_sk = layout.orphan_signal(account, report.vendor_message_id)
        self.table.update(
            (signal_pk, signal_sk),
            "SET #type = :type, last_at = :now, expires_at = :expires",
            {":type": layout.ORPHAN_SIGNAL, ":now": int(time.time()), ":expires": self.table.expires()},
            names={"#type": "type"},
        )

    def drop_orphan(self, key: OrphanKey) -> None:
        self.table.delete(layout.orphan(*key))

    def orphans(self, wanted: Iterable[OrphanKey]) -> Iterator[tuple[OrphanKey, ReportIn]]:
        """The kept orphan reports among ``wanted``, batched reads by key."""
        by_key: dict[Key, OrphanKey] = {layout.orphan(*k): k for k in wanted}
        for item in self.table.batch_get(list(by_key)):
            key = by_key[(item["pk"], item["sk"])]
            yield key, _report_from_item(key[1], item)

    def keep_ambiguous(self, account: str, report: ReportIn, candidates: int) -> None:
        pk, sk = layout.ambiguous(
            account,
            report.vendor_message_id,
            report.recipient_mask,
            digest(report.vendor_status, report.raw_time),
        )
        self.table.put(
            {
                "pk": pk,
                "sk": sk,
                "type": layout.AMBIGUOUS,
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
