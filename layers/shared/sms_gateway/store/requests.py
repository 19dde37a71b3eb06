"""Send requests: the claim (a lease) that makes one invocation own a request, and its inflight set."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

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

    def claim(self, message_id: str, account: str, lease_seconds: int) -> Claim:
        """Take the request for this invocation. Conditional: two invocations never both own it."""
        now = int(time.time())
        try:
            item = self.table.update(
                layout.request(message_id),
                "SET #state = :busy, lease_until = :lease, account = :account, updated_at = :now_iso, "
                "created_at = if_not_exists(created_at, :now_iso), expires_at = :expires "
                "ADD attempts :one",
                {
                    ":busy": "in_progress",
                    ":lease": now + lease_seconds,
                    ":now": now,
                    ":now_iso": iso(utcnow()),
                    ":account": account,
                    ":expires": self.table.expires(),
                    ":one": 1,
                },
                names={"#state": "state"},
                condition="attribute_not_exists(pk) OR (#state = :busy AND lease_until < :now)",
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not conditional_failed(exc):
                raise
            current = self.table.get(layout.request(message_id)) or {}
            state = current.get("state")
            if state in {ClaimState.DONE, ClaimState.CANCELLED}:
                return Claim(ClaimState(state))
            return Claim(ClaimState.BUSY)
        inflight = frozenset(item.get("inflight") or ())
        return Claim(
            ClaimState.RECOVERED if int(item.get("attempts", 1)) > 1 else ClaimState.CLAIMED, inflight
        )

    def mark_inflight(self, message_id: str, recipients: Iterable[str]) -> None:
        """Recipients about to be sent: if we crash now, the next attempt knows they may have left."""
        self._set_op(message_id, "ADD", set(recipients))

    def clear_inflight(self, message_id: str, recipients: Iterable[str]) -> None:
        self._set_op(message_id, "DELETE", set(recipients))

    def _set_op(self, message_id: str, op: str, values: set[str]) -> None:
        if values:
            self.table.update(
                layout.request(message_id),
                f"{op} inflight :values",
                raw_values={":values": {"SS": sorted(values)}},
            )

    def release(self, message_id: str) -> None:
        """Give the lease back so the redelivered message can be taken at once."""
        self.table.update(layout.request(message_id), "SET lease_until = :zero", {":zero": 0})

    def finish(self, message_id: str) -> None:
        self.table.update(
            layout.request(message_id),
            "SET #state = :done, updated_at = :now REMOVE inflight",
            {":done": "done", ":now": iso(utcnow())},
            names={"#state": "state"},
        )

    def recorded_recipients(self, message_id: str) -> set[str]:
        items = self.table.query(layout.message_pk(message_id), layout.RCPT_PREFIX)
        return {layout.number_of(i["sk"]) for i in items}
