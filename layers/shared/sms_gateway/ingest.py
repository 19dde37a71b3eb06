"""Reports and MO, pushed or pulled, become records. A push is stored raw before it is parsed,
and acknowledged once what it carried that can be read is stored.

Hostile input never costs more than itself:
- a body above the size bound is refused 413 and kept as a sample; one nested too deep, with
  collections too large, or not in the vendor's format is refused 400 and kept whole;
- one unreadable record of a pushed array is kept (the raw body, with the reason) and the
  readable ones are applied and acked: a vendor that re-pushes on a non-ack does not re-push the
  good records forever;
- a record the table can never hold (a key thousands of characters long, values of the wrong
  type) is set aside like an unreadable one, never answered "push again later";
- a kept push or pulled batch whose replay keeps failing is marked `poisoned` after
  MAX_REPLAY_FAILURES and never blocks the other items of its account.
Only a failure of our storage that may heal is answered 503.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sms_gateway.accounts import Account, AccountRegistry
from sms_gateway.errors import NotFound, PushRejected, PushTooLarge, PushUnauthorized, StorageUnavailable
from sms_gateway.limits import MAX_PUSH_BYTES
from sms_gateway.matching import ReportResult
from sms_gateway.models import (
    PULLED_BATCH,
    HttpAnswer,
    InboundIn,
    PushBatch,
    PushRequest,
    ReportIn,
    Status,
    Unreadable,
    batch_from_json,
)
from sms_gateway.observability import logger, metrics
from sms_gateway.protection.optout import reply_handler
from sms_gateway.store.items import KeptItem
from sms_gateway.vendors.base import VendorAdapter, safe_reason

PUSH_KINDS = ("report", "mo")
MAX_REPLAY_FAILURES = 5  # then the kept item is `poisoned` (metric PoisonedItems)
REPLAYS_PER_RUN = 50  # a backlog of kept items never eats a whole poll

# DynamoDB errors the same item will always get: retrying cannot help.
_UNHEALABLE = {"ValidationException", "SerializationException"}
# Raised by the serializer for values no item can hold (NaN, 1e308, nesting past 32 levels).
_UNFIT_VALUES = (TypeError, ValueError, ArithmeticError, RecursionError)

# Bounds on what one normalised record may carry into the table: its fields become keys
# (2048/1024 bytes at most) or attributes of an item of at most 400 KB.
_MAX_TEXT = {
    "vendor_message_id": 256,
    "recipient": 32,
    "recipient_mask": 32,
    "sender": 32,
    "sender_mask": 32,
    "vendor_status": 128,
    "description": 1_000,
    "raw_time": 64,
    "ext_no": 32,
    "content": 10_000,
}


def storage_may_heal(exc: BaseException) -> bool:
    """A failure of our storage that retrying later may fix (throttling, an outage, the network)."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") not in _UNHEALABLE
    return isinstance(exc, BotoCoreError)


def _cannot_hold(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return f"the table cannot hold it ({code})" if code in _UNHEALABLE else None
    if isinstance(exc, _UNFIT_VALUES):
        return f"the table cannot hold its values ({type(exc).__name__})"
    return None


def unfit_reason(record: ReportIn | InboundIn) -> str | None:
    """Why the table could never hold this record, or None; names fields, never values."""
    for name, limit in _MAX_TEXT.items():
        if not hasattr(record, name):
            continue
        value = getattr(record, name)
        if value is None:
            continue
        if not isinstance(value, str):
            return f"{name} is not text"
        if len(value) > limit:
            return f"{name} longer than {limit} characters"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{name} is not valid Unicode"
    if isinstance(record, ReportIn) and not record.vendor_message_id:
        return "vendor_message_id is empty"
    return None


@dataclass
class Applied:
    results: Counter[str] = field(default_factory=Counter)
    unfit: list[Unreadable] = field(default_factory=list)

    @property
    def stored(self) -> int:
        return sum(self.results.values())


# How a settled batch is kept: (state, reason, unreadable records listed with their reasons).
Keeper = Callable[[str, str | None, list[dict[str, Any]] | None], None]


class IngestStore(Protocol):
    """What applying a batch needs of the table."""

    def apply_report(self, account: str, report: ReportIn) -> ReportResult: ...
    def record_inbound(self, account: str, vendor: str, inbound: InboundIn) -> bool: ...
    def inbox_mark(
        self,
        key: tuple[str, str],
        state: str,
        reason: str | None = None,
        unreadable: list[dict[str, Any]] | None = None,
    ) -> None: ...


class PushStore(IngestStore, Protocol):
    """What taking and replaying pushes needs of the table."""

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
    ) -> tuple[str, str]: ...
    def inbox_failed(self, key: tuple[str, str], reason: str) -> int: ...
    def inbox_unprocessed(
        self, account: str, older_than_seconds: int = 60, limit: int | None = None
    ) -> list[KeptItem]: ...


