"""The status API through the real StatusFunction under its role: a message's whole history, a
number's messages in any form, an account's state, and 4xx (never 500) for bad input."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_action_v1_flow import push
from tests.support.action_v1_vendor import ActionV1Vendor
from tests.support.aws import AwsEnv, action_v1_account
from tests.support.handlers import poll, send, sqs_event
from tests.support.status_api import get
from tests.support.vendor_server import VendorServer

pytestmark = pytest.mark.integration

NUMBERS = ["18983437010", "18983437011"]


@pytest.fixture
def gateway(aws: AwsEnv, vendor: VendorServer) -> ActionV1Vendor:
    aws.put_accounts(action_v1_account(vendor.url))
    return ActionV1Vendor(vendor)


def delivered_and_failed(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    """doc-1 to two numbers: the first delivered, the second rejected (raw code MA:0001)."""
    assert (
        send(sqs_event({"id": "doc-1", "to": NUMBERS, "content": "您的快件已签收", "tags": {"o": "1"}})) == []
    )
    assert (
        push([gateway.report_for(NUMBERS[0], "DELIVRD"), gateway.report_for(NUMBERS[1], "MA:0001")])["body"]
        == "OK"
    )
    aws.pump()


def test_a_message_shows_its_request_recipients_and_every_report_with_its_raw_code(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given a message whose two recipients got different reports
    delivered_and_failed(aws, gateway)
    # When its status is asked for
    status, body = get("/messages/doc-1")
    # Then the request, both recipients and each one's history with the vendor's raw codes come back
    assert status == 200
    assert body["request"]["account"] == "cn-main" and body["request"]["state"] == "done"
    by_number = {r["recipient"]: r for r in body["recipients"]}
    assert set(by_number) == {"+86*******7010", "+86*******7011"}
    delivered, failed = by_number["+86*******7010"], by_number["+86*******7011"]
    assert (delivered["status"], delivered["final"], delivered["vendor_status"]) == (
        "delivered",
        True,
        "DELIVRD",
    )
    assert [(h["status"], h["vendor_status"]) for h in delivered["history"]] == [
        ("submitted", delivered["history"][0]["vendor_status"]),
        ("delivered", "DELIVRD"),
    ]
    assert failed["status"] == "rejected" and failed["history"][-1]["vendor_status"] == "MA:0001"
    assert delivered["vendor_message_id"] == gateway.sent[NUMBERS[0]] and delivered["tags"] == {"o": "1"}
    assert delivered["account"] == "cn-main" and delivered["vendor"] == "action_v1"
    assert delivered["created_at"] and delivered["status_at"]
    assert body["next_cursor"] is None
    # And no full number appears anywhere in the answer
    assert not any(n in json.dumps(body) for n in NUMBERS)


@pytest.mark.parametrize("form", ["18983437010", "+8618983437010", "008618983437010", "+86 189 8343 7010"])
def test_a_number_finds_its_messages_whatever_its_form(
    aws: AwsEnv, gateway: ActionV1Vendor, form: str
) -> None:
    # Given two messages sent to the same number
    delivered_and_failed(aws, gateway)
    assert send(sqs_event({"id": "doc-2", "to": NUMBERS[0], "content": "x"}, first_id=2)) == []
    # When that number's messages are asked for in this form
    status, body = get(f"/recipients/{form}/messages")
    # Then both come back, newest first, with their statuses
    assert status == 200
    assert [(m["message_id"], m["status"]) for m in body["messages"]] == [
        ("doc-2", "submitted"),
        ("doc-1", "delivered"),
    ]
    assert body["recipient"] == "+86*******7010"


def test_a_number_s_messages_are_bounded_by_since_and_until(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given a message sent now
    delivered_and_failed(aws, gateway)
    # When asked for a window before it, and for one that contains it
    _, before = get(f"/recipients/{NUMBERS[0]}/messages", until="2020-01-01T00:00:00+08:00")
    _, around = get(
        f"/recipients/{NUMBERS[0]}/messages", since="2020-01-01T00:00:00Z", until="2999-01-01T00:00:00Z"
    )
    # Then only the window that contains it finds it
    assert before["messages"] == []
    assert [m["message_id"] for m in around["messages"]] == ["doc-1"]


def test_a_large_message_is_paged_with_an_opaque_cursor(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given a message to five numbers
    numbers = [f"1390000000{n}" for n in range(5)]
    assert send(sqs_event({"id": "big-1", "to": numbers, "content": "x"})) == []
    # When it is read two recipients a page, following the cursor
    seen: list[str] = []
    status, page = get("/messages/big-1", limit="2")
    pages = 1
    while page["next_cursor"]:
        assert status == 200 and len(page["recipients"]) <= 2
        seen += [r["recipient"] for r in page["recipients"]]
        status, page = get("/messages/big-1", limit="2", cursor=page["next_cursor"])
        pages += 1
        assert "request" not in page  # the request comes with the first page only
    seen += [r["recipient"] for r in page["recipients"]]
    # Then every recipient came exactly once, over three pages
    assert pages == 3 and len(seen) == 5 and len(set(seen)) == 5


def test_the_request_content_is_redacted_unless_asked_for(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given a request sent with its text (the claim keeps it)
    assert send(sqs_event({"id": "otp-1", "to": NUMBERS[0], "content": "验证码 482913"})) == []
    # When the message is read without and with content=show
    _, hidden = get("/messages/otp-1")
    _, shown = get("/messages/otp-1", content="show")
    # Then the text is shown only when asked for
    assert hidden["request"]["content"] == {"redacted": True, "characters": 10}
    assert "482913" not in json.dumps(hidden)
    assert shown["request"]["content"] == "验证码 482913"


def test_an_account_shows_balance_pending_token_and_the_last_hour_s_counts(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given one delivered and one undelivered recipient, one still pending, and a balance poll
    delivered_and_failed(aws, gateway)
    assert send(sqs_event({"id": "doc-2", "to": "13800138000", "content": "x"}, first_id=2)) == []
    poll("balance")
    aws.pump()
    # When the account is asked for
    status, body = get("/accounts/cn-main")
    # Then it shows the balance, one pending recipient, no token, and the hour's counts
    assert status == 200
    assert body["vendor"] == "action_v1"
    assert body["balance"]["currency"] == "CNY" and body["balance"]["polled_at"]
    assert (body["pending"], body["pending_exact"]) == (1, True)
    assert body["token"] == {"state": "none"}
    counts = body["last_hour"]
    assert (counts["submitted"], counts["delivered"], counts["failed"]) == (3, 1, 1)


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/messages/no-such-message", {}, 404),
        ("/accounts/no-such-account", {}, 404),
        ("/messages/bad id", {}, 400),
        ("/messages/" + "x" * 129, {}, 400),
        ("/messages/doc-1", {"limit": "0"}, 400),
        ("/messages/doc-1", {"limit": "many"}, 400),
        ("/messages/doc-1", {"cursor": "not-a-cursor"}, 400),
        (
            "/messages/doc-1",
            {"cursor": "eyJxIjoibXNnOmRvYy0xIiwiayI6eyJwayI6Ik1TRyNvdGhlciIsInNrIjoiUkNQVCN4In19"},
            400,
        ),
        ("/recipients/not-a-number/messages", {}, 400),
        ("/recipients/12345/messages", {}, 400),
        ("/recipients/13800138000/messages", {"since": "yesterday"}, 400),
        ("/recipients/13800138000/messages", {"since": "2026-01-01T00:00:00"}, 400),
        (
            "/recipients/13800138000/messages",
            {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            400,
        ),
    ],
)
def test_unknown_ids_are_404_and_bad_input_is_400_with_a_reason(
    aws: AwsEnv, gateway: ActionV1Vendor, path: str, query: dict[str, str], expected: int
) -> None:
    # Given a gateway with one message
    delivered_and_failed(aws, gateway)
    # When asked something unknown or malformed
    status, body = get(path, **query)
    # Then the answer is that 4xx with a short reason, never a 500 or a trace
    assert status == expected
    assert set(body) == {"error"} and 0 < len(body["error"]) < 200 and "Traceback" not in body["error"]


def test_a_cursor_of_one_number_is_refused_for_another(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given a cursor of one number's messages (two messages, one a page)
    delivered_and_failed(aws, gateway)
    assert send(sqs_event({"id": "doc-2", "to": NUMBERS[0], "content": "x"}, first_id=2)) == []
    _, page = get(f"/recipients/{NUMBERS[0]}/messages", limit="1")
    assert page["next_cursor"]
    # When it is used for the other number
    status, body = get(f"/recipients/{NUMBERS[1]}/messages", cursor=page["next_cursor"])
    # Then it is a 400, not a DynamoDB error
    assert status == 400 and "another query" in body["error"]
