"""``Store``: the table's item kinds composed, with the calls the services make (see __init__)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sms_gateway.store.keys as layout
from sms_gateway.aws import client
from sms_gateway.matching import ReportMatcher, ReportResult
from sms_gateway.models import BalanceIn, InboundIn, PendingRecipient, RecipientRecord, ReportIn
from sms_gateway.store.balances import BalanceStore
from sms_gateway.store.inbound import InboundStore
from sms_gateway.store.inbox import InboxStore
from sms_gateway.store.items import KeptItem
from sms_gateway.store.keys import RECIPIENT
from sms_gateway.store.pending import PendingStore
from sms_gateway.store.recipients import RecipientStore
from sms_gateway.store.requests import Claim, RequestStore
from sms_gateway.store.table import TRANSACT_ITEMS, Key, Table
from sms_gateway.store.tokens import TokenStore


class Store:
    """The table's item kinds, composed (each part is usable alone: ``store.recipients`` ...)."""

    def __init__(
        self, table_name: str, retention_days: int = 90, dynamodb: Any = None, write_threads: int = 8
    ) -> None:
        self.table = Table(table_name, dynamodb or client("dynamodb"), retention_days * 86400)
        self.requests = RequestStore(self.table)
        self.recipients = RecipientStore(self.table, write_threads)
        self.pending = PendingStore(self.table)
        self.inbox = InboxStore(self.table)
        self.inbound = InboundStore(self.table)
        self.balances = BalanceStore(self.table)
        self.tokens = TokenStore(self.table)
        self.matcher = ReportMatcher(self.recipients)

    # ------------------------------------------------------------------ send requests (sending.py)
    def claim_request(
        self,
        message_id: str,
        account: str,
        lease_seconds: int,
        inflight: Iterable[str] = (),
        *,
        content: str | None = None,
    ) -> Claim:
        return self.requests.claim(message_id, account, lease_seconds, inflight, content=content)

    def mark_inflight(self, message_id: str, recipients: Iterable[str]) -> None:
        self.requests.mark_inflight(message_id, recipients)

    def release_request(self, message_id: str, not_sent: Iterable[str] = ()) -> None:
        self.requests.release(message_id, not_sent)

    def finish_request(self, message_id: str) -> None:
        self.requests.finish(message_id)

    def recorded_recipients(self, message_id: str) -> set[str]:
        return self.requests.recorded_recipients(message_id)

    def record_submissions(
        self, records: list[RecipientRecord], *, fresh: bool = False, since: float | None = None
    ) -> list[bool]:
        """Write each recipient's first record; True where it was new.

        Every vendor-id lookup is written before any record (or with it), so a report that finds
        the lookup but not yet its record is kept as an orphan (matching.py), never lost. Then
        reports that arrived before their submission are applied to the records that are new.
        ``fresh``: the records of freshly claimed requests, which none can have yet (one batch).
        ``since``: when their vendor call started; orphans are then looked for only in shards
        that kept one since (one read instead of three per recipient).
        """
        if fresh:
            created = self.recipients.write_fresh(records)
        else:
            self.recipients.write_lookups(records)
            created = self.recipients.write_records(records)
        self._adopt([r for r, new in zip(records, created, strict=True) if new], since)
        return created

    def record_and_finish(self, message_id: str, records: list[RecipientRecord], since: float) -> bool:
        """The last records of a freshly claimed request and its finish, in one transaction; False
        (nothing written) when they do not fit one or a record exists after all."""
        actions = [
            self.table.put_action(item, "attribute_not_exists(pk)" if item["type"] == RECIPIENT else None)
            for item in self.recipients.first_items(records)
        ]
        actions.append(self.table.update_action(layout.request(message_id), *self.requests.finish_update()))
        if len(actions) > TRANSACT_ITEMS or not self.table.transact(actions):
            return False
        self._adopt(records, since)
        return True

    def _adopt(self, records: list[RecipientRecord], since: float | None) -> None:
        if since is not None:
            records = self.recipients.signalled(records, since)
        if records:
            self.matcher.adopt(records)

    # ------------------------------------------------------------------ recipients
    def recipient(self, message_id: str, recipient: str) -> dict[str, Any] | None:
        return self.recipients.recipient(message_id, recipient)

    def message(self, message_id: str) -> list[dict[str, Any]]:
        return self.recipients.message(message_id)

    def apply_report(self, account: str, report: ReportIn) -> ReportResult:
        return self.matcher.apply(account, report)

    def pending_recipients(self, account: str, limit: int) -> list[PendingRecipient]:
        return self.pending.due(account, limit)

    def defer_pending(self, row: PendingRecipient, until: datetime) -> None:
        self.pending.defer(row, until)

    # ------------------------------------------------------------------ inbound, balance
    def record_inbound(self, account: str, vendor: str, inbound: InboundIn) -> bool:
        return self.inbound.record(account, vendor, inbound)

    def record_balance(
        self, account: str, vendor: str, balance: BalanceIn, *, low: bool, threshold: float | None
    ) -> None:
        self.balances.record(account, vendor, balance, low=low, threshold=threshold)

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
        unreadable: list[dict[str, Any]] | None = None,
    ) -> Key:
        return self.inbox.put(
            account,
            kind,
            body,
            content_type,
            state=state,
            reason=reason,
            sample_only=sample_only,
            unreadable=unreadable,
        )

    def pulled_put(self, account: str, kind: str, body: bytes, state: str, reason: str | None = None) -> Key:
        return self.inbox.pulled_put(account, kind, body, state, reason)

    def inbox_mark(
        self, key: Key, state: str, reason: str | None = None, unreadable: list[dict[str, Any]] | None = None
    ) -> None:
        self.inbox.mark(key, state, reason, unreadable)

    def inbox_failed(self, key: Key, reason: str) -> int:
        return self.inbox.failed(key, reason)

    def inbox_unprocessed(
        self, account: str, older_than_seconds: int = 60, limit: int | None = None
    ) -> list[KeptItem]:
        return self.inbox.unprocessed(account, older_than_seconds, limit)

    # ------------------------------------------------------------------ tokens (tokens.TokenBackend)
    def get_token(self, account: str) -> tuple[str, int] | None:
        return self.tokens.get_token(account)

    def put_token(self, account: str, token: str, valid_until: int) -> None:
        self.tokens.put_token(account, token, valid_until)

    def drop_token(self, account: str, token: str) -> None:
        self.tokens.drop_token(account, token)