# (account, delivered) for each report that made a recipient final: routing's delivery window.
FinalHook = Callable[[str, bool], None]


class Ingest:
    def __init__(self, store: IngestStore, on_final: FinalHook | None = None) -> None:
        self.store = store
        # Opt-out keywords in replies (sms_gateway.protection.optout), where the store has a table.
        self.replies = reply_handler(store)
        self.on_final = on_final

    def apply(self, account: Account, batch: PushBatch) -> Applied:
        """Store every report and MO of a batch, record by record. A record the table can never
        hold is set aside (Applied.unfit); a storage failure that may heal is raised."""
        applied = Applied()
        labelled: list[tuple[str, ReportIn | InboundIn]] = [
            *((f"report {i}", r) for i, r in enumerate(batch.reports)),
            *((f"MO {i}", m) for i, m in enumerate(batch.inbound)),
        ]
        for label, record in labelled:
            reason = unfit_reason(record)
            if reason is None:
                try:
                    applied.results[self._write(account, record)] += 1
                    continue
                except Exception as exc:
                    reason = _cannot_hold(exc)
                    if reason is None:
                        raise
            applied.unfit.append(Unreadable(f"{label}: {reason}"))
        for key, count in applied.results.items():
            metrics.add_metric(name=key, unit="Count", value=count)
        return applied

    def _write(self, account: Account, record: ReportIn | InboundIn) -> str:
        if isinstance(record, ReportIn):
            result = self.store.apply_report(account.name, record)
            if result is ReportResult.UPDATED and record.status.final:
                self._final(account.name, record)
            return f"report_{result.value}"
        if self.replies is not None:
            # Before the MO is stored: a failure in between retries both (the list change is
            # idempotent), where after it the repeated MO would be a duplicate and skipped.
            self.replies(account, record)
        stored = self.store.record_inbound(account.name, account.vendor, record)
        return "inbound_new" if stored else "inbound_duplicate"

    def _final(self, account: str, report: ReportIn) -> None:
        if self.on_final is None:
            return
        try:
            self.on_final(account, report.status is Status.DELIVERED)
        except (BotoCoreError, ClientError) as exc:
            # A count of the delivery window, not the report: the report is stored; go on.
            logger.warning("delivery window not counted", extra={"account": account, "error": str(exc)})

    def settle(self, account: Account, key: tuple[str, str], batch: PushBatch) -> Counter[str]:
        """Apply a kept batch and mark its item (see settle_with)."""
        return self.settle_with(account, batch, lambda *marked: self.store.inbox_mark(key, *marked))

    def settle_with(self, account: Account, batch: PushBatch, keep: Keeper) -> Counter[str]:
        """Apply a batch and say how it went through ``keep``: `applied`, `partial` (some records
        set aside, listed with their reasons), or `rejected` when nothing in it was readable."""
        applied = self.apply(account, batch)
        unreadable = [*batch.unreadable, *applied.unfit]
        if not unreadable:
            keep("applied", None, None)
            return applied.results
        metrics.add_metric(name="UnreadableRecords", unit="Count", value=len(unreadable))
        listed = [{"index": u.index, "reason": u.reason[:200]} for u in unreadable]
        reason = _summary(unreadable, batch.readable + len(batch.unreadable))
        if not applied.stored:
            keep("rejected", reason, listed)
            raise PushRejected(reason)
        keep("partial", reason, listed)
        return applied.results


def _summary(unreadable: list[Unreadable], total: int) -> str:
    first = unreadable[0]
    where = f"record {first.index}: " if first.index is not None else ""
    return f"{len(unreadable)} of {total} records unreadable; {where}{first.reason}"[:300]


