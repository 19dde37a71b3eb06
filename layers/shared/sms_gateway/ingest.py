"""Reports and MO, pushed or pulled, become records. A push is stored raw before it is parsed,
and acknowledged only once what it carried is stored."""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Callable

from sms_gateway.accounts import Account, AccountRegistry
from sms_gateway.errors import NotFound, PushRejected, PushUnauthorized
from sms_gateway.models import PULLED_BATCH, HttpAnswer, PushBatch, PushRequest, batch_from_json
from sms_gateway.observability import logger, metrics
from sms_gateway.store import Store
from sms_gateway.vendors.base import VendorAdapter

PUSH_KINDS = ("report", "mo")


class Ingest:
    def __init__(self, store: Store) -> None:
        self.store = store

    def apply(self, account: Account, batch: PushBatch) -> Counter[str]:
        """Store every report and MO of a batch; returns counts by result for logs and metrics."""
        results: Counter[str] = Counter()
        for report in batch.reports:
            results[f"report_{self.store.apply_report(account.name, report).value}"] += 1
        for inbound in batch.inbound:
            stored = self.store.record_inbound(account.name, account.vendor, inbound)
            results["inbound_new" if stored else "inbound_duplicate"] += 1
        for key, count in results.items():
            metrics.add_metric(name=key, unit="Count", value=count)
        return results


class PushService:
    def __init__(
        self, store: Store, registry: AccountRegistry, adapter_for: Callable[[Account], VendorAdapter]
    ) -> None:
        self.store = store
        self.registry = registry
        self.adapter_for = adapter_for
        self.ingest = Ingest(store)

    def handle(
        self,
        account_name: str,
        kind: str,
        token: str | None,
        headers: dict[str, str],
        query: dict[str, str],
        body: bytes,
    ) -> HttpAnswer:
        account = self.registry.find(account_name)
        if account is None:
            raise NotFound(f"unknown account {account_name!r}")
        if (
            not account.callback_token
            or not token
            or not hmac.compare_digest(token.encode(), account.callback_token.encode())
        ):
            raise PushUnauthorized("missing or wrong token")
        adapter = self.adapter_for(account)
        if kind not in PUSH_KINDS or kind not in adapter.push_kinds:
            raise NotFound(f"{account.vendor} has no {kind!r} callback")
        lowered = {k.lower(): v for k, v in headers.items()}
        push = PushRequest(kind, lowered, query, body, lowered.get("content-type", ""))  # type: ignore[arg-type]
        adapter.verify_push(push)

        key = self.store.inbox_put(account.name, kind, body, push.content_type)
        try:
            batch = parse(adapter, push)
        except PushRejected as exc:
            self.store.inbox_mark(key, "rejected", str(exc))
            logger.warning("push rejected", extra={"account": account.name, "kind": kind, "reason": str(exc)})
            raise
        try:
            results = self.ingest.apply(account, batch)
        except Exception:
            if not adapter.ack_once_stored:
                raise
            # This vendor never pushes again: the raw body is kept and replayed by the poller.
            logger.exception("push kept for replay", extra={"account": account.name, "kind": kind})
            return adapter.push_ack(push, batch)
        self.store.inbox_mark(key, "applied")
        logger.info("push stored", extra={"account": account.name, "kind": kind, **results})
        return adapter.push_ack(push, batch)

    def replay(self, account: Account) -> int:
        """Apply what was kept but not applied: pushes whose apply failed (acked or not) and pulled
        batches whose apply failed. Applying twice changes nothing, so replay is always safe."""
        adapter = self.adapter_for(account)
        replayed = 0
        for item in self.store.inbox_unprocessed(account.name):
            key = (item["pk"], item["sk"])
            content_type = str(item.get("content_type", ""))
            try:
                if content_type == PULLED_BATCH:
                    batch = batch_from_json(str(item["body"]))
                else:
                    batch = parse(
                        adapter, PushRequest(item["kind"], {}, {}, str(item["body"]).encode(), content_type)
                    )
            except PushRejected as exc:
                self.store.inbox_mark(key, "rejected", str(exc))
                continue
            self.ingest.apply(account, batch)
            self.store.inbox_mark(key, "applied")
            replayed += 1
        return replayed


def parse(adapter: VendorAdapter, push: PushRequest) -> PushBatch:
    """The adapter's parse, with any parsing slip turned into a 400: bad input is never a 500."""
    try:
        return adapter.parse_push(push)
    except PushRejected:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise PushRejected(f"malformed {push.kind} push ({type(exc).__name__})") from exc
