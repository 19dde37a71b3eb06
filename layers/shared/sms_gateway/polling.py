"""The scheduled jobs: pull reports, pull MO, read balances, for every account whose vendor has them.

One account's failure never stops the others: it is logged and counted, and the next run tries again.
Some vendors hand each pulled record out only once, so their raw answer is kept (PULLED#, state
`kept`) before it is parsed, a record the parser cannot read is kept raw with its reason (state
`unreadable`), and the normalised batch is kept in the table (one write per few hundred records)
before it is applied; if applying fails part way, the next reports poll replays it, as it
replays stored pushes whose apply failed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sms_gateway.accounts import Account, AccountRegistry
from sms_gateway.clock import utcnow
from sms_gateway.errors import PushRejected, SmsGatewayError
from sms_gateway.ingest import FinalHook, Ingest, PushService, PushStore, unfit_reason
from sms_gateway.models import (
    PULLED_BATCH,
    BalanceIn,
    InboundIn,
    PendingRecipient,
    PullSink,
    PushBatch,
    ReportIn,
    Unreadable,
    batch_to_json,
)
from sms_gateway.observability import NO_ROLLUP, emit, logger, metrics
from sms_gateway.vendors.base import VendorAdapter

# A kept batch item stays well under DynamoDB's 400 KB: at most this many records, or this size
# (kept compressed when it is large; compressing never makes it much larger).
KEPT_RECORDS_PER_ITEM = 200
KEPT_BYTES_PER_ITEM = 250_000
# A pending recipient asked about without an answer waits a quarter of its age, within these.
RECHECK_AFTER_MIN = timedelta(minutes=1)
RECHECK_AFTER_MAX = timedelta(hours=6)
T = TypeVar("T", ReportIn, InboundIn)


class PollStore(PushStore, Protocol):
    """What the pollers need of the table (besides taking and replaying kept batches)."""

    def pulled_put(
        self, account: str, kind: str, body: bytes, state: str, reason: str | None = None
    ) -> tuple[str, str]: ...
    def pending_recipients(self, account: str, limit: int) -> list[PendingRecipient]: ...
    def defer_pending(self, row: PendingRecipient, until: datetime) -> None: ...
    def record_balance(
        self, account: str, vendor: str, balance: BalanceIn, *, low: bool, threshold: float | None
    ) -> None: ...


def next_check(row: PendingRecipient, now: datetime) -> datetime:
    """When to ask again about a recipient still without a final status: after a pause that grows
    with its age (1 minute to 6 hours), so a few never-answered recipients cannot hide the others
    from a bounded poll."""
    try:
        age = now - datetime.fromisoformat(row.created_at.replace("Z", "+00:00"))
    except ValueError:
        age = timedelta(0)
    return now + min(max(age / 4, RECHECK_AFTER_MIN), RECHECK_AFTER_MAX)


def balance_is_low(balance: BalanceIn, threshold: float | None) -> bool:
    """Below the account's threshold; never for a post-paid account, billed afterwards."""
    return threshold is not None and not balance.postpaid and balance.amount < Decimal(str(threshold))


