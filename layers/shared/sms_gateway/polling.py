"""The scheduled jobs: pull reports, pull MO, read balances, for every account whose vendor has them.

One account's failure never stops the others: it is logged and counted, and the next run tries again.
Pulled records are stored at once; some vendors hand each record out only once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sms_gateway.accounts import Account, AccountRegistry
from sms_gateway.errors import SmsGatewayError
from sms_gateway.ingest import Ingest, PushService
from sms_gateway.models import PendingRecipient, PushBatch
from sms_gateway.observability import logger, metrics
from sms_gateway.store import Store
from sms_gateway.vendors.base import VendorAdapter


class PollService:
    def __init__(
        self, store: Store, registry: AccountRegistry, adapter_for: Callable[[Account], VendorAdapter]
    ) -> None:
        self.store = store
        self.registry = registry
        self.adapter_for = adapter_for
        self.ingest = Ingest(store)
        self.pushes = PushService(store, registry, adapter_for)

    def _each(
        self, job: str, wanted: Callable[[VendorAdapter], bool], run: Callable[[Account, VendorAdapter], Any]
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        for account in self.registry:
            adapter = self.adapter_for(account)
            if not wanted(adapter):
                continue
            try:
                summary[account.name] = run(account, adapter)
            except SmsGatewayError as exc:
                summary[account.name] = f"error: {exc}"
                metrics.add_metric(name=f"{job}Errors", unit="Count", value=1)
                logger.warning(f"{job} failed", extra={"account": account.name, "reason": str(exc)})
        return summary

    def poll_reports(self) -> dict[str, Any]:
        def run(account: Account, adapter: VendorAdapter) -> Any:
            replayed = self.pushes.replay(account) if adapter.ack_once_stored else 0
            handed: list[PendingRecipient] = []

            def pending(limit: int) -> list[PendingRecipient]:
                rows = self.store.pending_recipients(account.name, limit)
                handed.extend(rows)
                return rows

            reports = adapter.pull_reports(pending)
            results = dict(self.ingest.apply(account, PushBatch(reports=tuple(reports))))
            # Those asked about and still without an answer wait their turn behind the others.
            final = {(r.vendor_message_id, r.recipient) for r in reports if r.status.final}
            self.store.defer_pending(p for p in handed if (p.vendor_message_id, p.recipient) not in final)
            return {**results, "replayed_pushes": replayed} if replayed else results

        return self._each("PollReports", lambda a: a.pulls_reports or a.ack_once_stored, run)

    def poll_inbound(self) -> dict[str, Any]:
        def run(account: Account, adapter: VendorAdapter) -> Any:
            return dict(self.ingest.apply(account, PushBatch(inbound=tuple(adapter.pull_inbound()))))

        return self._each("PollInbound", lambda a: a.pulls_inbound, run)

    def poll_balance(self) -> dict[str, Any]:
        def run(account: Account, adapter: VendorAdapter) -> Any:
            balance = adapter.balance()
            self.store.record_balance(account.name, account.vendor, balance, account.balance_low_threshold)
            return f"{balance.amount} {balance.currency}"

        return self._each("PollBalance", lambda a: True, run)
