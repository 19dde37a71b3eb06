"""`SMS Route Health`: one event per change of an account's circuit, and the metrics beside it.

The health item (``health.py``) keeps ``state`` and ``previous_state``, so the detail can be
built from a committed change alone: from the breaker's return value, or from the table
stream's images when the publisher carries it (the outbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sms_gateway.detail_types import ROUTE_HEALTH, VERSION

ROUTE_HEALTH_DETAIL_TYPE: Final = ROUTE_HEALTH
# One per change, any direction; and one per opening, the one worth an alarm.
ROUTE_HEALTH_METRIC: Final = "RouteHealthChanges"
CIRCUIT_OPENED_METRIC: Final = "CircuitsOpened"


class CircuitState(StrEnum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # no calls until the cool-down ends
    HALF_OPEN = "half_open"  # one probe call is out; the others wait


@dataclass(frozen=True)
class HealthChange:
    account: str
    vendor: str | None
    previous: CircuitState
    state: CircuitState
    consecutive_failures: int
    reason: str
    changed_at: str  # UTC ISO 8601
    retry_at: str | None = None  # when an open circuit lets its probe through


def route_health_detail(change: HealthChange) -> dict[str, Any]:
    """The event's detail (snake_case, as every detail of this project)."""
    return {
        "version": VERSION,
        "account": change.account,
        "vendor": change.vendor,
        "state": change.state.value,
        "previous_state": change.previous.value,
        "consecutive_failures": change.consecutive_failures,
        "reason": change.reason,
        "changed_at": change.changed_at,
        "retry_at": change.retry_at,
    }


def change_from_images(new: dict[str, Any], old: dict[str, Any] | None) -> HealthChange | None:
    """The change a stream record of a health item carries (deserialized images), or None when
    its state did not change (a failure counted, a probe lease taken over)."""
    state = CircuitState(new.get("state", CircuitState.CLOSED))
    before = CircuitState((old or {}).get("state", CircuitState.CLOSED))
    if state is before:
        return None
    return HealthChange(
        account=str(new["account"]),
        vendor=new.get("vendor"),
        previous=before,
        state=state,
        consecutive_failures=int(new.get("failures", 0)),
        reason=str(new.get("reason", "")),
        changed_at=str(new.get("changed_at", "")),
        retry_at=new.get("retry_at") if state is CircuitState.OPEN else None,
    )


def health_metrics(change: HealthChange) -> list[str]:
    """Metric names to add (each a Count of 1) for one change."""
    names = [ROUTE_HEALTH_METRIC]
    if change.state is CircuitState.OPEN:
        names.append(CIRCUIT_OPENED_METRIC)
    return names
