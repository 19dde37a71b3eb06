"""paasw_v1 end to end through the real handlers, under moto, against the paasw_v1 simulator
(which enforces document 000): SQS -> send function -> vendor; vendor push (through the real
CallbackFunction) or pull -> records -> stream -> events on the bus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from simulators import PaaswV1Simulator, simulator_for
from tests.support.aws import CALLBACK_TOKEN, AwsEnv, FakeContext, load_event, load_handler
from tests.support.callback_bridge import CallbackBridge
from tests.support.handlers import poll, sqs_event

pytestmark = pytest.mark.integration

ACCOUNT = "cn-paasw"
REPORT_ACK = '{"code":10000,"msg":"操作成功"}'
MO_ACK = '{"code":"10000","msg":"请求成功"}'


def paasw_account(base_url: str, **overrides: Any) -> dict[str, Any]:
    account = {
        "name": ACCOUNT,
        "vendor": "paasw_v1",
        "base_url": base_url,
        "credentials": {"app_id": "0189457543", "secret": "23f757bad208226ec301e117e40006ed"},
        # The simulator reads the same options: multi_kind makes it require `kind`.
        "options": {"multi_kind": True},
        "sign": "圆通快递",
        "callback_token": CALLBACK_TOKEN,
        "timezone": "Asia/Shanghai",
        "balance_low_threshold": 100,
        "default": True,
    }
    account.update(overrides)
    return account


@pytest.fixture
def sim(aws: AwsEnv) -> Iterator[PaaswV1Simulator]:
    simulator = simulator_for(
        paasw_account("http://127.0.0.1:0"), delivery="pull", report_delay=0.05, push_retry_interval=0.05
    )
    assert isinstance(simulator, PaaswV1Simulator)
    aws.put_accounts(paasw_account(simulator.url))
    yield simulator
    simulator.stop()


def send(*bodies: Any, first_id: int = 1) -> list[str]:
    answer = load_handler("send")(sqs_event(*bodies, first_id=first_id), FakeContext())
    return [f["itemIdentifier"] for f in answer["batchItemFailures"]]


def push(kind: str, body: Any = None, token: str = CALLBACK_TOKEN) -> dict[str, Any]:
    """The sample event of this kind, with another body or token when given."""
    event = load_event(f"callback/paasw_v1-push-{kind}.json")
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    event["queryStringParameters"] = {"token": token}
    event["rawQueryString"] = f"token={token}"
    return load_handler("callback")(event, FakeContext())  # type: ignore[no-any-return]


def form_calls(sim: PaaswV1Simulator, path: str) -> list[dict[str, str]]:
    return [r["form"] for r in sim.received if r["path"] == path]


def biz_id_of(aws: AwsEnv, message_id: str, recipient: str) -> str:
    record = aws.record(message_id, recipient)
    assert record is not None
    return str(record["vendor_message_id"])


# ---------------------------------------------------------------------------------------- sending


def test_content_and_template_requests_reach_send_and_send_template(
    aws: AwsEnv, sim: PaaswV1Simulator
) -> None:
    # Given a batch with a notification for two numbers and a verification template for one
    failures = send(
        {
            "id": "n-1",
            "to": ["13800138000", "+8613900139000"],
            "content": "您的快件已签收",
            "tags": {"o": "1"},
        },
        {
            "id": "t-1",
            "to": "13700137000",
            "template": {"id": "1192360392260608", "params": {"code": "482913"}},
            "sign": "【中通快递】",
            "kind": "verification",
        },
    )
    # Then nothing is retried; /sms/send got national numbers, the bare sign, the content
    # with its 【sign】 (000: "包含【XX】签名") and kind 2
    assert failures == []
    (plain,) = form_calls(sim, "/sms/send")
    assert (plain["phoneNumbers"], plain["sign"], plain["content"], plain["kind"]) == (
        "13800138000,13900139000",
        "圆通快递",
        "【圆通快递】您的快件已签收",
        "2",
    )
    # And /sms/sendTemplate got the template id, its paramJson and the request's sign without 【】
    (templated,) = form_calls(sim, "/sms/sendTemplate")
    assert templated["templateId"] == "1192360392260608" and templated["sign"] == "中通快递"
    assert (
        json.loads(templated["paramJson"]) == [{"code": "482913"}]
        and templated["phoneNumbers"] == "13700137000"
    )
    # And both numbers of the first call share its bizId; three SMS Submitted events carry it
    biz = biz_id_of(aws, "n-1", "+8613800138000")
    assert biz_id_of(aws, "n-1", "+8613900139000") == biz and len(biz) == 20
    submitted = aws.events("SMS Submitted")
    assert len(submitted) == 3
    detail = next(e["detail"] for e in submitted if e["detail"]["recipient"] == "+8613800138000")
    assert (detail["vendor"], detail["vendor_message_id"], detail["tags"]) == ("paasw_v1", biz, {"o": "1"})
    assert {m["id"] for m in sim.messages} == {biz, biz_id_of(aws, "t-1", "+8613700137000")}


def test_1001_numbers_are_chunked_within_both_phone_numbers_limits(
    aws: AwsEnv, sim: PaaswV1Simulator
) -> None:
    # 000 L30: phoneNumbers holds at most 1000 numbers AND at most 1500 characters
    numbers = [f"139{n:08d}" for n in range(1001)]
    assert send({"id": "bulk-1", "to": numbers, "content": "大促通知", "kind": "marketing"}) == []
    calls = form_calls(sim, "/sms/send")
    assert all(len(c["phoneNumbers"].split(",")) <= 1000 and len(c["phoneNumbers"]) <= 1500 for c in calls)
    assert sorted(n for c in calls for n in c["phoneNumbers"].split(",")) == numbers
    assert {c["kind"] for c in calls} == {"3"}
    assert len(calls) == 9  # as few as both limits allow: 125 eleven-digit numbers a call
    assert len({m["id"] for m in sim.messages}) == len(calls) and len(sim.messages) == 1001


def test_a_refused_call_fails_its_recipients_once_with_the_vendors_code(
    aws: AwsEnv, sim: PaaswV1Simulator
) -> None:
    sim.set_submit_result("13900139009", "10005")
    assert send({"id": "bad-1", "to": ["13900139009", "13900139010"], "content": "x"}) == []
    failed = aws.events("SMS Submit Failed")
    assert {e["detail"]["recipient"] for e in failed} == {"+8613900139009", "+8613900139010"}
    assert {(e["detail"]["status"], e["detail"]["vendor_status"]) for e in failed} == {("failed", "10005")}
    # (made twice: once more with a fresh token, as for any refusal the document does not list)
    assert sim.calls("/sms/send") == 2


def test_a_5xx_is_retried_and_a_garbled_answer_is_not_resent(aws: AwsEnv, sim: PaaswV1Simulator) -> None:
    # Given a vendor answering 503 once: the message goes back to the queue, then is sent
    sim.inject_fault("5xx", path="/sms/send")
    body = {"id": "r-1", "to": "13800138000", "content": "x"}
    assert send(body) == ["00000000-0000-4000-8000-000000000001"]
    assert send(body) == []
    assert aws.record("r-1", "+8613800138000")["status"] == "submitted"  # type: ignore[index]
    # And given an answer that is not JSON after the request went out: unknown, not resent
    sim.inject_fault("non_json", path="/sms/send")
    assert send({"id": "g-1", "to": "13800138001", "content": "y"}, first_id=5) == []
    assert aws.record("g-1", "+8613800138001")["status"] == "unknown"  # type: ignore[index]
    assert sim.calls("/sms/send") == 3


# ---------------------------------------------------------------------------------------- tokens


def test_a_reset_token_is_renewed_once_and_other_instances_reuse_the_stored_token(
    aws: AwsEnv, sim: PaaswV1Simulator
) -> None:
    # Given a first send, which fetched the token and stored it in the table
    assert send({"id": "tok-1", "to": "13800138000", "content": "x"}) == []
    assert sim.calls("/api/token") == 1
    # When the vendor resets the token and the next message is sent
    sim.expire_tokens()
    assert send({"id": "tok-2", "to": "13800138001", "content": "x"}, first_id=2) == []
    # Then that send got the token error, one new token was fetched, and the resend succeeded
    assert sim.calls("/api/token") == 2 and sim.calls("/sms/send") == 3
    assert aws.record("tok-2", "+8613800138001")["status"] == "submitted"  # type: ignore[index]
    (stored,) = aws.items("ACCOUNT#cn-paasw")
    assert stored["sk"] == "TOKEN" and stored["token"] == sim.tokens.issued[-1]  # type: ignore[union-attr]
    # And a new instance (cold memory) uses the stored token without fetching one
    aws.new_instance()
    assert poll("balance")[ACCOUNT].endswith("CNY")
    assert sim.calls("/api/token") == 2
    assert sim.received[-1]["query"]["token"] == sim.tokens.issued[-1]  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------- pulls


def test_reports_and_mo_by_pull(aws: AwsEnv, sim: PaaswV1Simulator) -> None:
    # Given two submitted numbers, one of them blacklisted, and an MO waiting at the vendor
    sim.set_outcome("13900139001", "blacklisted")
    assert send({"id": "p-1", "to": ["13900139000", "13900139001"], "content": "x"}) == []
    sim.queue_mo("13900139000", "TD")
    assert sim.wait_idle(timeout=5)
    # When the pollers run
    poll("reports")
    poll("inbound")
    # Then the reports are matched by bizId and number, their raw codes kept, their times in UTC
    reports = {e["detail"]["recipient"]: e["detail"] for e in aws.events("SMS Delivery Report")}
    assert {r: (d["status"], d["vendor_status"]) for r, d in reports.items()} == {
        "+8613900139000": ("delivered", "10000"),
        "+8613900139001": ("rejected", "7"),
    }
    assert reports["+8613900139000"]["occurred_at"].endswith("Z")
    # And the MO was pulled with the account's sign and published once
    (inbound,) = aws.events("SMS Inbound")
    assert (inbound["detail"]["sender"], inbound["detail"]["content"]) == ("+8613900139000", "TD")
    assert inbound["detail"]["vendor_message_id"]
    assert next(r for r in sim.received if r["path"] == "/sms/smsUp")["query"]["sign"] == "圆通快递"
    # And a second run finds nothing new
    poll("reports")
    poll("inbound")
    assert len(aws.events("SMS Delivery Report")) == 2 and len(aws.events("SMS Inbound")) == 1


def test_balance_in_yuan_flagged_low(aws: AwsEnv, sim: PaaswV1Simulator) -> None:
    sim.set_balance(88.5)
    poll("balance")
    (balance,) = aws.events("SMS Balance")
    assert (balance["detail"]["amount"], balance["detail"]["currency"]) == (88.5, "CNY")
    assert balance["detail"]["low"] is True and balance["detail"]["raw"]["code"] == "10000"
    assert len(aws.events("SMS Balance Low")) == 1


# ---------------------------------------------------------------------------------------- pushes


def test_reports_and_mo_pushed_by_the_simulator_get_the_documents_acks(
    aws: AwsEnv, sim: PaaswV1Simulator, callbacks: CallbackBridge
) -> None:
    # Given the simulator pushing reports and MO to our callback routes, its reports held back
    # until we move its clock (moto is not thread-safe: no push while the send handler runs)
    sim.configure(
        delivery="push",
        push_report_url=callbacks.url(ACCOUNT, "report"),
        push_mo_url=callbacks.url(ACCOUNT, "mo"),
        report_delay=60,
    )
    sim.set_outcome("13900139001", "undelivered")
    # When two numbers are sent, their reports fall due, and a phone replies
    assert send({"id": "push-1", "to": ["13900139000", "13900139001"], "content": "x"}) == []
    sim.advance_clock(60)
    assert sim.wait_idle(timeout=10)
    sim.queue_mo("13900139000", "好的")
    assert sim.wait_idle(timeout=10)
    # Then the simulator accepted our acks: a number code for reports, a string code for MO
    assert [(p["kind"], p["accepted"]) for p in sim.pushes] == [("report", True), ("mo", True)]
    assert [a[1:] for a in callbacks.answers] == [(200, REPORT_ACK), (200, MO_ACK)]
    # And the records and events follow the pushed codes
    assert aws.record("push-1", "+8613900139000")["status"] == "delivered"  # type: ignore[index]
    assert aws.record("push-1", "+8613900139001")["vendor_status"] == "4"  # type: ignore[index]
    statuses = {e["detail"]["recipient"]: e["detail"]["status"] for e in aws.events("SMS Delivery Report")}
    assert statuses == {"+8613900139000": "delivered", "+8613900139001": "undelivered"}
    (inbound,) = aws.events("SMS Inbound")
    assert inbound["detail"]["content"] == "好的"


def test_duplicate_and_late_pushes_change_nothing(aws: AwsEnv, sim: PaaswV1Simulator) -> None:
    # Given a delivered recipient, from a pushed report of its bizId
    assert send({"id": "dup-1", "to": "13900000001", "content": "x"}) == []
    biz = biz_id_of(aws, "dup-1", "+8613900000001")
    report = json.loads(load_event("callback/paasw_v1-push-report.json")["body"])[0]
    delivered = [{**report, "biz_id": biz}]
    assert push("report", delivered)["body"] == REPORT_ACK
    # When the same report comes again, then a late contradictory one, and an MO twice
    assert push("report", delivered)["body"] == REPORT_ACK
    assert push("report", [{**report, "biz_id": biz, "code": "4", "success": False}])["body"] == REPORT_ACK
    assert push("mo")["body"] == MO_ACK
    assert push("mo")["body"] == MO_ACK
    # Then the record stays delivered; one report event and one inbound event exist
    assert aws.record("dup-1", "+8613900000001")["status"] == "delivered"  # type: ignore[index]
    assert len(aws.events("SMS Delivery Report")) == 1
    assert len(aws.events("SMS Inbound")) == 1


def test_the_sample_events_are_stored_and_acked(aws: AwsEnv, sim: PaaswV1Simulator) -> None:
    # The sample report's bizId was never sent here: it is kept as an orphan, still acked
    report = push("report")
    assert (report["statusCode"], report["body"]) == (200, REPORT_ACK)
    assert [i["sk"] for i in aws.items("VID#cn-paasw#39036632588910887018")] == ["ORPHAN#+8613900000001"]
    mo = push("mo")
    assert (mo["statusCode"], mo["body"]) == (200, MO_ACK)
    (inbound,) = aws.events("SMS Inbound")
    assert inbound["detail"]["sender"] == "+8618612345678"
    assert inbound["detail"]["received_at"] == "2017-08-31T16:00:00.000Z"
    assert inbound["detail"]["vendor_message_id"] == "1234567890"


@pytest.mark.parametrize(
    ("kind", "token", "body", "status"),
    [
        ("report", "wrong-token-0123456789", None, 401),
        ("report", CALLBACK_TOKEN, "[{not json", 400),
        ("report", CALLBACK_TOKEN, '[{"biz_id": "1", "code": "10000"}]', 400),
        ("mo", CALLBACK_TOKEN, '{"unexpected": true}', 400),
    ],
)
def test_bad_pushes_get_a_short_4xx_and_are_kept(
    *, aws: AwsEnv, sim: PaaswV1Simulator, kind: str, token: str, body: str | None, status: int
) -> None:
    answer = push(kind, body, token=token)
    assert answer["statusCode"] == status
    reason = json.loads(answer["body"])["error"]
    assert reason and len(reason) < 200 and "Traceback" not in reason
    if status == 400:
        (kept,) = aws.items("INBOX#cn-paasw")
        assert kept["state"] == "rejected" and kept["body"] == body