class PushService:
    def __init__(
        self,
        store: PushStore,
        registry: AccountRegistry,
        adapter_for: Callable[[Account], VendorAdapter],
        *,
        on_final: FinalHook | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.adapter_for = adapter_for
        self.ingest = Ingest(store, on_final)

    def handle(
        self,
        account_name: str,
        kind: str,
        token: str | None,
        *,
        headers: dict[str, str],
        query: dict[str, str],
        body: bytes,
    ) -> HttpAnswer:
        account = self.registry.find(account_name)
        if account is None:
            raise NotFound("unknown account")
        if (
            not account.callback_token
            or not token
            or not hmac.compare_digest(token.encode(), account.callback_token.encode())
        ):
            raise PushUnauthorized("missing or wrong token")
        adapter = self.adapter_for(account)
        if kind not in PUSH_KINDS or kind not in adapter.push_kinds:
            raise NotFound(f"{account.vendor} has no such callback")
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}
        push = PushRequest(kind, lowered, query, body, lowered.get("content-type", ""))  # type: ignore[arg-type]
        adapter.verify_push(push)

        log = {"account": account.name, "kind": kind, "bytes": len(body)}
        if len(body) > MAX_PUSH_BYTES:
            reason = f"body too large ({len(body)} bytes; at most {MAX_PUSH_BYTES})"
            self.store.inbox_put(
                account.name, kind, body, push.content_type, state="rejected", reason=reason, sample_only=True
            )
            logger.warning("push refused", extra={**log, "reason": reason})
            metrics.add_metric(name="PushesRejected", unit="Count", value=1)
            raise PushTooLarge(reason)
        batch = self._parse(account, adapter, push, log)
        return self._store(account, adapter, push, batch, log)

    def _parse(
        self, account: Account, adapter: VendorAdapter, push: PushRequest, log: dict[str, Any]
    ) -> PushBatch:
        """The push's batch; a push that cannot be read is kept whole (`rejected`) and refused."""
        try:
            return parse(adapter, push)
        except PushRejected as exc:
            self.store.inbox_put(
                account.name, push.kind, push.body, push.content_type, state="rejected", reason=str(exc)
            )
            logger.warning("push rejected", extra={**log, "reason": str(exc)})
            metrics.add_metric(name="PushesRejected", unit="Count", value=1)
            raise

    def _store(
        self,
        account: Account,
        adapter: VendorAdapter,
        push: PushRequest,
        batch: PushBatch,
        log: dict[str, Any],
    ) -> HttpAnswer:
        """Apply the batch, keeping the raw body where it buys something (_KeptPush); the ack."""
        kept = _KeptPush(self.store, account.name, push)
        if adapter.ack_once_stored and (batch.readable > 1 or batch.unreadable):
            # Applying several records may stop half-way, and this vendor never pushes again:
            # keep the raw body first, on the replay index, so the rest is replayed.
            kept.keep_for_replay()
        try:
            results = self.ingest.settle_with(
                account, batch, kept.settled(keep_applied=adapter.ack_once_stored)
            )
        except PushRejected as exc:
            logger.warning("push rejected", extra={**log, "reason": str(exc)})
            metrics.add_metric(name="PushesRejected", unit="Count", value=1)
            raise
        except Exception as exc:
            # Our storage failed; the raw body is kept (state `received`) and replayed by the poller.
            logger.warning("push kept for replay", extra={**log, "error": type(exc).__name__})
            if not adapter.ack_once_stored:
                kept.try_keep_for_replay()  # the vendor pushes again: a copy only spares it
                if isinstance(exc, ClientError | BotoCoreError):
                    raise
                raise StorageUnavailable(type(exc).__name__) from exc
            kept.keep_for_replay()  # raises when it cannot be kept: then no ack
            return adapter.push_ack(push, batch)  # this vendor never pushes again
        logger.info("push stored", extra={**log, **results, "unreadable": len(batch.unreadable)})
        return adapter.push_ack(push, batch)

    def replay(self, account: Account) -> int:
        """Apply what was kept but not applied: pushes whose apply failed (acked or not) and pulled
        batches whose apply failed. Applying twice changes nothing, so replay is always safe.

        One item's failure never stops the others: it is counted on the item, and after
        MAX_REPLAY_FAILURES the item is marked `poisoned` (metric PoisonedItems) and left alone.
        A storage failure that may heal is not the item's fault and is not counted."""
        adapter = self.adapter_for(account)
        replayed = 0
        for item in self.store.inbox_unprocessed(account.name, limit=REPLAYS_PER_RUN):
            key = item.key
            try:
                self._replay_one(account, adapter, item)
            except PushRejected:
                continue
            except Exception as exc:
                self._replay_failed(account, key, exc)
                continue
            replayed += 1
        return replayed

    def _replay_one(self, account: Account, adapter: VendorAdapter, item: KeptItem) -> None:
        key = item.key
        body = item.body()
        if body is None:
            self.store.inbox_mark(key, "rejected", "only a sample of the body was kept")
            raise PushRejected("only a sample was kept")
        if item.content_type == PULLED_BATCH:
            batch = batch_from_json(body.decode("utf-8"))
        else:
            try:
                batch = parse(adapter, PushRequest(item.kind, {}, {}, body, item.content_type))  # type: ignore[arg-type]
            except PushRejected as exc:
                self.store.inbox_mark(key, "rejected", str(exc))
                raise
        self.ingest.settle(account, key, batch)

    def _replay_failed(self, account: Account, key: tuple[str, str], exc: Exception) -> None:
        log = {"account": account.name, "item": key[1], "error": type(exc).__name__}
        if storage_may_heal(exc):
            metrics.add_metric(name="ReplaysDeferred", unit="Count", value=1)
            logger.warning("replay deferred: storage unavailable", extra=log)
            return
        reason = safe_reason(exc)
        try:
            failures = self.store.inbox_failed(key, reason)
            if failures >= MAX_REPLAY_FAILURES:
                self.store.inbox_mark(key, "poisoned", f"{failures} replays failed; last: {reason}")
                metrics.add_metric(name="PoisonedItems", unit="Count", value=1)
                logger.error("kept item poisoned", extra={**log, "failures": failures})
                return
        except Exception as counting:
            logger.warning("replay failure not counted", extra={**log, "counting": type(counting).__name__})
            return
        logger.warning("replay failed", extra={**log, "failures": failures})


