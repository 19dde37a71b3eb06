"""intl_v1 against its simulator (which enforces document 002): the adapter alone for the limits
(fast, no AWS), and end to end through the real handlers under moto: SQS -> send function ->
vendor; status API polling and pushes through the real CallbackFunction -> records -> events."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simulators import IntlV1Simulator, simulator_for
from sms_gateway.accounts import Account
from sms_gateway.errors import SubmitRejected, VendorUnavailable
from sms_gateway.http import VendorHttp
from sms_gateway.models import MessageKind, OutboundItem, PendingRecipient, Status, Submission
from sms_gateway.sending.plan import chunk
from sms_gateway.vendors.intl_v1 import IntlV1Adapter
from tests.support.aws import CALLBACK_TOKEN, AwsEnv, FakeContext, load_event, load_handler
from tests.support.callback_bridge import CallbackBridge
from tests.support.handlers import poll

pytestmark = pytest.mark.integration

ACCOUNT = "intl-main"
SEND, STATUS, BALANCE = (f"/api/v1/international/sms/{p}" for p in ("send", "status", "balance"))
DOC_SECRET_MD5 = "E99A18C428CB38D5F260853678922E03"  # MD5("abc123"), the document's example
NIGERIA, CHINA = "+2348031000010", "+8613800138000"


def intl_account(base_url: str, **overrides: Any) -> dict[str, Any]:
    account = {
        "name": ACCOUNT,
        "vendor": "intl_v1",
        "base_url": base_url,
        "credentials": {"app_key": "10002", "app_secret": "abc123"},
        "options": {"sender_id": "Univasa"},
        "sign": "Univasa",
        "callback_token": CALLBACK_TOKEN,
        "timezone": "Asia/Shanghai",
        "balance_low_threshold": 100,
        "default": True,
    }
    account.update(overrides)
    return account


@pytest.fixture
def sim() -> Iterator[IntlV1Simulator]:
    simulator = simulator_for(intl_account("http://127.0.0.1:0"), report_delay=0.05, push_retry_interval=0.05)
    assert isinstance(simulator, IntlV1Simulator)
    yield simulator
    simulator.stop()


@pytest.fixture
def gateway(aws: AwsEnv, sim: IntlV1Simulator) -> IntlV1Simulator:
    aws.put_accounts(intl_account(sim.url))
    return sim


def adapter_for(sim: IntlV1Simulator, **options: Any) -> IntlV1Adapter:
    account = Account(**intl_account(sim.url, options=options))
    # A generous read timeout: a call of 1,000 numbers on a loaded machine is slow, not lost.
    return IntlV1Adapter(account, VendorHttp(read_timeout=30))


def submission(*numbers: str, **fields: Any) -> Submission:
    items = tuple(OutboundItem(f"m-{n}", n) for n in numbers)
    return Submission(
        call_id="c", items=items, kind=MessageKind.NOTIFICATION, content="code 279275", **fields
    )


def bodies(sim: IntlV1Simulator, path: str) -> list[dict[str, Any]]:
    return [r["json"] for r in sim.received if r["path"] == path]


def sqs_event(*bodies_: dict[str, Any]) -> dict[str, Any]:
    template = load_event("send/sqs-batch.json")["Records"][0]
    records = []
    for index, body in enumerate(bodies_, start=1):
        record = copy.deepcopy(template)
        record["messageId"] = f"00000000-0000-4000-8000-{index:012d}"
        record["body"] = json.dumps(body, ensure_ascii=False)
        records.append(record)
    return {"Records": records}


def send(*bodies_: dict[str, Any]) -> list[str]:
    answer = load_handler("send")(sqs_event(*bodies_), FakeContext())
    return [f["itemIdentifier"] for f in answer["batchItemFailures"]]


def push(body: Any, headers: dict[str, str] | None = None, token: str = CALLBACK_TOKEN) -> dict[str, Any]:
    event = load_event("callback/intl_v1-push-report.json")
    if headers is not None:
        event["headers"] = headers
    event["queryStringParameters"] = {"token": token}
    event["rawQueryString"] = f"token={token}"
    event["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return load_handler("callback")(event, FakeContext())  # type: ignore[no-any-return]


def wait_until(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


# ------------------------------------------------------------------ the adapter against the simulator


def test_a_send_carries_the_auth_headers_international_numbers_sender_id_and_sign(
    sim: IntlV1Simulator,
) -> None:
    # Given a Nigerian and a Chinese recipient, and a request naming its own sender id
    # When one call is submitted
    outcomes = adapter_for(sim).submit(submission(NIGERIA, CHINA, sign="Univasa", sender_id="Acme"))
    # Then the vendor got JSON with the numbers as country code + digits, 【sign】 + text, senderID
    (call,) = [r for r in sim.received if r["path"] == SEND]
    assert call["headers"]["appKey"] == "10002" and call["headers"]["appSecret"] == DOC_SECRET_MD5
    assert call["headers"]["Content-Type"] == "application/json;charset=utf-8"
    assert call["json"] == {
        "mobile": "2348031000010,8613800138000",
        "content": "【Univasa】code 279275",
        "senderID": "Acme",
    }
    # And both recipients share the one msgId, as strings
    (msg_id,) = {m["id"] for m in sim.messages}
    assert [(o.recipient, o.status, o.vendor_message_id) for o in outcomes] == [
        (NIGERIA, Status.SUBMITTED, msg_id),
        (CHINA, Status.SUBMITTED, msg_id),
    ]


def test_the_accounts_sender_id_is_the_default_and_the_sign_can_be_left_out(sim: IntlV1Simulator) -> None:
    adapter_for(sim, sender_id="Univasa", sign_in_content=False).submit(submission(NIGERIA, sign="Univasa"))
    (body,) = bodies(sim, SEND)
    assert body["senderID"] == "Univasa" and body["content"] == "code 279275"
    assert "sendTime" not in body


def test_a_scheduled_send_carries_send_time_in_the_accounts_timezone(sim: IntlV1Simulator) -> None:
    # Given a send_at tomorrow, written with a UTC offset
    send_at = datetime(2031, 5, 6, 1, 2, 3, tzinfo=UTC)
    # When it is submitted
    adapter_for(sim).submit(submission(NIGERIA, send_at=send_at))
    # Then sendTime is yyyyMMddHHmmss China time, and the vendor holds the message until then
    (body,) = bodies(sim, SEND)
    assert body["sendTime"] == "20310506090203"
    (message,) = sim.messages
    assert message["scheduled"] == "20310506090203" and message["due_at"] > time.time() + 86400


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1006, SubmitRejected),  # ContentError
        (1009, SubmitRejected),  # AmountNotEnough
        (1005, VendorUnavailable),  # AccountStop: an operator fixes it; retried, then the DLQ
        (9999, VendorUnavailable),  # other
    ],
)
def test_result_codes_are_permanent_or_retried(sim: IntlV1Simulator, code: int, expected: type) -> None:
    sim.set_submit_result("0010", code)
    with pytest.raises(expected) as caught:
        adapter_for(sim).submit(submission(NIGERIA, CHINA))
    if isinstance(caught.value, SubmitRejected):
        assert caught.value.vendor_status == str(code)
    else:
        assert isinstance(caught.value, VendorUnavailable) and caught.value.ambiguous is False
    # the vendor's message quotes the refused number: it is masked before it is kept or logged
    assert "2348031000010" not in str(caught.value) and "234******0010" in str(caught.value)


def test_wrong_credentials_are_retried_not_failed(sim: IntlV1Simulator) -> None:
    account = Account(**intl_account(sim.url, credentials={"app_key": "10002", "app_secret": "reset"}))
    with pytest.raises(VendorUnavailable, match="1003"):
        IntlV1Adapter(account, VendorHttp(read_timeout=30)).submit(submission(NIGERIA))


def test_a_garbled_send_answer_is_ambiguous_and_a_503_is_not(sim: IntlV1Simulator) -> None:
    sim.inject_fault("non_json", path=SEND)
    with pytest.raises(VendorUnavailable) as garbled:
        adapter_for(sim).submit(submission(NIGERIA))
    sim.inject_fault("5xx", path=SEND)
    with pytest.raises(VendorUnavailable) as busy:
        adapter_for(sim).submit(submission(NIGERIA))
    assert (garbled.value.ambiguous, busy.value.ambiguous) == (True, False)


def test_1001_numbers_become_calls_of_1000_and_1_that_the_vendor_accepts(sim: IntlV1Simulator) -> None:
    # Given one group of 1,001 distinct numbers
    adapter = adapter_for(sim)
    numbers = [f"+23480310{n:05d}" for n in range(1001)]
    # When the send logic chunks it at the declared limit and each chunk is submitted
    chunks = chunk(adapter, [OutboundItem("bulk", n) for n in numbers])
    for part in chunks:
        outcomes = adapter.submit(submission(*(item.recipient for item in part)))
        assert {o.status for o in outcomes} == {Status.SUBMITTED}
    # Then the vendor (which refuses more than 1000) took calls of 1000 and 1 numbers
    assert [len(b["mobile"].split(",")) for b in bodies(sim, SEND)] == [1000, 1]


def test_501_pending_recipients_are_asked_in_calls_of_500_and_1(sim: IntlV1Simulator) -> None:
    # Given 501 recipients of one call, all delivered at the vendor, plus one recipient too old to ask
    adapter = adapter_for(sim)
    numbers = [f"+23480310{n:05d}" for n in range(501)]
    (msg_id,) = {o.vendor_message_id for o in adapter.submit(submission(*numbers))}
    assert sim.wait_idle(5)
    now = datetime.now(UTC)
    rows = [PendingRecipient(f"m-{n}", n, str(msg_id), now.isoformat()) for n in numbers]
    old = PendingRecipient("m-old", CHINA, "230101000000000001", (now - timedelta(days=31)).isoformat())
    # When the reports are pulled
    reports = adapter.pull_reports(lambda limit: [old, *rows][:limit])
    # Then the vendor was asked in two calls of 500 and 1 pairs, never about the old recipient
    asked = [b["data"] for b in bodies(sim, STATUS)]
    assert [len(pairs) for pairs in asked] == [500, 1]
    assert {p["mobile"] for pairs in asked for p in pairs} == {n[1:] for n in numbers}
    # And every recipient has its report: 501 delivered, the old one unknown
    by_recipient = {r.recipient: r for r in reports}
    assert len(reports) == 502
    assert {by_recipient[n].status for n in numbers} == {Status.DELIVERED}
    assert (by_recipient[CHINA].status, by_recipient[CHINA].vendor_status) == (Status.UNKNOWN, "no_report")


def test_a_status_poll_with_the_vendor_down_is_an_error_and_one_with_nothing_known_is_not(
    sim: IntlV1Simulator,
) -> None:
    rows = [PendingRecipient("m-1", NIGERIA, "240924170907169917", datetime.now(UTC).isoformat())]
    # When the vendor knows none of the pairs (1012 NoReportError): nothing, and no error
    assert adapter_for(sim).pull_reports(lambda limit: rows) == []
    # When the vendor is down: an error for the poller to count
    sim.inject_fault("5xx", path=STATUS)
    with pytest.raises(VendorUnavailable):
        adapter_for(sim).pull_reports(lambda limit: rows)


# ------------------------------------------------------------------ end to end under moto


def test_an_international_scheduled_send_is_recorded_and_published(
    aws: AwsEnv, gateway: IntlV1Simulator
) -> None:
    # Given a request to a Nigerian and a Chinese number, due tomorrow, with a sender id
    send_at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    request = {
        "id": "intl-1",
        "to": [NIGERIA, "13800138000"],
        "content": "code 279275",
        "sender_id": "Acme",
        "send_at": send_at.isoformat(),
        "tags": {"order": "7"},
    }
    # When the send function handles it
    assert send(request) == []
    # Then one vendor call carried both numbers, the sender id and the China-time sendTime
    (body,) = bodies(gateway, SEND)
    assert body["mobile"] == "2348031000010,8613800138000"
    assert body["senderID"] == "Acme" and body["content"] == "【Univasa】code 279275"
    assert body["sendTime"] == send_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d%H%M%S")
    # And both recipients are submitted under the one msgId, each with an SMS Submitted event
    (msg_id,) = {m["id"] for m in gateway.messages}
    submitted = {e["detail"]["recipient"]: e["detail"] for e in aws.events("SMS Submitted")}
    assert set(submitted) == {NIGERIA, CHINA}
    assert {d["vendor_message_id"] for d in submitted.values()} == {msg_id}
    assert submitted[NIGERIA]["vendor"] == "intl_v1" and submitted[NIGERIA]["tags"] == {"order": "7"}


def test_a_permanent_refusal_fails_the_recipients_once(aws: AwsEnv, gateway: IntlV1Simulator) -> None:
    gateway.set_submit_result("0010", 1009)
    assert send({"id": "broke-1", "to": NIGERIA, "content": "x"}) == []
    (failed,) = aws.events("SMS Submit Failed")
    assert (failed["detail"]["status"], failed["detail"]["vendor_status"]) == ("failed", "1009")
    assert "AmountNotEnough" in failed["detail"]["description"]


def test_the_reports_poller_asks_only_pending_recipients_and_gives_up_after_30_days(
    aws: AwsEnv, gateway: IntlV1Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a recipient recorded 31 days ago (still pending), then three new ones: delivered,
    # undelivered, and one whose report never comes
    import sms_gateway.store.recipients
    from sms_gateway.clock import utcnow as real_now

    monkeypatch.setattr(sms_gateway.store.recipients, "utcnow", lambda: real_now() - timedelta(days=31))
    assert send({"id": "old-1", "to": "+2348031000099", "content": "x"}) == []
    monkeypatch.setattr(sms_gateway.store.recipients, "utcnow", real_now)
    gateway.set_outcome("0011", "undelivered")
    gateway.set_outcome("0012", "none")
    assert send({"id": "new-1", "to": [NIGERIA, "+2348031000011", "+2348031000012"], "content": "x"}) == []
    assert gateway.wait_idle(5)
    # When the reports poller runs
    summary = poll("reports")
    # Then one status call asked exactly the three new pairs, not the old one
    (asked,) = bodies(gateway, STATUS)
    new_id = next(m["id"] for m in gateway.messages if m["mobile"] == "2348031000010")
    assert sorted((p["msgId"], p["mobile"]) for p in asked["data"]) == [
        (new_id, "2348031000010"),
        (new_id, "2348031000011"),
        (new_id, "2348031000012"),
    ]
    # And the events: delivered, undelivered (errorCode kept), and the old one unknown (final)
    reports = {e["detail"]["recipient"]: e["detail"] for e in aws.events("SMS Delivery Report")}
    assert {r: (d["status"], d["vendor_status"]) for r, d in reports.items()} == {
        NIGERIA: ("delivered", "DELIVRD"),
        "+2348031000011": ("undelivered", "UNDELIV"),
        "+2348031000099": ("unknown", "no_report"),
    }
    assert reports["+2348031000099"]["final"] is True
    assert summary[ACCOUNT] == {"report_updated": 3}
    # And the one without a report yet stays pending: a later run asks for nothing else, changing nothing
    assert aws.record("new-1", "+2348031000012")["status"] == "submitted"  # type: ignore[index]
    poll("reports")
    later = [p["mobile"] for b in bodies(gateway, STATUS)[1:] for p in b["data"]]
    assert set(later) <= {"2348031000012"}
    assert len(aws.events("SMS Delivery Report")) == 3


def test_a_pushed_report_goes_through_the_real_callback_and_is_acked_code_0(
    aws: AwsEnv, gateway: IntlV1Simulator, callbacks: CallbackBridge
) -> None:
    # Given the simulator pushing reports to our callback route
    gateway.configure(push_report_url=callbacks.url(ACCOUNT, "report"))
    gateway.set_outcome("0011", "expired")
    # When a message to two numbers is sent and both reports are pushed, one POST each
    assert send({"id": "push-1", "to": [NIGERIA, "+2348031000011"], "content": "x"}) == []
    assert gateway.wait_idle(10)
    # Then each push was acked exactly {"code":0,"msg":"ok"} and accepted the first time
    assert [(p["attempt"], p["accepted"]) for p in gateway.pushes] == [(1, True), (1, True)]
    assert [a[1:] for a in callbacks.answers] == [(200, '{"code":0,"msg":"ok"}')] * 2
    # And the records moved to their final statuses
    assert aws.record("push-1", NIGERIA)["status"] == "delivered"  # type: ignore[index]
    assert aws.record("push-1", "+2348031000011")["status"] == "expired"  # type: ignore[index]
    assert len(aws.events("SMS Delivery Report")) == 2


def test_a_push_with_a_wrong_app_secret_gets_401_and_its_re_push_is_acked(
    aws: AwsEnv, gateway: IntlV1Simulator, callbacks: CallbackBridge
) -> None:
    # Given the simulator pushing with a wrong appSecret, re-pushing after a second
    gateway.configure(
        push_report_url=callbacks.url(ACCOUNT, "report"),
        push_headers={"appSecret": "0" * 32},
        push_retry_interval=1.0,
    )
    assert send({"id": "auth-1", "to": NIGERIA, "content": "x"}) == []
    # When the first push is refused
    assert wait_until(lambda: len(gateway.pushes) == 1)
    (first,) = gateway.pushes
    assert (first["http_status"], first["accepted"]) == (401, False)
    assert aws.record("auth-1", NIGERIA)["status"] == "submitted"  # type: ignore[index]
    # And the vendor's headers are right again before it pushes the same report once more
    gateway.configure(push_headers={})
    assert gateway.wait_idle(10)
    # Then the re-push is acked code 0 and stored
    assert [(p["attempt"], p["http_status"], p["accepted"]) for p in gateway.pushes] == [
        (1, 401, False),
        (2, 200, True),
    ]
    assert callbacks.answers[1][2] == '{"code":0,"msg":"ok"}'
    assert aws.record("auth-1", NIGERIA)["status"] == "delivered"  # type: ignore[index]


def test_the_sample_event_is_acked_and_its_report_kept_until_its_submission_is_recorded(
    aws: AwsEnv, gateway: IntlV1Simulator
) -> None:
    # Given the sample push event (the document's example) for a msgId we have not seen
    answer = load_handler("callback")(load_event("callback/intl_v1-push-report.json"), FakeContext())
    # Then it is acked and kept as an orphan report of that msgId + number; the raw body is not
    # copied (issue 11.4: this vendor pushes again until acked, the orphan is the copy)
    assert (answer["statusCode"], answer["body"]) == (200, '{"code":0,"msg":"ok"}')
    assert answer["headers"]["Content-Type"] == "application/json"
    assert aws.items(f"INBOX#{ACCOUNT}") == []
    (orphan,) = aws.items(f"VID#{ACCOUNT}#240924170907169917")
    assert (orphan["sk"], orphan["status"], orphan["vendor_status"]) == (
        "ORPHAN#+99121244155",
        "undelivered",
        "16",
    )


def test_duplicate_and_late_pushes_change_nothing(aws: AwsEnv, gateway: IntlV1Simulator) -> None:
    # Given a submitted recipient and its delivered report, pushed
    assert send({"id": "dup-1", "to": NIGERIA, "content": "x"}) == []
    (msg_id,) = {m["id"] for m in gateway.messages}
    report = {
        "desc": "",
        "errorCode": "DELIVRD",
        "mobile": "2348031000010",
        "msgId": msg_id,
        "status": 0,
        "timestamp": "20260101120000",
    }
    assert push(report)["body"] == '{"code":0,"msg":"ok"}'
    # When the same report is pushed again, a late failure follows, and a "no status yet"
    for again in (report, {**report, "status": 2, "errorCode": "UNDELIV"}, {**report, "status": 1}):
        answer = push(again)
        assert (answer["statusCode"], answer["body"]) == (200, '{"code":0,"msg":"ok"}')
    # Then the record stays delivered at the first report's time, with one report event
    record = aws.record("dup-1", NIGERIA)
    assert record is not None and record["status"] == "delivered"
    assert record["status_at"] == "2026-01-01T04:00:00.000Z" and record["vendor_time"] == "20260101120000"
    assert len(aws.events("SMS Delivery Report")) == 1


@pytest.mark.parametrize(
    ("headers", "token", "body", "status"),
    [
        ({"appkey": "10002", "appsecret": DOC_SECRET_MD5}, "wrong-token-0123456789", "{}", 401),
        ({"appkey": "10002", "appsecret": "0" * 32}, CALLBACK_TOKEN, "{}", 401),
        ({"appkey": "99999", "appsecret": DOC_SECRET_MD5}, CALLBACK_TOKEN, "{}", 401),
        ({}, CALLBACK_TOKEN, "{}", 401),
        ({"appkey": "10002", "appsecret": DOC_SECRET_MD5}, CALLBACK_TOKEN, "{not json", 400),
        ({"appkey": "10002", "appsecret": DOC_SECRET_MD5}, CALLBACK_TOKEN, '{"msgId": "1"}', 400),
    ],
)
def test_bad_pushes_get_a_short_4xx_and_unauthorized_ones_are_not_stored(
    *, aws: AwsEnv, gateway: IntlV1Simulator, headers: dict[str, str], token: str, body: str, status: int
) -> None:
    answer = push(body, headers=headers, token=token)
    assert answer["statusCode"] == status
    reason = json.loads(answer["body"])["error"]
    assert reason and len(reason) < 200 and "abc123" not in reason and DOC_SECRET_MD5 not in reason
    kept = aws.items(f"INBOX#{ACCOUNT}")
    assert [k["state"] for k in kept] == (["rejected"] if status == 400 else [])


def test_balance_is_published_with_its_currency(aws: AwsEnv, gateway: IntlV1Simulator) -> None:
    # Given 12.5 US dollars on an account whose low threshold is 100
    gateway.set_balance(12.5, currency_name="美元", currency_code="USD")
    # When the balance poller runs
    summary = poll("balance")
    # Then SMS Balance says 12.5 USD with the vendor's fields, and SMS Balance Low follows
    assert summary == {ACCOUNT: "12.5 USD"}
    (balance,) = aws.events("SMS Balance")
    assert (balance["detail"]["amount"], balance["detail"]["currency"]) == (12.5, "USD")
    assert balance["detail"]["raw"]["currencyName"] == "美元" and balance["detail"]["low"] is True
    assert len(aws.events("SMS Balance Low")) == 1
    (call,) = [r for r in gateway.received if r["path"] == BALANCE]
    assert call["method"] == "GET" and call["headers"]["appSecret"] == DOC_SECRET_MD5


def test_intl_v1_has_no_mo_and_no_templates(aws: AwsEnv, gateway: IntlV1Simulator) -> None:
    # A template request is refused generically, and there is no MO callback or poll
    assert send({"id": "tpl-1", "to": NIGERIA, "template": {"id": "T1", "params": {"code": "1"}}}) == []
    (failed,) = aws.events("SMS Submit Failed")
    assert "does not support templates" in failed["detail"]["description"]
    assert bodies(gateway, SEND) == []
    event = load_event("callback/intl_v1-push-report.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/callbacks/{ACCOUNT}/mo"
    event["pathParameters"] = {"account": ACCOUNT, "kind": "mo"}
    assert load_handler("callback")(event, FakeContext())["statusCode"] == 404
    assert poll("inbound") == {}
