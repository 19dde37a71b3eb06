"""Per-number limits and per-account caps, counted atomically in DynamoDB, expiring by TTL.

Item kinds (not published: the stream filter leaves them out):

| item      | pk                        | sk                        | holds                        |
|-----------|---------------------------|---------------------------|------------------------------|
| rate      | RATE#{kind}#{e164}        | {M|H|D}#{window start}    | holders: message#number set  |
| cap       | CAP#{account}             | {D|M}#{UTC day or month}  | n: recipients counted        |

A rate window counts the *holders* (message id and number) in a string set: reserving is
idempotent (a redelivered request holding its place does not count twice) and releasing removes
exactly its own place. Every window of a reservation is taken in one transaction whose conditions
say "fewer holders than the limit, or already one of them", so two invocations can never exceed a
limit together: DynamoDB serialises the transactions, and the loser's condition fails.

Windows are fixed (the UTC minute, hour and day), the way carriers and SMS4J count them; a number
is counted per kind across every account, so spreading a pumping attack over accounts gains
nothing (each request is held to its own account's or route's limit).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from sms_gateway.protection.settings import Window
from sms_gateway.store.table import Key, Table, serialize

RATE, CAP = "rate", "cap"
TRANSACTION_ATTEMPTS = 8
# Kept a little past the window's end, then DynamoDB's TTL removes it.
KEEP_AFTER_WINDOW = 3600
_WINDOWS = (("minute", "M", "%Y%m%d%H%M", 60), ("hour", "H", "%Y%m%d%H", 3600), ("day", "D", "%Y%m%d", 86400))


@dataclass(frozen=True)
class Place:
    """One reservation in one window: what releasing it removes."""

    key: Key
    holder: str


class QuotaConflict(RuntimeError):
    """DynamoDB kept cancelling a reservation for conflicting transactions: try the request later."""


class QuotaStore:
    def __init__(self, table: Table, clock: Callable[[], float] = time.time) -> None:
        self.table = table
        self.clock = clock

    # ------------------------------------------------------------------ per-number rate limits
    def reserve(self, kind: str, number: str, holder: str, window: Window) -> list[Place] | None:
        """Take a place in every limited window of ``number``; None when one of them is full."""
        now = self.clock()
        limited = [(getattr(window, name), code, fmt, span) for name, code, fmt, span in _WINDOWS]
        limited = [entry for entry in limited if entry[0] is not None]
        if any(limit == 0 for limit, *_ in limited):
            return None
        places: list[Place] = []
        operations: list[dict[str, Any]] = []
        for limit, code, fmt, span in limited:
            start = int(now // span * span)
            key = (f"RATE#{kind}#{number}", f"{code}#{datetime.fromtimestamp(start, UTC).strftime(fmt)}")
            places.append(Place(key, holder))
            operations.append(self._take(key, holder, limit, start + span + KEEP_AFTER_WINDOW))
        if not operations:
            return []
        return places if self._transact(operations) else None

    def release(self, places: Iterable[Place]) -> None:
        for place in places:
            self.table.update(place.key, "DELETE holders :h", raw_values={":h": {"SS": [place.holder]}})

    def _take(self, key: Key, holder: str, limit: int, expires: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table.name,
                "Key": serialize({"pk": key[0], "sk": key[1]}),
                "UpdateExpression": "ADD holders :hs SET #type = :type, expires_at = :expires",
                "ConditionExpression": (
                    "attribute_not_exists(holders) OR size(holders) < :limit OR contains(holders, :h)"
                ),
                "ExpressionAttributeNames": {"#type": "type"},
                "ExpressionAttributeValues": {
                    ":hs": {"SS": [holder]},
                    **serialize({":h": holder, ":limit": limit, ":type": RATE, ":expires": expires}),
                },
            }
        }

    def _transact(self, operations: list[dict[str, Any]]) -> bool:
        """True when the transaction went through, False when a condition failed."""
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                self.table.db.transact_write_items(TransactItems=operations)
            except ClientError as exc:
                codes = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
                if "ConditionalCheckFailed" in codes:
                    return False
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                # Another invocation's transaction on the same number: it is decided, try again.
                time.sleep(min(0.02 * 2**attempt, 0.5))
                continue
            return True
        raise QuotaConflict("the per-number limit stayed contended; the request will be retried")

    # ------------------------------------------------------------------ per-account caps
    def take_cap(self, account: str, period: str, cap: int, wanted: int) -> tuple[Key, int]:
        """Count up to ``wanted`` recipients against the account's cap for ``period`` ("D" or "M");
        the counter's key and how many it granted (fewer, down to 0, when the cap is near)."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        stamp = now.strftime("%Y%m%d" if period == "D" else "%Y%m")
        key = (f"CAP#{account}", f"{period}#{stamp}")
        expires = int(self.clock()) + (2 if period == "D" else 32) * 86400
        for _ in range(TRANSACTION_ATTEMPTS):
            item = self.table.get(key) or {}
            current = int(item.get("n", 0))
            grant = max(0, min(wanted, cap - current))
            if grant == 0:
                return key, 0
            try:
                self.table.update(
                    key,
                    "SET n = if_not_exists(n, :zero) + :grant, #type = :type, expires_at = :expires",
                    {":zero": 0, ":grant": grant, ":type": CAP, ":expires": expires}
                    | ({":seen": current} if "n" in item else {}),
                    names={"#type": "type"},
                    # Optimistic: granted only if nobody counted in between; else read again.
                    condition="n = :seen" if "n" in item else "attribute_not_exists(n)",
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                continue
            return key, grant
        raise QuotaConflict("the account's cap stayed contended; the request will be retried")

    def give_back_cap(self, key: Key, count: int) -> None:
        if count:
            self.table.update(key, "ADD n :minus", {":minus": -count})