class _KeptPush:
    """The raw body of one push, written only where it buys something (one write per report):

    - a vendor that pushes again until acked needs no copy of a push that was applied: the
      records are the copy. It is kept when a record was unreadable (for inspection) or applying
      failed (the replay spares the vendor a push);
    - a vendor that pushes once only gets its body kept before the ack: first when it carries
      several records (applying may stop half-way), else after its one record was applied.
    """

    def __init__(self, store: PushStore, account: str, push: PushRequest) -> None:
        self.store, self.account, self.push = store, account, push
        self.key: tuple[str, str] | None = None

    def _put(self, state: str, reason: str | None = None, listed: list[dict[str, Any]] | None = None) -> None:
        push = self.push
        self.key = self.store.inbox_put(
            self.account,
            push.kind,
            push.body,
            push.content_type,
            state=state,
            reason=reason,
            unreadable=listed,
        )

    def keep_for_replay(self) -> None:
        if self.key is None:
            self._put("received")

    def try_keep_for_replay(self) -> None:
        try:
            self.keep_for_replay()
        except Exception as exc:  # the vendor's next push is the copy
            logger.warning("push not kept", extra={"account": self.account, "error": type(exc).__name__})

    def settled(self, *, keep_applied: bool) -> Keeper:
        def keep(state: str, reason: str | None, listed: list[dict[str, Any]] | None) -> None:
            if self.key is not None:
                self.store.inbox_mark(self.key, state, reason, listed)
            elif state != "applied" or keep_applied:
                self._put(state, reason, listed)

        return keep


def parse(adapter: VendorAdapter, push: PushRequest) -> PushBatch:
    """The adapter's parse, with any slip turned into a 400: bad input is never a 500. Anything
    raised while parsing is the body's fault (parsing touches nothing but the body)."""
    try:
        return adapter.parse_push(push)
    except PushRejected:
        raise
    except Exception as exc:
        raise PushRejected(f"malformed {push.kind} push ({type(exc).__name__})") from exc
