"""Pushes kept as received (INBOX#, before parsing) and raw pulls (PULLED#), and their replay."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import sms_gateway.store.keys as layout
from sms_gateway.clock import iso, utcnow
from sms_gateway.store.bodies import body_attributes
from sms_gateway.store.items import KeptItem
from sms_gateway.store.table import Key, Table, serialize

KEPT_SECONDS = 7 * 86400
REASON_CHARS = 500


def _reason(reason: str | None) -> str | None:
    return reason[:REASON_CHARS] if reason else None


class InboxStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(
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
        """Keep a pushed body as received: nothing between here and the ack drops it.

        A body is kept in a form the table can always hold (bodies.py), or only as a sample when
        it is refused for its size. Only items in state `received` wait on the replay index.
        """
        unique = uuid.uuid4().hex
        shard = layout.shard_of(unique)
        pk, sk = layout.inbox_pk(account, shard), f"{iso(utcnow())}#{unique}"
        item: dict[str, Any] = {
            "pk": pk,
            "sk": sk,
            "type": layout.INBOX,
            "kind": kind,
            "state": state,
            "reason": _reason(reason),
            "unreadable": unreadable[:100] if unreadable else None,
            "content_type": content_type[:200],
            **body_attributes(body, whole=not sample_only),
            "expires_at": self.table.expires(KEPT_SECONDS),
        }
        if state == "received":
            # Sparse: on the `pending` index until applied or rejected, so replay finds it.
            item.update(pending_pk=layout.replay_pk(account, shard), pending_sk=sk)
        self.table.put(item)
        return pk, sk

    def pulled_put(self, account: str, kind: str, body: bytes, state: str, reason: str | None = None) -> Key:
        """Keep what a pull received (state `kept`, before parsing) or could not read (state
        `unreadable`), for inspection and replay by hand. Never on the replay index: the records
        that were read are kept and replayed as a normalised batch (polling.py)."""
        pk, sk = layout.pulled_pk(account), f"{iso(utcnow())}#{uuid.uuid4().hex}"
        self.table.put(
            {
                "pk": pk,
                "sk": sk,
                "type": layout.PULLED,
                "kind": kind,
                "state": state,
                "reason": _reason(reason),
                **body_attributes(body),
                "expires_at": self.table.expires(KEPT_SECONDS),
            }
        )
        return pk, sk

    def mark(
        self, key: Key, state: str, reason: str | None = None, unreadable: list[dict[str, Any]] | None = None
    ) -> None:
        values: dict[str, Any] = {":state": state}
        update = "SET #state = :state"
        if reason:
            update += ", reason = :reason"
            values[":reason"] = _reason(reason)
        if unreadable:
            update += ", unreadable = :unreadable"
            values[":unreadable"] = unreadable[:100]
        self.table.update(key, update + " REMOVE pending_pk, pending_sk", values, names={"#state": "state"})

    def failed(self, key: Key, reason: str) -> int:
        """Count one failed replay of a kept item (it stays on the replay index); returns the count."""
        answer = self.table.update(
            key,
            "SET last_error = :reason ADD replay_failures :one",
            {":reason": _reason(reason), ":one": 1},
            condition="attribute_exists(pk)",
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["replay_failures"])

    def unprocessed(
        self, account: str, older_than_seconds: int = 60, limit: int | None = None
    ) -> list[KeptItem]:
        """Pushes stored but not applied (the apply failed after the body was kept), for replay.

        Read from the sparse `pending` index, where only unapplied pushes stay, so applied ones
        never crowd them out of a page.
        """
        cutoff = iso(datetime.fromtimestamp(time.time() - older_than_seconds, tz=UTC))
        found: list[KeptItem] = []
        for pk in layout.replay_pks(account):
            for item in self.table.pages(
                IndexName="pending",
                KeyConditionExpression="pending_pk = :pk AND pending_sk < :cutoff",
                ExpressionAttributeValues=serialize({":pk": pk, ":cutoff": cutoff}),
            ):
                found.append(KeptItem.from_item(item))
                if limit is not None and len(found) >= limit:
                    return found
        return found
