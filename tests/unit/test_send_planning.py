"""Planning of the send path (sms_gateway.sending.plan): claimed requests -> vendor calls.

Pure functions, against fake adapters typed by the send path's Protocols.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sms_gateway.models import OutboundItem, SendRequest
from sms_gateway.sending.parse import resolve_account
from sms_gateway.sending.plan import Call, Work, chunk, plan_calls
from sms_gateway.sending.ports import SendAdapter
from tests.support.send_fakes import FakeAdapter, FakeRegistry, account

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MAIN = account("cn-main", default=True)
OTHER = account("cn-other")


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+861390000{n:04d}" for n in range(start, start + count)]


def work(message_id: str, adapter: SendAdapter, to: list[str] | None = None, **fields: Any) -> Work:
    body = (
        {"id": message_id, **fields}
        if "p2p" in fields
        else {"id": message_id, "to": to or numbers(1), **fields}
    )
    request = SendRequest.model_validate(body)
    items = (
        tuple(OutboundItem(message_id, p.to, p.content) for p in request.p2p)
        if request.p2p
        else tuple(OutboundItem(message_id, n) for n in request.to)
    )
    return Work(
        sqs_id=f"sqs-{message_id}",
        message_id=message_id,
        request=request,
        account=adapter.account,
        adapter=adapter,
        items=items,
    )


def recipients(call: Call) -> list[tuple[str, str]]:
    return [(i.message_id, i.recipient) for i in call.submission.items]


def test_requests_with_the_same_account_content_sign_and_kind_share_calls() -> None:
    # Given two requests to one account with the same text, and a third with another text
    adapter = FakeAdapter(MAIN, max_recipients_per_call=10)
    same_a = work("a", adapter, numbers(2), content="您的快件已签收")
    same_b = work("b", adapter, numbers(2, start=2), content="您的快件已签收")
    other = work("c", adapter, numbers(1, start=4), content="另一条通知")
    # When they are planned
    calls = plan_calls([same_a, same_b, other], NOW)
    # Then the first two share one call, and the third has its own
    assert [sorted(call.works) for call in calls] == [["a", "b"], ["c"]]
    assert [call.submission.content for call in calls] == ["您的快件已签收", "另一条通知"]
    assert calls[0].submission.sign == "圆通快递"


@pytest.mark.parametrize(
    "difference",
    [
        {"sign": "顺丰速运"},
        {"kind": "marketing"},
        {"ext_no": "12"},
        {"sender_id": "ACME"},
    ],
)
def test_requests_that_differ_in_a_call_level_field_never_share_a_call(difference: dict[str, str]) -> None:
    # Given two requests alike but for one field the vendor takes once per call
    adapter = FakeAdapter(MAIN, max_recipients_per_call=10)
    first = work("a", adapter, numbers(1), content="通知")
    second = work("b", adapter, numbers(1, start=1), content="通知", **difference)
    # When they are planned
    calls = plan_calls([first, second], NOW)
    # Then each gets its own call
    assert [list(call.works) for call in calls] == [["a"], ["b"]]


def test_requests_to_different_accounts_never_share_a_call() -> None:
    # Given the same text to two accounts of the same vendor
    main, other = (
        FakeAdapter(MAIN, max_recipients_per_call=10),
        FakeAdapter(OTHER, max_recipients_per_call=10),
    )
    # When they are planned
    calls = plan_calls([work("a", main, content="通知"), work("b", other, content="通知")], NOW)
    # Then each account's adapter gets its own call
    assert [(call.adapter.account.name, list(call.works)) for call in calls] == [
        ("cn-main", ["a"]),
        ("cn-other", ["b"]),
    ]


def test_template_requests_are_grouped_by_template_and_parameters() -> None:
    # Given three template requests: two alike, one with other parameters
    adapter = FakeAdapter(MAIN, max_recipients_per_call=10, supports_templates=True)
    template = {"id": "T1", "params": {"code": "1234"}}
    calls = plan_calls(
        [
            work("a", adapter, numbers(1), template=template),
            work("b", adapter, numbers(1, start=1), template=template),
            work("c", adapter, numbers(1, start=2), template={"id": "T1", "params": {"code": "9999"}}),
        ],
        NOW,
    )
    # Then the alike ones share a call, without content, and the third has its own
    assert [sorted(call.works) for call in calls] == [["a", "b"], ["c"]]
    assert [call.submission.template.params["code"] for call in calls if call.submission.template] == [
        "1234",
        "9999",
    ]
    assert {call.submission.content for call in calls} == {None}


@pytest.mark.parametrize(("count", "limit"), [(1, 3), (3, 3), (4, 3), (10, 3), (1001, 1000), (3001, 3000)])
def test_a_group_is_chunked_into_ceil_n_over_limit_calls_each_within_the_limit(
    count: int, limit: int
) -> None:
    # Given one request for `count` distinct numbers to a vendor taking `limit` per call
    adapter = FakeAdapter(MAIN, max_recipients_per_call=limit)
    request = work("bulk", adapter, numbers(count), content="大促通知")
    # When it is planned
    calls = plan_calls([request], NOW)
    # Then it takes ceil(count / limit) calls, none above the limit, each number in exactly one
    assert len(calls) == math.ceil(count / limit)
    assert all(len(call.submission.items) <= limit for call in calls)
    assert sorted(n for call in calls for _, n in recipients(call)) == sorted(numbers(count))


def test_a_number_appears_at_most_once_per_call() -> None:
    # Given two requests with the same text to the same two numbers
    adapter = FakeAdapter(MAIN, max_recipients_per_call=10)
    calls = plan_calls(
        [work("a", adapter, numbers(2), content="通知"), work("b", adapter, numbers(2), content="通知")], NOW
    )
    # Then each number is in two calls, once each, and each call carries each request once
    assert [recipients(call) for call in calls] == [
        [("a", numbers(2)[0]), ("a", numbers(2)[1])],
        [("b", numbers(2)[0]), ("b", numbers(2)[1])],
    ]


def test_a_vendor_capping_the_joined_numbers_gets_calls_within_its_character_cap() -> None:
    # Given a vendor whose numbers are 11 characters and whose joined list may not exceed 35
    adapter = FakeAdapter(MAIN, max_recipients_per_call=100, max_numbers_chars=35)
    # When 7 numbers are chunked
    parts = chunk(adapter, [OutboundItem("m", n) for n in numbers(7)])
    # Then each call holds 3 numbers (3 * 11 + 2 commas = 35) and the last one the rest
    assert [len(part) for part in parts] == [3, 3, 1]
    assert all(len(",".join(adapter.vendor_number(i.recipient) for i in part)) <= 35 for part in parts)


def test_p2p_texts_share_a_call_only_on_a_vendor_that_takes_a_text_per_recipient() -> None:
    p2p = [{"to": n, "content": f"text {k}"} for k, n in enumerate(numbers(3))]
    # Given the same p2p request for a vendor with p2p calls and for one without
    with_p2p = plan_calls(
        [work("a", FakeAdapter(MAIN, max_recipients_per_call=10, supports_p2p=True), [], p2p=p2p)], NOW
    )
    without = plan_calls([work("a", FakeAdapter(MAIN, max_recipients_per_call=10), [], p2p=p2p)], NOW)
    # Then the first is one p2p call, the second one call per text
    assert [(call.submission.p2p, len(call.submission.items)) for call in with_p2p] == [(True, 3)]
    assert [call.submission.content for call in without] == ["text 0", "text 1", "text 2"]


def test_a_native_send_at_goes_with_the_call_unless_it_is_due() -> None:
    # Given requests for a vendor that schedules natively: one due in an hour, one due now
    adapter = FakeAdapter(MAIN, max_recipients_per_call=10, native_scheduling=True)
    later, due = NOW + timedelta(hours=1), NOW + timedelta(seconds=1)
    calls = plan_calls(
        [
            work("a", adapter, numbers(1), content="通知", send_at=later.isoformat()),
            work("b", adapter, numbers(1, start=1), content="通知", send_at=due.isoformat()),
        ],
        NOW,
    )
    # Then the first call carries its send_at, the second is sent now
    assert [call.submission.send_at for call in calls] == [later, None]


def test_the_same_recipients_give_the_same_call_id() -> None:
    # Given the same request planned twice, and a request to another number
    adapter = FakeAdapter(MAIN)
    first = plan_calls([work("a", adapter, numbers(1), content="通知")], NOW)
    again = plan_calls([work("a", adapter, numbers(1), content="通知")], NOW)
    other = plan_calls([work("a", adapter, numbers(1, start=1), content="通知")], NOW)
    # Then the call ids are stable per recipients (a task id the vendor may use) and differ otherwise
    assert first[0].submission.call_id == again[0].submission.call_id != other[0].submission.call_id


def test_a_request_goes_to_the_account_it_names_or_else_the_default_account() -> None:
    registry = FakeRegistry([MAIN, OTHER])
    named = SendRequest.model_validate({"to": numbers(1), "content": "x", "account": "cn-other"})
    unnamed = SendRequest.model_validate({"to": numbers(1), "content": "x"})
    assert (resolve_account(registry, named).name, resolve_account(registry, unnamed).name) == (
        "cn-other",
        "cn-main",
    )
