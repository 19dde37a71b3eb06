"""Dispatch and its failure classification (sms_gateway.sending.dispatch), and the send path's
outcomes through its public entry point (SendService.process: SQS records in, records out), against
fakes typed by the send path's Protocols."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sms_gateway.errors import SubmitRejected, VendorUnavailable
from sms_gateway.models import MessageKind, OutboundItem, Status, Submission, SubmitOutcome
from sms_gateway.sending import Outcome, SendService
from sms_gateway.sending.dispatch import Verdict, dispatch
from sms_gateway.sending.ports import SendAdapter
from tests.support.send_fakes import FakeAdapter, FakeRegistry, FakeStore, accept_all, account

pytestmark = pytest.mark.unit

MAIN = account("cn-main", default=True)
A, B, C = "+8613900000001", "+8613900000002", "+8613900000003"


def submission(*numbers: str) -> Submission:
    items = tuple(OutboundItem("m-1", n) for n in numbers)
    return Submission(call_id="c" * 32, items=items, kind=MessageKind.NOTIFICATION, content="通知")


def raising(exc: Exception) -> Callable[[Submission], list[SubmitOutcome]]:
    def answer(submission: Submission) -> list[SubmitOutcome]:
        raise exc

    return answer


def in_turn(
    *answers: Callable[[Submission], list[SubmitOutcome]],
) -> Callable[[Submission], list[SubmitOutcome]]:
    queue = list(answers)

    def answer(submission: Submission) -> list[SubmitOutcome]:
        return queue.pop(0)(submission)

    return answer


def submitted(number: str) -> SubmitOutcome:
    return SubmitOutcome("m-1", number, Status.SUBMITTED, "vid-1", "0", "ok")


# ---------------------------------------------------------------------------------- classification
def test_an_answered_call_records_what_the_vendor_said_per_recipient() -> None:
    # Given a vendor that takes A and refuses B in one answer
    refused_b = SubmitOutcome("m-1", B, Status.FAILED, None, "17", "blacklisted")
    adapter = FakeAdapter(MAIN, answer=lambda s: [submitted(A), refused_b])
    # When the call is dispatched
    results = dispatch(adapter, submission(A, B))
    # Then both are answered, as the vendor said, and nothing is retried
    assert [(r.item.recipient, r.verdict, r.outcome.status if r.outcome else None) for r in results] == [
        (A, Verdict.ANSWERED, Status.SUBMITTED),
        (B, Verdict.ANSWERED, Status.FAILED),
    ]
    assert not any(r.retry for r in results)


def test_a_lost_answer_makes_every_recipient_unknown_and_none_is_retried() -> None:
    # Given a call whose answer was lost after the request left
    adapter = FakeAdapter(MAIN, answer=raising(VendorUnavailable("no answer in time", ambiguous=True)))
    # When it is dispatched
    results = dispatch(adapter, submission(A, B))
    # Then both may have been sent: recorded unknown, never retried
    assert {(r.verdict, r.outcome.status if r.outcome else None) for r in results} == {
        (Verdict.MAYBE_SENT, Status.UNKNOWN)
    }
    assert not any(r.retry for r in results)


def test_a_call_that_sent_nothing_is_retried_and_keeps_what_earlier_parts_decided() -> None:
    # Given a split call whose first part took A, then the vendor was unavailable for the rest
    adapter = FakeAdapter(MAIN, answer=raising(VendorUnavailable("HTTP 503", decided=[submitted(A)])))
    # When it is dispatched
    results = dispatch(adapter, submission(A, B, C))
    # Then A keeps its outcome and B and C were not sent: retried, nothing recorded for them
    assert [(r.item.recipient, r.verdict, r.outcome is not None) for r in results] == [
        (A, Verdict.ANSWERED, True),
        (B, Verdict.NOT_SENT, False),
        (C, Verdict.NOT_SENT, False),
    ]
    assert [r.retry for r in results] == [False, True, True]


def test_a_refused_call_fails_every_recipient_for_good() -> None:
    # Given a vendor refusing the whole call with a final code
    adapter = FakeAdapter(MAIN, answer=raising(SubmitRejected("-4", "content refused")))
    # When it is dispatched
    results = dispatch(adapter, submission(A, B))
    # Then each recipient is failed with the vendor's code, and nothing is retried
    assert {(r.verdict, r.outcome.status, r.outcome.vendor_status) for r in results if r.outcome} == {
        (Verdict.ANSWERED, Status.FAILED, "-4")
    }
    assert len(results) == 2 and not any(r.retry for r in results)


def test_our_own_error_during_a_call_records_nothing_and_retries() -> None:
    # Given an error of ours raised inside the adapter's call
    adapter = FakeAdapter(MAIN, answer=raising(KeyError("options")))
    # When it is dispatched
    results = dispatch(adapter, submission(A, B))
    # Then nothing is recorded now and the request goes back (its inflight marks tell the next attempt)
    assert [(r.verdict, r.outcome, r.retry) for r in results] == [(Verdict.INTERRUPTED, None, True)] * 2


def test_an_outcome_about_a_recipient_outside_the_call_is_dropped() -> None:
    # Given an adapter answering about A, in the call, and C, not in it
    adapter = FakeAdapter(MAIN, answer=lambda s: [submitted(A), submitted(C)])
    # Then only A gets a verdict
    assert [r.item.recipient for r in dispatch(adapter, submission(A, B))] == [A]


# ---------------------------------------------------------------------------------- the whole path
def service(
    store: FakeStore, adapter: FakeAdapter, requeued: list[tuple[str, int]] | None = None
) -> SendService:
    def adapter_for(_: Any) -> SendAdapter:
        return adapter

    def requeue(body: str, delay: int) -> None:
        (requeued if requeued is not None else []).append((body, delay))

    return SendService(store, FakeRegistry([MAIN]), adapter_for, requeue, time_reserve_seconds=15)


def sqs(message_id: str, **body: Any) -> dict[str, Any]:
    return {"messageId": f"sqs-{message_id}", "body": json.dumps({"id": message_id, **body})}


def test_recipients_not_sent_go_back_to_the_queue_and_only_they_are_sent_again() -> None:
    # Given a vendor taking 2 per call that is unavailable for the second call of a request
    store, answer = FakeStore(), in_turn(accept_all, raising(VendorUnavailable("HTTP 503")))
    adapter = FakeAdapter(MAIN, max_recipients_per_call=2, answer=answer)
    record = sqs("m-1", to=[A, B, C], content="通知")
    # When the request is processed, then delivered again once the vendor is back
    first = service(store, adapter).process([record], lambda: 60_000)
    after_first = store.status_of("m-1")
    adapter.answer = accept_all
    second = service(store, adapter).process([record], lambda: 60_000)
    # Then the first attempt recorded the first call's two and handed the request back
    assert first == {"sqs-m-1": Outcome.RETRY} and store.released == ["m-1"]
    assert after_first == {A: Status.SUBMITTED, B: Status.SUBMITTED}
    # And the second sent only C, and the request left the queue with every recipient submitted once
    assert [[i.recipient for i in call.items] for call in adapter.calls] == [[A, B], [C], [C]]
    assert second == {"sqs-m-1": Outcome.DONE}
    assert store.status_of("m-1") == {A: Status.SUBMITTED, B: Status.SUBMITTED, C: Status.SUBMITTED}
    assert len(store.records) == 3


def test_recipients_that_may_have_been_sent_are_unknown_and_never_resent() -> None:
    # Given a vendor whose connection resets after the request left
    store = FakeStore()
    adapter = FakeAdapter(MAIN, answer=raising(VendorUnavailable("connection reset", ambiguous=True)))
    # When the request is processed, then delivered again
    outcome = service(store, adapter).process([sqs("m-1", to=[A, B], content="通知")], lambda: 60_000)
    again = service(store, adapter).process([sqs("m-1", to=[A, B], content="通知")], lambda: 60_000)
    # Then both recipients are unknown, the request left the queue, and the vendor was called once
    assert (outcome, again) == ({"sqs-m-1": Outcome.DONE}, {"sqs-m-1": Outcome.DONE})
    assert store.status_of("m-1") == {A: Status.UNKNOWN, B: Status.UNKNOWN}
    assert len(adapter.calls) == 1


def test_after_our_own_error_mid_call_the_next_attempt_records_unknown_instead_of_resending() -> None:
    # Given a bug of ours raised during the vendor call (the vendor may have acted on it)
    store = FakeStore()
    adapter = FakeAdapter(MAIN, answer=raising(KeyError("options")))
    record = sqs("m-1", to=[A, B], content="通知")
    # When the request is processed, then delivered again
    first = service(store, adapter).process([record], lambda: 60_000)
    assert first == {"sqs-m-1": Outcome.RETRY} and store.records == []
    second = service(store, adapter).process([record], lambda: 60_000)
    # Then the second attempt records both unknown without calling the vendor again
    assert second == {"sqs-m-1": Outcome.DONE}
    assert store.status_of("m-1") == {A: Status.UNKNOWN, B: Status.UNKNOWN}
    assert {r.vendor_status for r in store.records} == {"interrupted"}
    assert len(adapter.calls) == 1


def test_near_the_timeout_no_call_starts_and_the_request_goes_back() -> None:
    # Given 10 s left of the invocation, under the 15 s reserve
    store, adapter = FakeStore(), FakeAdapter(MAIN)
    # When a request is processed
    outcome = service(store, adapter).process([sqs("m-1", to=[A], content="通知")], lambda: 10_000)
    # Then the vendor is not called, nothing is marked or recorded, and SQS brings it back
    assert outcome == {"sqs-m-1": Outcome.RETRY}
    assert (adapter.calls, store.records, store.inflight.get("m-1", set())) == ([], [], set())


def test_a_request_held_by_another_invocation_is_retried_and_a_finished_one_dropped() -> None:
    # Given one request another invocation holds and one already finished
    store, adapter = FakeStore(busy={"m-busy"}, finished={"m-done"}), FakeAdapter(MAIN)
    # When both are delivered
    outcome = service(store, adapter).process(
        [sqs("m-busy", to=[A], content="x"), sqs("m-done", to=[B], content="x")], lambda: 60_000
    )
    # Then the held one comes back later, the finished one is dropped, and nothing is sent
    assert outcome == {"sqs-m-busy": Outcome.RETRY, "sqs-m-done": Outcome.DONE}
    assert adapter.calls == []


def test_a_request_that_can_never_succeed_fails_its_recipients_and_leaves_the_queue() -> None:
    # Given a request to an unknown account, and one with an invalid number beside a valid one
    store, adapter = FakeStore(), FakeAdapter(MAIN)
    # When they are processed
    outcome = service(store, adapter).process(
        [sqs("m-1", to=[A], content="x", account="nope"), sqs("m-2", to=[B, "12345"], content="x")],
        lambda: 60_000,
    )
    # Then both leave the queue, the refused recipients are failed, and only the valid one is sent
    assert outcome == {"sqs-m-1": Outcome.DONE, "sqs-m-2": Outcome.DONE}
    failed = {
        (r.message_id, r.recipient): r.vendor_status for r in store.records if r.status is Status.FAILED
    }
    assert failed == {("m-1", A): "invalid_request", ("m-2", "12345"): "invalid_recipient"}
    assert [[i.recipient for i in call.items] for call in adapter.calls] == [[B]]


def test_a_message_delivered_twice_in_one_batch_is_sent_once_and_shares_its_fate() -> None:
    # Given the same message in two SQS records of one batch
    store, adapter = FakeStore(), FakeAdapter(MAIN)
    record = sqs("m-1", to=[A], content="x")
    duplicate = {**record, "messageId": "sqs-again"}
    # When the batch is processed
    outcome = service(store, adapter).process([record, duplicate], lambda: 60_000)
    # Then one vendor call, and both records leave the queue
    assert outcome == {"sqs-m-1": Outcome.DONE, "sqs-again": Outcome.DONE}
    assert len(adapter.calls) == 1


def test_a_future_send_at_on_a_vendor_without_scheduling_is_requeued_with_its_id() -> None:
    # Given a send_at far ahead, for a vendor that does not schedule
    store, adapter = FakeStore(), FakeAdapter(MAIN)
    requeued: list[tuple[str, int]] = []
    later = "2999-01-01T00:00:00+08:00"
    outcome = service(store, adapter, requeued).process(
        [sqs("m-1", to=[A], content="x", send_at=later)], lambda: 60_000
    )
    # Then it is not sent but put back on the queue for SQS's longest delay, keeping its id
    assert outcome == {"sqs-m-1": Outcome.DONE} and adapter.calls == []
    [(body, delay)] = requeued
    assert (json.loads(body)["id"], delay) == ("m-1", 900)