class PollService:
    def __init__(
        self,
        store: PollStore,
        registry: AccountRegistry,
        adapter_for: Callable[[Account], VendorAdapter],
        *,
        on_final: FinalHook | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.adapter_for = adapter_for
        self.ingest = Ingest(store, on_final)
        self.pushes = PushService(store, registry, adapter_for, on_final=on_final)

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
                _count_error(job, account)
                logger.warning(f"{job} failed", extra={"account": account.name, "reason": str(exc)})
            except Exception as exc:
                summary[account.name] = f"error: {type(exc).__name__}"
                _count_error(job, account)
                logger.exception(f"{job} failed", extra={"account": account.name})
        return summary

    def _apply_pulled(self, account: Account, kind: str, batch: PushBatch) -> dict[str, int]:
        """Keep a pulled batch, then apply it: nothing that was pulled is lost if applying fails."""
        results: dict[str, int] = {}
        for chunk in _chunks([*batch.reports, *batch.inbound]):
            key = self.store.inbox_put(account.name, kind, batch_to_json(chunk).encode(), PULLED_BATCH)
            try:
                settled = self.ingest.settle(account, key, chunk)
            except PushRejected:  # every record of the chunk set aside: listed on its item
                continue
            for name, count in settled.items():
                results[name] = results.get(name, 0) + count
        return results

    def _fit(self, sink: PullSink, records: list[T]) -> list[T]:
        """The pulled records the table can hold; the others join the unreadable ones, kept raw."""
        fit = []
        for record in records:
            reason = unfit_reason(record)
            if reason is None:
                fit.append(record)
            else:
                sink.skip(Unreadable(reason, asdict(record)))
        return fit

    def _sink(self, account: Account, kind: str) -> PullSink:
        """Keeps a pull's raw answer before it is parsed: some vendors hand a record out once."""

        def keep(body: bytes) -> None:
            try:
                self.store.pulled_put(account.name, kind, body, "kept")
            except Exception as exc:
                # The records are handed out already: reading them on (and keeping them as a
                # normalised batch) loses less than stopping here.
                metrics.add_metric(name="PulledAnswersNotKept", unit="Count", value=1)
                logger.warning(
                    "pulled answer not kept", extra={"account": account.name, "error": type(exc).__name__}
                )

        return PullSink(keep)

    def _keep_unreadable(self, account: Account, kind: str, sink: PullSink) -> None:
        """Pulled records the parser could not read, kept raw with their reasons (never logged)."""
        if not sink.unreadable:
            return
        metrics.add_metric(name="UnreadableRecords", unit="Count", value=len(sink.unreadable))
        body = json.dumps(
            [{"index": u.index, "reason": u.reason, "record": u.record} for u in sink.unreadable],
            ensure_ascii=False,
            default=str,
        )
        reason = f"{len(sink.unreadable)} pulled records unreadable; first: {sink.unreadable[0].reason}"
        self.store.pulled_put(
            account.name, kind, body.encode("utf-8", errors="replace"), "unreadable", reason
        )

    def poll_reports(self) -> dict[str, Any]:
        def run(account: Account, adapter: VendorAdapter) -> Any:
            replayed = self.pushes.replay(account)
            if not adapter.pulls_reports:
                return {"replayed": replayed} if replayed else {}
            handed: list[PendingRecipient] = []

            def pending(limit: int) -> list[PendingRecipient]:
                rows = self.store.pending_recipients(account.name, limit)
                handed.extend(rows)
                return rows

            sink = self._sink(account, "report")
            reports = self._fit(sink, adapter.pull_reports(pending, sink))
            self._keep_unreadable(account, "report", sink)
            results = self._apply_pulled(account, "report", PushBatch(reports=tuple(reports)))
            # Those asked about and still without an answer wait their turn behind the others.
            final = {(r.vendor_message_id, r.recipient) for r in reports if r.status.final}
            now = utcnow()
            for row in handed:
                if (row.vendor_message_id, row.recipient) not in final:
                    self.store.defer_pending(row, next_check(row, now))
            return {**results, "replayed": replayed} if replayed else results

        # Every account: replaying what was kept costs one query on a sparse index.
        return self._each("PollReports", lambda a: True, run)

    def poll_inbound(self) -> dict[str, Any]:
        def run(account: Account, adapter: VendorAdapter) -> Any:
            sink = self._sink(account, "mo")
            inbound = self._fit(sink, adapter.pull_inbound(sink))
            self._keep_unreadable(account, "mo", sink)
            return self._apply_pulled(account, "mo", PushBatch(inbound=tuple(inbound)))

        return self._each("PollInbound", lambda a: a.pulls_inbound, run)

    def poll_balance(self) -> dict[str, Any]:
        def run(account: Account, adapter: VendorAdapter) -> Any:
            balance = adapter.balance()
            threshold = account.balance_low_threshold
            self.store.record_balance(
                account.name,
                account.vendor,
                balance,
                low=balance_is_low(balance, threshold),
                threshold=threshold,
            )
            return f"{balance.amount} {balance.currency}"

        return self._each("PollBalance", lambda a: True, run)


def _count_error(job: str, account: Account) -> None:
    metrics.add_metric(name=f"{job}Errors", unit="Count", value=1)
    # Per vendor and account, and rolled up to everything (one alarm) and to the job.
    emit(
        "PollErrors",
        dimensions={"vendor": account.vendor, "account": account.name, "job": job},
        rollups=(NO_ROLLUP, ("job",), ("vendor",)),
    )


def _batch(records: list[ReportIn | InboundIn]) -> PushBatch:
    return PushBatch(
        tuple(r for r in records if isinstance(r, ReportIn)),
        tuple(r for r in records if isinstance(r, InboundIn)),
    )


def _chunks(records: list[ReportIn | InboundIn]) -> list[PushBatch]:
    """Records in batches of at most KEPT_RECORDS_PER_ITEM and about KEPT_BYTES_PER_ITEM."""
    chunks: list[PushBatch] = []
    part: list[ReportIn | InboundIn] = []
    size = 0
    for record in records:
        weight = len(batch_to_json(_batch([record])).encode())
        if part and (len(part) >= KEPT_RECORDS_PER_ITEM or size + weight > KEPT_BYTES_PER_ITEM):
            chunks.append(_batch(part))
            part, size = [], 0
        part.append(record)
        size += weight
    if part:
        chunks.append(_batch(part))
    return chunks
