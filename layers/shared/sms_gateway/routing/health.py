"""Account health shared by every instance, kept in the table with conditional writes only.

| item      | pk                 | sk                   | what                                         |
|-----------|--------------------|----------------------|----------------------------------------------|
| circuit   | HEALTH#{account}   | CIRCUIT              | state, consecutive failures, cool-down, probe |
| delivery  | HEALTH#{account}   | DELIVERY#{bucket}    | final reports and delivered ones per bucket  |

The circuit: ``closed`` until ``breaker_failures`` consecutive calls sent nothing for the account,
then ``open`` for ``breaker_cooldown_seconds``; then the first instance to win a conditional
write takes the one probe (``half_open``, leased for ``breaker_probe_lease_seconds`` in case it
dies); a success closes it from any state, a failed probe opens it again. Times are epoch
milliseconds from an injectable clock, so tests move time instead of sleeping.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from sms_gateway.aws import client
from sms_gateway.clock import iso
from sms_gateway.routing.choose import AccountHealth
from sms_gateway.routing.events import CircuitState, HealthChange
from sms_gateway.routing.failover import Verdict
from sms_gateway.routing.settings import RoutingSettings
from sms_gateway.store.keys import CIRCUIT, DELIVERY_WINDOW

_serializer, _deserializer = TypeSerializer(), TypeDeserializer()
Clock = Callable[[], float]  # seconds since the epoch


@dataclass(frozen=True)
class Gate:
    """May this instance call the account now? ``probe`` is set when this call is the half-open
    probe: report its outcome with ``Breaker.record(..., probe=gate.probe)``."""

    allowed: bool
    probe: str | None = None
    change: HealthChange | None = None
    reason: str = ""


def _key(account: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": f"HEALTH#{account}"}, "sk": {"S": sk}}


def _at(ms: int) -> str:
    return iso(datetime.fromtimestamp(ms / 1000, UTC))


def _state(item: dict[str, Any] | None) -> CircuitState:
    return CircuitState((item or {}).get("state", CircuitState.CLOSED))


class _Table:
    """Conditional updates of one item, with every attribute name placed as #name."""

    def __init__(self, table: str, dynamodb: Any, clock: Clock) -> None:
        self.table = table
        self.db = dynamodb or client("dynamodb")
        self.clock = clock

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        item = self.db.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return {k: _deserializer.deserialize(v) for k, v in item.items()} if item else None

    def update(
        self,
        key: dict[str, Any],
        expression: str,
        values: dict[str, Any],
        condition: str | None = None,
        returns: str = "ALL_NEW",
    ) -> dict[str, Any] | None:
        """The item as ``returns`` says, or None when the condition did not hold."""
        tokens = _tokens(expression, condition)
        names = {t: t[1:] for t in tokens if t.startswith("#")}
        # DynamoDB refuses a value the expressions do not use: callers may pass a superset.
        values = {k: v for k, v in values.items() if k in tokens}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {k: _serializer.serialize(v) for k, v in values.items()},
            "ReturnValues": returns,
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            answer = self.db.update_item(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        return {k: _deserializer.deserialize(v) for k, v in answer.get("Attributes", {}).items()}


def _tokens(*expressions: str | None) -> set[str]:
    """The #names and :values an update uses."""
    text = " ".join(e or "" for e in expressions)
    for separator in "(),":
        text = text.replace(separator, " ")
    return {token for token in text.split() if token[0] in "#:"}


class Breaker:
    """The per-account circuit breaker. One instance per process; the table is the shared state."""

    def __init__(
        self, table: str, settings: RoutingSettings, dynamodb: Any = None, clock: Clock = time.time
    ) -> None:
        self._t = _Table(table, dynamodb, clock)
        self.settings = settings

    def acquire(self, account: str) -> Gate:
        item = self._t.get(_key(account, "CIRCUIT"))
        state, now = _state(item), self._t.now_ms()
        if state is CircuitState.CLOSED or item is None:
            return Gate(True)
        if state is CircuitState.OPEN and now < int(item.get("retry_at_ms", 0)):
            return Gate(False, reason="circuit open")
        if state is CircuitState.HALF_OPEN and now < int(item.get("probe_until_ms", 0)):
            return Gate(False, reason="circuit half-open: another instance is probing")
        probe = uuid.uuid4().hex
        taken = self._t.update(
            _key(account, "CIRCUIT"),
            "SET #state = :half, #previous_state = #state, #probe_id = :probe, #probe_until_ms = :until, "
            "#changed_at = :at, #reason = :why",
            {
                ":half": CircuitState.HALF_OPEN.value,
                ":open": CircuitState.OPEN.value,
                ":probe": probe,
                ":until": now + int(self.settings.breaker_probe_lease_seconds * 1000),
                ":now": now,
                ":at": _at(now),
                ":why": "cool-down over: one probe call",
            },
            "(#state = :open AND #retry_at_ms <= :now) OR (#state = :half AND #probe_until_ms <= :now)",
        )
        if taken is None:
            return Gate(False, reason="circuit half-open: another instance is probing")
        change = None if state is CircuitState.HALF_OPEN else self._change(taken, state)
        return Gate(True, probe=probe, change=change)

    def record(
        self, account: str, vendor: str, verdict: Verdict, reason: str, probe: str | None = None
    ) -> HealthChange | None:
        """One call's verdict on the account; the change of state it caused, if any."""
        if verdict is Verdict.SUCCESS:
            return self._success(account, reason)
        if verdict is Verdict.FAILURE:
            if probe is not None:
                reopened = self._reopen(account, vendor, reason, probe)
                if reopened is not None:
                    return reopened
            return self._failure(account, vendor, reason)
        if probe is not None:
            # Nothing to tell from the probe: free the half-open circuit for the next one.
            self._t.update(
                _key(account, "CIRCUIT"),
                "SET #probe_until_ms = :zero",
                {":zero": 0, ":half": CircuitState.HALF_OPEN.value, ":probe": probe},
                "#state = :half AND #probe_id = :probe",
            )
        return None

    def state(self, account: str) -> dict[str, Any] | None:
        return self._t.get(_key(account, "CIRCUIT"))

    # ------------------------------------------------------------------ transitions
    def _success(self, account: str, reason: str) -> HealthChange | None:
        now = self._t.now_ms()
        old = self._t.update(
            _key(account, "CIRCUIT"),
            "SET #state = :closed, #failures = :zero, #previous_state = #state, #changed_at = :at, "
            "#reason = :why REMOVE #probe_id, #probe_until_ms, #retry_at_ms, #retry_at",
            {":closed": CircuitState.CLOSED.value, ":zero": 0, ":at": _at(now), ":why": reason},
            "attribute_exists(#pk) AND (#state <> :closed OR #failures > :zero)",
            returns="ALL_OLD",
        )
        if old is None or _state(old) is CircuitState.CLOSED:
            return None
        return HealthChange(account, old.get("vendor"), _state(old), CircuitState.CLOSED, 0, reason, _at(now))

    def _failure(self, account: str, vendor: str, reason: str) -> HealthChange | None:
        now = self._t.now_ms()
        counted = self._t.update(
            _key(account, "CIRCUIT"),
            "SET #state = if_not_exists(#state, :closed), #type = :type, #account = :account, "
            "#vendor = :vendor, #reason = :why, #last_failure_at = :at ADD #failures :one",
            {
                ":closed": CircuitState.CLOSED.value,
                ":type": CIRCUIT,
                ":account": account,
                ":vendor": vendor,
                ":why": reason,
                ":at": _at(now),
                ":one": 1,
            },
        )
        if counted is None or _state(counted) is not CircuitState.CLOSED:
            return None
        if int(counted.get("failures", 0)) < self.settings.breaker_failures:
            return None
        # Only the instance whose write finds it still closed opens it: one change, one event.
        opened = self._open(account, CircuitState.CLOSED, reason, "#failures >= :threshold")
        return self._change(opened, CircuitState.CLOSED) if opened else None

    def _reopen(self, account: str, vendor: str, reason: str, probe: str) -> HealthChange | None:
        opened = self._open(account, CircuitState.HALF_OPEN, reason, "#probe_id = :probe", probe=probe)
        return self._change(opened, CircuitState.HALF_OPEN) if opened else None

    def _open(
        self, account: str, before: CircuitState, reason: str, condition: str, probe: str | None = None
    ) -> dict[str, Any] | None:
        now = self._t.now_ms()
        retry = now + int(self.settings.breaker_cooldown_seconds * 1000)
        added = " ADD #failures :one" if probe is not None else ""  # a counted probe failure
        return self._t.update(
            _key(account, "CIRCUIT"),
            "SET #state = :open, #previous_state = :before, #retry_at_ms = :retry, #retry_at = :retry_iso, "
            "#changed_at = :at, #reason = :why REMOVE #probe_id, #probe_until_ms" + added,
            {
                ":open": CircuitState.OPEN.value,
                ":before": before.value,
                ":retry": retry,
                ":retry_iso": _at(retry),
                ":at": _at(now),
                ":why": reason,
                ":threshold": self.settings.breaker_failures,
                ":probe": probe,
                ":one": 1,
            },
            f"#state = :before AND {condition}",
        )

    @staticmethod
    def _change(item: dict[str, Any], before: CircuitState) -> HealthChange:
        return HealthChange(
            account=str(item["account"]) if "account" in item else str(item["pk"]).removeprefix("HEALTH#"),
            vendor=item.get("vendor"),
            previous=before,
            state=_state(item),
            consecutive_failures=int(item.get("failures", 0)),
            reason=str(item.get("reason", "")),
            changed_at=str(item.get("changed_at", "")),
            retry_at=item.get("retry_at") if _state(item) is CircuitState.OPEN else None,
        )


class HealthReader:
    """The view ``choose`` takes, read in one batch per invocation; and the delivery window."""

    def __init__(
        self, table: str, settings: RoutingSettings, dynamodb: Any = None, clock: Clock = time.time
    ) -> None:
        self._t = _Table(table, dynamodb, clock)
        self.settings = settings

    def view(self, accounts: Iterable[str]) -> dict[str, AccountHealth]:
        names = list(dict.fromkeys(accounts))
        keys = [_key(n, "CIRCUIT") for n in names]
        if self.settings.skip_low_balance:
            keys += [{"pk": {"S": f"ACCOUNT#{n}"}, "sk": {"S": "BALANCE"}} for n in names]
        items = self._batch_get(keys)
        now, view = self._t.now_ms(), {}
        for name in names:
            available, reason = _available(items.get((f"HEALTH#{name}", "CIRCUIT")), now)
            balance = items.get((f"ACCOUNT#{name}", "BALANCE")) or {}
            low = self.settings.skip_low_balance and bool(balance.get("low"))
            factor = self._weight_factor(name) if self.settings.delivery_rate_threshold > 0 else 1.0
            health = AccountHealth(available, low, factor, reason)
            if health != AccountHealth():
                view[name] = health
        return view

    def record_final(self, account: str, delivered: bool) -> None:
        """One final report of the account, counted in its current bucket."""
        now = self._t.now_ms() // 1000
        bucket = now - now % self._bucket_seconds()
        self._t.update(
            _key(account, f"DELIVERY#{bucket:012d}"),
            "SET #type = :type, #expires_at = if_not_exists(#expires_at, :expires) "
            "ADD #finals :one, #delivered :ok",
            {
                ":type": DELIVERY_WINDOW,
                ":expires": bucket + 2 * self.settings.delivery_window_seconds,
                ":one": 1,
                ":ok": 1 if delivered else 0,
            },
        )

    def delivery_rate(self, account: str) -> tuple[int, int]:
        """(final reports, delivered) over the last window."""
        now = self._t.now_ms() // 1000
        start = now - self.settings.delivery_window_seconds
        start -= start % self._bucket_seconds()
        answer = self._t.db.query(
            TableName=self._t.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :from AND :to",
            ExpressionAttributeValues={
                ":pk": {"S": f"HEALTH#{account}"},
                ":from": {"S": f"DELIVERY#{start:012d}"},
                ":to": {"S": f"DELIVERY#{now:012d}"},
            },
            ConsistentRead=True,
        )
        items = [{k: _deserializer.deserialize(v) for k, v in i.items()} for i in answer.get("Items", [])]
        return sum(int(i.get("finals", 0)) for i in items), sum(int(i.get("delivered", 0)) for i in items)

    def _weight_factor(self, account: str) -> float:
        finals, delivered = self.delivery_rate(account)
        if finals < self.settings.delivery_min_finals:
            return 1.0
        if delivered / finals >= self.settings.delivery_rate_threshold:
            return 1.0
        return self.settings.low_delivery_weight_factor

    def _bucket_seconds(self) -> int:
        return max(60, self.settings.delivery_window_seconds // 6)

    def _batch_get(self, keys: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for start in range(0, len(keys), 100):
            pending: dict[str, Any] = {
                self._t.table: {"Keys": keys[start : start + 100], "ConsistentRead": True}
            }
            for _ in range(5):  # unprocessed keys come back under load; bounded
                answer = self._t.db.batch_get_item(RequestItems=pending)
                for raw in answer.get("Responses", {}).get(self._t.table, []):
                    item = {k: _deserializer.deserialize(v) for k, v in raw.items()}
                    found[(item["pk"], item["sk"])] = item
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
        return found


def _available(circuit: dict[str, Any] | None, now: int) -> tuple[bool, str]:
    state = _state(circuit)
    if circuit is None or state is CircuitState.CLOSED:
        return True, ""
    if state is CircuitState.OPEN and now < int(circuit.get("retry_at_ms", 0)):
        return False, "circuit open"
    if state is CircuitState.HALF_OPEN and now < int(circuit.get("probe_until_ms", 0)):
        return False, "circuit half-open: another instance is probing"
    return True, ""
