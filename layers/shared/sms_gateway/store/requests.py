"""Send requests: the claim (a lease) that makes one invocation own a request, and its inflight set."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

import sms_gateway.store.keys as layout
from sms_gateway.clock import iso, utcnow
from sms_gateway.store.table import Table, conditional_failed


class ClaimState(StrEnum):
    CLAIMED = "claimed"  # first time: ours
    RECOVERED = "recovered"  # an earlier attempt's lease ran out: ours, check its inflight set
    BUSY = "busy"  # another invocation holds a live lease
    DONE = "done"  # already fully handled
    CANCELLED = "cancelled"  # cancelled before it left (sms_gateway.protection.cancel)


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    inflight: frozenset[str] = frozenset()


class RequestStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def claim(
        self,
        message_id: str,
        account: str,
        lease_seconds: int,
        inflight: Iterable[str] = (),
        *,
        content: str | None = None,
    ) -> Claim:
        """Take the request for this invocation. Conditional: two invocations never both own it.

        ``inflight`` marks recipients about to be sent in the same write (one call fewer than a
        mark of its own); the claim reports the marks an earlier attempt left (ALL_OLD). The
        request's ``content`` is kept on the claim item for the status API (shown only when asked).
        """
        now = int(time.time())
        marks = set(inflight)
        try:
            item = self.table.update(
                layout.request(message_id),
                "SET #state = :busy, lease_until = :lease, account = :account, updated_at = :now_iso, "
                "created_at = if_not_exists(created_at, :now_iso), expires_at = :expires"
                + (", content = if_not_exists(content, :content)" if content is not None else "")
                + " ADD attempts :one"
                + (", inflight :marks" if marks else ""),
                {
                    ":busy": "in_progress",
                    ":lease": now + lease_seconds,
                    ":now": now,
                    ":now_iso": iso(utcnow()),
                    ":account": account,
                    ":expires": self.table.expires(),
                    ":one": 1,
                    **({":content": content} if content is not None else {}),
                },
                names={"#state": "state"},
                condition="attribute_not_exists(pk) OR (#state = :busy AND lease_until < :now)",
                raw_values={":marks": {"SS": sorted(marks)}} if marks else None,
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            current = self.table.get(layout.request(message_id)) or {}
            state = current.get("state")
            if state in {ClaimState.DONE, ClaimState.CANCELLED}:
                return Claim(ClaimState(state))
            return Claim(ClaimState.BUSY)
        if not item.get("attempts"):
            return Claim(ClaimState.CLAIMED)
        return Claim(ClaimState.RECOVERED, frozenset(item.get("inflight") or ()))

    def mark_inflight(self, message_id: str, recipients: Iterable[str]) -> None:
        """Recipients about to be sent: if we crash now, the next attempt knows they may have left."""
        self._set_op(message_id, "ADD", set(recipients))

    def _set_op(self, message_id: str, op: str, values: set[str]) -> None:
        if values:
            self.table.update(
                layout.request(message_id),
                f"{op} inflight :values",
                raw_values={":values": {"SS": sorted(values)}},
            )

    def release(self, message_id: str, not_sent: Iterable[str] = ()) -> None:
        """Give the lease back so the redelivered message can be taken at once, and drop the marks
        of recipients that were not sent (the next attempt sends them)."""
        unmark = set(not_sent)
        self.table.update(
            layout.request(message_id),
            "SET lease_until = :zero" + (" DELETE inflight :unmark" if unmark else ""),
            {":zero": 0},
            raw_values={":unmark": {"SS": sorted(unmark)}} if unmark else None,
        )

    def finish(self, message_id: str) -> None:
        expression, values, names = self.finish_update()
        self.table.update(layout.request(message_id), expression, values, names=names)

    @staticmethod
    def finish_update() -> tuple[str, dict[str, Any], dict[str, str]]:
        """The update that finishes a request (expression, values, names), also used in a
        transaction with the request's last records."""
        return (
            "SET #state = :done, updated_at = :now REMOVE inflight",
            {":done": "done", ":now": iso(utcnow())},
            {"#state": "state"},
        )

    def recorded_recipients(self, message_id: str) -> set[str]:
        items = self.table.query(layout.message_pk(message_id), layout.RCPT_PREFIX)
        return {layout.number_of(i["sk"]) for i in items}
