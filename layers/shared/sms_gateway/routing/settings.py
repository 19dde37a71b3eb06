"""Routing settings: environment variables of the send function, parsed once (README "Routing")."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field

from sms_gateway.settings import from_environment


class RoutingSettings(BaseModel):
    # The circuit opens after this many consecutive calls that sent nothing for the account.
    breaker_failures: int = Field(default=5, ge=1, le=1000)
    # An open circuit lets one probe through after this long.
    breaker_cooldown_seconds: float = Field(default=60.0, gt=0, le=86400)
    # A probe that never reports (its instance died) frees the half-open circuit after this long.
    breaker_probe_lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Count calls whose answer was lost (`unknown`) as failures too: a vendor that hangs then
    # opens its circuit. Off by default: such a call may have been sent.
    breaker_count_unknown: bool = False
    # Skip an account whose last polled balance is below its threshold (tried anyway when every
    # account of the route is low).
    skip_low_balance: bool = False
    # Lower an account's weight when its delivery rate over the window is below the threshold
    # (0 turns it off), once it has at least `delivery_min_finals` final reports in the window.
    delivery_rate_threshold: float = Field(default=0.0, ge=0, le=1)
    delivery_window_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    delivery_min_finals: int = Field(default=20, ge=1)
    low_delivery_weight_factor: float = Field(default=0.25, gt=0, le=1)

    @classmethod
    def from_environment(cls) -> Self:
        """Parsed once per process, by the composition root (Runtime.routing_settings)."""
        return from_environment(cls, _ENV, "routing settings")


_ENV = {
    "breaker_failures": "ROUTING_BREAKER_FAILURES",
    "breaker_cooldown_seconds": "ROUTING_BREAKER_COOLDOWN_SECONDS",
    "breaker_probe_lease_seconds": "ROUTING_BREAKER_PROBE_LEASE_SECONDS",
    "breaker_count_unknown": "ROUTING_BREAKER_COUNT_UNKNOWN",
    "skip_low_balance": "ROUTING_SKIP_LOW_BALANCE",
    "delivery_rate_threshold": "ROUTING_DELIVERY_RATE_THRESHOLD",
    "delivery_window_seconds": "ROUTING_DELIVERY_WINDOW_SECONDS",
    "delivery_min_finals": "ROUTING_DELIVERY_MIN_FINALS",
    "low_delivery_weight_factor": "ROUTING_LOW_DELIVERY_WEIGHT_FACTOR",
}
