"""The status state machine: forward only, and final statuses never change."""

from __future__ import annotations

import pytest

from sms_gateway.models import Status

pytestmark = pytest.mark.unit

FINAL = [s for s in Status if s is not Status.SUBMITTED]


def test_submitted_is_the_only_status_that_is_not_final() -> None:
    # Given every status / When asked whether it is final / Then only submitted is not
    assert [s for s in Status if not s.final] == [Status.SUBMITTED]


@pytest.mark.parametrize("final", FINAL)
def test_a_submitted_recipient_moves_to_any_final_status(final: Status) -> None:
    # Given a submitted recipient / When a final status is reported / Then it moves forward
    assert final.follows(Status.SUBMITTED)


@pytest.mark.parametrize("current", FINAL)
@pytest.mark.parametrize("reported", list(Status))
def test_a_final_status_is_never_replaced(current: Status, reported: Status) -> None:
    # Given a recipient with a final status / When any status is reported / Then it stays
    assert not reported.follows(current)


def test_a_repeated_submitted_changes_nothing() -> None:
    # Given a submitted recipient / When submitted is reported again / Then nothing moves
    assert not Status.SUBMITTED.follows(Status.SUBMITTED)


def test_the_rank_the_store_conditions_on_orders_like_the_state_machine() -> None:
    # Given every pair of statuses / Then "follows" is exactly "ranks higher" (the table's condition)
    for current in Status:
        for reported in Status:
            assert reported.follows(current) is (reported.rank > current.rank)
