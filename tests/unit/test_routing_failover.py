"""failover(): after a call, only recipients known not sent move to the next account; a call
that may have been sent never moves; each result is an attempt for the recipient's history."""

import pytest

from sms_gateway.errors import SubmitRejected, VendorUnavailable
from sms_gateway.models import OutboundItem, Status, SubmitOutcome
from sms_gateway.routing.failover import (
    Attempt,
    Delivery,
    RecipientResult,
    Verdict,
    classify_failure,
    classify_outcome,
    failover,
    not_called,
    verdict,
)

pytestmark = pytest.mark.unit

A, B, C = "+8613800138000", "+8613900139000", "+8613700137000"
ITEMS = [OutboundItem("m1", A), OutboundItem("m1", B), OutboundItem("m1", C, "p2p text")]
CANDIDATES = ["cn-a", "cn-b", "cn-c"]


def outcome(recipient: str, status: Status, code: str = "0") -> SubmitOutcome:
    return SubmitOutcome("m1", recipient, status, "vid" if status is Status.SUBMITTED else None, code, "d")


def test_a_refused_connection_moves_every_recipient_to_the_next_account() -> None:
    # Given a call on cn-a that was refused before anything left (not sent)
    results = classify_failure(ITEMS, VendorUnavailable("connection error to cn-a"), "action_v1")
    # When failover decides
    plan = failover("cn-a", "action_v1", results, ITEMS, CANDIDATES)
    # Then all three move to cn-b with their own content, none stays, and each try is an attempt
    assert plan.moves == {"cn-b": tuple(ITEMS)}
    assert plan.stay == () and plan.requeue == ()
    assert plan.attempts[("m1", A)] == Attempt(
        "cn-a", "action_v1", Delivery.NOT_SENT, "connection error to cn-a"
    )


def test_a_lost_answer_never_moves_to_a_second_vendor() -> None:
    # Given a read timeout after the request left (may have been sent)
    lost = VendorUnavailable("no answer from cn-a in time", ambiguous=True)
    results = classify_failure(ITEMS, lost, "action_v1")
    # When failover decides
    plan = failover("cn-a", "action_v1", results, ITEMS, CANDIDATES)
    # Then nobody moves: all stay, to be recorded unknown
    assert plan.moves == {} and plan.requeue == ()
    assert {r.delivery for r in plan.stay} == {Delivery.MAY_HAVE_BEEN_SENT}
    assert len(plan.stay) == 3


def test_per_recipient_answers_move_only_the_balance_refusals() -> None:
    # Given action_v1 answered per recipient: one accepted, one refused for balance (RESULT 15),
    # one refused for its signature (RESULT 17), plus an unlisted one (unknown)
    outcomes = [
        outcome(A, Status.SUBMITTED),
        outcome(B, Status.FAILED, "15"),
        outcome(C, Status.REJECTED, "17"),
        SubmitOutcome("m1", "+8613600136000", Status.UNKNOWN, None, "missing", "not listed"),
    ]
    results = [classify_outcome(o, "action_v1") for o in outcomes]
    # When failover decides
    plan = failover("cn-a", "action_v1", results, ITEMS, CANDIDATES)
    # Then only the balance refusal moves; the others are recorded as the vendor said
    assert plan.moves == {"cn-b": (OutboundItem("m1", B),)}
    assert [(r.recipient, r.delivery) for r in plan.stay] == [
        (A, Delivery.SENT),
        (C, Delivery.REFUSED),
        ("+8613600136000", Delivery.MAY_HAVE_BEEN_SENT),
    ]


def test_a_whole_call_refused_for_credit_moves_but_a_content_refusal_stays() -> None:
    credit = classify_failure(ITEMS[:1], SubmitRejected("1009", "AmountNotEnough"), "intl_v1")
    content = classify_failure(ITEMS[:1], SubmitRejected("1006", "ContentError"), "intl_v1")
    assert [r.delivery for r in credit] == [Delivery.NOT_SENT]
    assert [r.delivery for r in content] == [Delivery.REFUSED]
    assert content[0].outcome is not None and content[0].outcome.status is Status.FAILED
    # The same code means nothing special on a vendor that does not document it
    assert classify_failure(ITEMS[:1], SubmitRejected("1009", "x"), "pwd_v1")[0].delivery is Delivery.REFUSED


def test_recipients_settled_by_earlier_parts_keep_their_outcome() -> None:
    # Given a split call whose first part was accepted, then a part that was not sent
    exc = VendorUnavailable("HTTP 503", decided=[outcome(A, Status.SUBMITTED)])
    results = classify_failure(ITEMS, exc, "intl_v1")
    plan = failover("intl", "intl_v1", results, ITEMS, ["intl", "cn-b"])
    # Then only the unsent part moves
    assert plan.moves == {"cn-b": tuple(ITEMS[1:])}
    assert [r.recipient for r in plan.stay] == [A]


def test_accounts_already_tried_are_skipped_and_with_none_left_the_recipient_goes_back_to_the_queue() -> None:
    # Given B already tried cn-b in an earlier attempt, and C tried every account
    results = not_called(ITEMS)
    tried = {("m1", B): ["cn-b"], ("m1", C): ["cn-b", "cn-c"]}
    # When cn-a is not called (its circuit is open)
    plan = failover("cn-a", "action_v1", results, ITEMS, CANDIDATES, tried=tried)
    # Then A goes to cn-b, B skips to cn-c, C has no account left and waits for redelivery
    assert plan.moves == {"cn-b": (ITEMS[0],), "cn-c": (ITEMS[1],)}
    assert plan.requeue == (ITEMS[2],)
    assert plan.attempts[("m1", C)].reason == "circuit open"


def test_a_single_candidate_sends_not_sent_recipients_back_to_the_queue() -> None:
    results = classify_failure(ITEMS[:1], VendorUnavailable("HTTP 429"), "action_v1")
    plan = failover("cn-a", "action_v1", results, ITEMS[:1], ["cn-a"])
    assert plan.moves == {} and plan.requeue == (ITEMS[0],)


@pytest.mark.parametrize(
    ("deliveries", "count_unknown", "expected"),
    [
        ([Delivery.SENT, Delivery.NOT_SENT], False, Verdict.SUCCESS),
        ([Delivery.REFUSED], False, Verdict.SUCCESS),
        ([Delivery.NOT_SENT, Delivery.MAY_HAVE_BEEN_SENT], False, Verdict.FAILURE),
        ([Delivery.MAY_HAVE_BEEN_SENT], False, Verdict.NEUTRAL),
        ([Delivery.MAY_HAVE_BEEN_SENT], True, Verdict.FAILURE),
    ],
)
def test_a_calls_verdict_on_its_account(
    deliveries: list[Delivery], count_unknown: bool, expected: Verdict
) -> None:
    results = [RecipientResult("m1", A, d, "r") for d in deliveries]
    assert verdict(results, count_unknown=count_unknown) is expected


def test_a_grouped_call_moves_each_message_along_its_own_candidates() -> None:
    # Given one call on cn-a carrying two messages whose routes differ after cn-a
    items = [OutboundItem("m1", A), OutboundItem("m2", B)]
    results = classify_failure(items, VendorUnavailable("connect timeout to cn-a"), "action_v1")
    # When failover decides with each message's own order
    plan = failover("cn-a", "action_v1", results, items, {"m1": ["cn-a", "cn-b"], "m2": ["cn-a", "intl"]})
    # Then each message moves to its own next account
    assert plan.moves == {"cn-b": (items[0],), "intl": (items[1],)}
