"""The pollers' rules: when a pending recipient is asked again, when a balance is low."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sms_gateway.clock import iso
from sms_gateway.models import BalanceIn, PendingRecipient
from sms_gateway.polling import balance_is_low, next_check

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def pending(created_at: str) -> PendingRecipient:
    return PendingRecipient("m1", "+8613800138000", "V1", created_at)


@pytest.mark.parametrize(
    ("age", "pause"),
    [
        (timedelta(0), timedelta(minutes=1)),  # at least a minute
        (timedelta(hours=1), timedelta(minutes=15)),  # a quarter of its age
        (timedelta(days=8), timedelta(hours=6)),  # at most six hours
    ],
)
def test_an_unanswered_recipient_waits_a_pause_that_grows_with_its_age(
    age: timedelta, pause: timedelta
) -> None:
    # Given a pending recipient of that age / When its next check is set / Then it waits that pause
    assert next_check(pending(iso(NOW - age)), NOW) == NOW + pause


def test_an_unreadable_creation_time_waits_the_shortest_pause() -> None:
    # Given a recipient whose creation time cannot be read / Then it is asked again after a minute
    assert next_check(pending("yesterday"), NOW) == NOW + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("amount", "threshold", "postpaid", "low"),
    [
        ("99.99", 100, False, True),
        ("100", 100, False, False),  # at the threshold is not below it
        ("5", None, False, False),  # no threshold set
        ("-50", 100, True, False),  # post-paid: billed afterwards, never low
    ],
)
def test_a_balance_is_low_only_below_the_threshold_of_a_prepaid_account(
    amount: str, threshold: float | None, postpaid: bool, low: bool
) -> None:
    # Given a balance read / When tested against the account's threshold / Then low as stated
    assert balance_is_low(BalanceIn(Decimal(amount), "CNY", postpaid=postpaid), threshold) is low
