"""The sparse `pending` index of recipients waiting for a report from a polled vendor.

The record of a submitted recipient carries pending_pk/pending_sk (layout.pending_sk: the time of
its next check first); a final status removes them (recipients.RecipientStore.advance). When to
check again is the poller's rule (polling.next_check).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

import sms_gateway.store.keys as layout
from sms_gateway.clock import iso, utcnow
from sms_gateway.models import PendingRecipient
from sms_gateway.store.table import Table, conditional_failed, serialize


class PendingStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def due(self, account: str, limit: int) -> list[PendingRecipient]:
        """Recipients of this account still without a final status and due for a check, the
        longest due first (sparse GSI; pending_sk starts with the time of the next check)."""
        due = layout.pending_due_before(iso(utcnow()))
        items: list[dict[str, Any]] = []
        for pk in layout.pending_pks(account):  # the longest due of each shard, then of them all
            items += self.table.page(
                IndexName="pending",
                KeyConditionExpression="pending_pk = :pk AND pending_sk < :due",
                ExpressionAttributeValues=serialize({":pk": pk, ":due": due}),
                Limit=limit,
                ScanIndexForward=True,
            )
        items = sorted(items, key=lambda i: str(i["pending_sk"]))[:limit]
        return [
            PendingRecipient(
                message_id=item["message_id"],
                recipient=item["recipient"],
                vendor_message_id=item["vendor_message_id"],
                created_at=item["created_at"],
            )
            for item in items
        ]

    def defer(self, row: PendingRecipient, until: datetime) -> None:
        """Move a pending recipient to ``until`` on the index; nothing when it is final meanwhile."""
        try:
            self.table.update(
                layout.recipient(row.message_id, row.recipient),
                "SET pending_sk = :sk",
                {":sk": layout.pending_sk(iso(until), row.message_id, row.recipient)},
                condition="attribute_exists(pending_pk)",
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
