"""paasw_v2 end to end through the real handlers, under moto, against the paasw_v2 simulator (which
enforces document 001): SQS -> send function -> vendor; vendor push or pull -> records -> stream ->
events on the bus."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simulators import PaaswV2Simulator, simulator_for
from tests.support.aws import CALLBACK_TOKEN, AwsEnv, FakeContext, load_event, load_handler
from tests.support.callback_bridge import CallbackBridge
from tests.support.handlers import poll, send, sqs_event

pytestmark = pytest.mark.integration

ACCOUNT = "cn-paasw-v2"
APP_ID, SECRET = "0189457543", "gw7ewiz4eJ5646grg"
ACK = {"code": 0, "message": "请求成功"}


def paasw_v2_account(base_url: str, **options: Any) -> dict[str, Any]:
    return {
        "name": ACCOUNT,
        "vendor": "paasw_v2",
        "base_url": base_url,
        "credentials": {"app_id": APP_ID, "secret": SECRET},
        "options": options,
        "sign": "圆通快递",
        "callback_token": CALLBACK_TOKEN,
        "timezone": "Asia/Shanghai",
        "balance_low_threshold": 100,
        "default": True,
    }


@pytest.fixture
def sim(aws: AwsEnv) -> Iterator[PaaswV2Simulator]:
    simulator = simulator_for(paasw_v2_account("http://127.0.0.1:0"), start=False)
    assert isinstance(simulator, PaaswV2Simulator)
    simulator.start()
    simulator.configure(delivery="pull", report_delay=0.05, push_retry_interval=0.05)
    aws.put_accounts(paasw_v2_account(simulator.url))
    yield simulator
    simulator.stop()


def push(body: Any, kind: str = "report") -> dict[str, Any]:
    event = load_event(f"callback/paasw_v2-push-{kind}.json")
    event["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return load_handler("callback")(event, FakeContext())  # type: ignore[no-any-return]


def calls(sim: PaaswV2Simulator, *paths: str) -> list[dict[str, Any]]:
    return [r for r in sim.received if r["path"] in paths]


def fields(request: dict[str, Any]) -> dict[str, Any]:
    return dict(request["json"] if request["json"] is not None else request["form"])


# ---------------------------------------------------------------------------------------- sending


def test_a_json_send_keeps_the_20_digit_batch_id_from_send_answer_to_pulled_report(
    aws: AwsEnv, sim: PaaswV2Simulator
) -> None:
    # Given two numbers to notify, with an extension, the second of which the carrier will not reach
    sim.set_outcome("15863254125", "undelivered")
    event = sqs_event(
        {"id": "p2-1", "to": ["15053621452", "+8615863254125"], "content": "你的快件已签收", "ext_no": "8888"}
    )
    # When the send function handles it
    assert send(event) == []
    # Then one JSON send call carries both numbers, the 【sign】, productId 2 and the extension
    assert [r["path"] for r in sim.received] == ["/message/token", "/message/send"]
    (call,) = calls(sim, "/message/send")
    sent = fields(call)
    assert sent.pop("token") and sent == {
        "mobile": "15053621452,15863254125",
        "msg": "【圆通快递】你的快件已签收",
        "productId": "2",
        "extNo": "8888",
    }
    # And the batchId, a JSON number beyond 64 bits, is recorded digit for digit
    batch_id = sim.messages[0]["id"]
    assert len(batch_id) == 20 and int(batch_id) > 2**64
    record = aws.record("p2-1", "+8615053621452")
    assert record is not None and (record["status"], record["vendor_message_id"]) == ("submitted", batch_id)
    assert len(aws.events("SMS Submitted")) == 2
    # When the reports are due and the poller pulls them (the vendor writes batchId as a string)
    assert sim.wait_idle(5)
    poll("reports")
    # Then each recipient's report lands on its record, matched by the same batchId
    reports = {e["detail"]["recipient"]: e["detail"] for e in aws.events("SMS Delivery Report")}
    assert reports["+8615053621452"]["status"] == "delivered"
    assert reports["+8615053621452"]["vendor_message_id"] == batch_id
    assert reports["+8615053621452"]["vendor_time"] is not None
    assert (reports["+8615863254125"]["status"], reports["+8615863254125"]["vendor_status"]) == (
        "undelivered",
        "DB:0141",
    )
    assert reports["+8615863254125"]["vendor_message_id"] == batch_id


@pytest.mark.parametrize(
    ("body_format", "token_path", "send_path", "template_path", "balance_path"),
    [
        ("json", "/message/token", "/message/send", "/message/sendTemplate", "/message/balance"),
        ("form", "/message/tokenApi", "/msg/send", "/msg/sendTemplate", "/msg/balance"),
    ],
)
def test_send_template_send_and_balance_in_both_body_formats(
    *,
    aws: AwsEnv,
    sim: PaaswV2Simulator,
    body_format: str,
    token_path: str,
    send_path: str,
    template_path: str,
    balance_path: str,
) -> None:
    # Given an account set to one body format
    aws.put_accounts(paasw_v2_account(sim.url, body_format=body_format))
    # When a text and a template request are sent, and the balance poller runs
    event = sqs_event(
        {"id": f"{body_format}-text", "to": "15053621452", "content": "已签收", "kind": "marketing"},
        {
            "id": f"{body_format}-code",
            "to": "15050198156",
            "template": {"id": "4289538897476608", "params": {"code": "523648", "minute": "2"}},
            "kind": "verification",
        },
    )
    assert send(event) == []
    poll("balance")
    # Then every call went to that format's endpoint, in its content type (the simulator refuses
    # the other one), and the template's params arrived as the object of the document
    assert [r["path"] for r in sim.received] == [token_path, send_path, template_path, balance_path]
    as_form = body_format == "form"
    assert all(bool(r["form"]) == as_form for r in sim.received)
    assert fields(calls(sim, send_path)[0])["productId"] == "3"
    template_call = fields(calls(sim, template_path)[0])
    assert (template_call["templateId"], template_call["productId"]) == ("4289538897476608", "1")
    text, template = sim.messages
    assert text["content"] == "【圆通快递】已签收"
    assert template["template_params"] == {"code": "523648", "minute": "2"}
    assert {e["detail"]["message_id"] for e in aws.events("SMS Submitted")} == {
        f"{body_format}-text",
        f"{body_format}-code",
    }
    (balance,) = aws.events("SMS Balance")
    assert (balance["detail"]["amount"], balance["detail"]["currency"], balance["detail"]["low"]) == (
        532,
        "CNY",
        False,
    )


def test_a_scheduled_send_goes_to_the_vendor_at_once_with_its_local_time(
    aws: AwsEnv, sim: PaaswV2Simulator
) -> None:
    # Given a message due in one hour
    due = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    event = sqs_event({"id": "later-1", "to": "15053621452", "content": "明天见", "send_at": due.isoformat()})
    # When it is handled
    assert send(event) == []
    # Then it is not held in the queue: the vendor got it now, with `time` in China time
    expected = due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    (call,) = calls(sim, "/message/send")
    assert fields(call)["time"] == expected
    assert aws.sqs.receive_message(QueueUrl=aws.send_queue_url).get("Messages") is None
    assert aws.record("later-1", "+8615053621452")["status"] == "submitted"  # type: ignore[index]
    # And its report comes only once the vendor's clock reaches that time
    assert sim.wait_idle(0.3)
    poll("reports")
    assert aws.events("SMS Delivery Report") == []
    sim.advance_clock(3601)
    assert sim.wait_idle(5)
    poll("reports")
    (report,) = aws.events("SMS Delivery Report")
    assert report["detail"]["status"] == "delivered"


def test_one_request_over_the_limit_is_split_into_1000_and_the_rest(
    aws: AwsEnv, sim: PaaswV2Simulator
) -> None:
    # Given one request for 1,001 distinct numbers
    numbers = [f"150{n:08d}" for n in range(1001)]
    # When it is sent
    assert send(sqs_event({"id": "bulk-1", "to": numbers, "content": "大促通知", "kind": "marketing"})) == []
    # Then the vendor got two calls of 1000 and 1 numbers, each number once, one token fetch
    sizes = [len(fields(c)["mobile"].split(",")) for c in calls(sim, "/message/send")]
    assert sizes == [1000, 1]
    assert sorted(m["mobile"] for m in sim.messages) == numbers
    assert sim.calls("/message/token") == 1
    from sms_gateway.store.facade import Store

    records = Store("sms-gateway-test").message("bulk-1")  # one partition: cheaper than a scan
    assert len(records) == 1001 and {r["status"] for r in records} == {"submitted"}
    assert {r["vendor_message_id"] for r in records} == {m["id"] for m in sim.messages}


def test_a_refused_call_fails_its_recipients_with_the_raw_code(aws: AwsEnv, sim: PaaswV2Simulator) -> None:
    # Given the vendor refuses any call that carries a certain number
    sim.set_submit_result("15000000009", 10007)
    # When it is sent with another number
    assert send(sqs_event({"id": "refused-1", "to": ["15000000001", "15000000009"], "content": "x"})) == []
    # Then both recipients get SMS Submit Failed with the vendor's code, and nothing is retried
    failed = aws.events("SMS Submit Failed")
    assert {e["detail"]["recipient"] for e in failed} == {"+8615000000001", "+8615000000009"}
    assert {(e["detail"]["status"], e["detail"]["vendor_status"]) for e in failed} == {("failed", "10007")}
    # And a number the vendor cannot take never reaches it
    assert send(sqs_event({"id": "landline-1", "to": "+861062345678", "content": "x"}, first_id=2)) == []
    # (the refused call was made twice: once more with a fresh token, as for any refusal)
    assert sim.calls("/message/send") == 2
    assert aws.record("landline-1", "+861062345678")["vendor_status"] == "invalid_recipient"  # type: ignore[index]


def test_a_5xx_is_retried_and_a_garbled_answer_is_not_resent(aws: AwsEnv, sim: PaaswV2Simulator) -> None:
    # Given a send answered HTTP 503 once
    sim.inject_fault("5xx", path="/message/send")
    event = sqs_event({"id": "busy-1", "to": "15000000001", "content": "x"})
    # When it is handled twice, as SQS redelivers it
    assert send(event) == [event["Records"][0]["messageId"]]
    assert send(event) == []
    # Then it was sent on the second try only
    assert len(sim.messages) == 1 and sim.calls("/message/send") == 2
    # And a send whose answer is garbled may have left: it is recorded unknown, never sent again
    sim.inject_fault("non_json", path="/message/send")
    garbled = sqs_event({"id": "garbled-1", "to": "15000000002", "content": "x"}, first_id=2)
    assert send(garbled) == []
    assert send(garbled) == []
    assert aws.record("garbled-1", "+8615000000002")["status"] == "unknown"  # type: ignore[index]
    assert sim.calls("/message/send") == 3


# ---------------------------------------------------------------------------------------- tokens


def test_an_expired_token_is_renewed_and_the_call_made_once_more(aws: AwsEnv, sim: PaaswV2Simulator) -> None:
    # Given a token fetched by a first send, and shared through the table
    assert send(sqs_event({"id": "tok-1", "to": "15000000001", "content": "x"})) == []
    (first,) = aws.items("ACCOUNT#cn-paasw-v2")
    assert first["sk"] == "TOKEN" and sim.tokens is not None and first["token"] == sim.tokens.issued[0]
    # When the vendor resets the secret, and the next send goes out with the cached token
    sim.expire_tokens()
    assert send(sqs_event({"id": "tok-2", "to": "15000000002", "content": "x"}, first_id=2)) == []
    # Then the refused send is followed by a new token and the same send, which succeeds
    assert [r["path"] for r in sim.received] == [
        "/message/token",
        "/message/send",
        "/message/send",
        "/message/token",
        "/message/send",
    ]
    assert aws.record("tok-2", "+8615000000002")["status"] == "submitted"  # type: ignore[index]
    assert len(sim.messages) == 2
    # And the table holds the new token, which a cold instance uses without fetching one
    (renewed,) = aws.items("ACCOUNT#cn-paasw-v2")
    assert renewed["token"] == sim.tokens.issued[1]
    aws.new_instance()
    poll("balance")
    assert sim.calls("/message/token") == 2
    assert fields(calls(sim, "/message/balance")[0])["token"] == sim.tokens.issued[1]


# ---------------------------------------------------------------------------------------- reports and MO


def test_pushed_reports_and_mo_are_stored_and_acked(
    aws: AwsEnv, sim: PaaswV2Simulator, callbacks: CallbackBridge
) -> None:
    # Given the simulator pushing reports and MO to our callback routes
    sim.configure(
        delivery="push",
        report_delay=0.5,  # after the send's records are written: moto is not thread-safe
        push_report_url=callbacks.url(ACCOUNT, "report"),
        push_mo_url=callbacks.url(ACCOUNT, "mo"),
    )
    sim.set_outcome("15000000002", "undelivered")
    # When two numbers are sent and their reports pushed, and then a reply is pushed
    assert send(sqs_event({"id": "push-1", "to": ["15000000001", "15000000002"], "content": "x"})) == []
    assert sim.wait_idle(10)
    sim.queue_mo("15000000001", "收到短信了", ext_no="8866")
    assert sim.wait_idle(10)
    # Then every push was accepted at once, with our JSON ack: both reports (in one push, or two
    # when the simulator's scheduler woke between their due times) and then the reply
    pushes = sim.pushes
    assert all(p["accepted"] and p["attempt"] == 1 for p in pushes)
    assert [p["kind"] for p in pushes][-1] == "mo" and {p["kind"] for p in pushes[:-1]} == {"report"}
    assert sum(p["body"]["count"] for p in pushes if p["kind"] == "report") == 2
    assert [(status, json.loads(body)) for _, status, body in callbacks.answers] == [(200, ACK)] * len(pushes)
    # And the reports and the MO became records and events
    statuses = {
        e["detail"]["recipient"]: e["detail"]["vendor_status"] for e in aws.events("SMS Delivery Report")
    }
    assert statuses == {"+8615000000001": "DELIVRD", "+8615000000002": "DB:0141"}
    assert aws.record("push-1", "+8615000000002")["status"] == "undelivered"  # type: ignore[index]
    (inbound,) = aws.events("SMS Inbound")
    assert (inbound["detail"]["sender"], inbound["detail"]["content"], inbound["detail"]["ext_no"]) == (
        "+8615000000001",
        "收到短信了",
        "8866",
    )


def test_pulled_mo_produce_the_same_events(aws: AwsEnv, sim: PaaswV2Simulator) -> None:
    # Given a reply waiting at the vendor
    sim.queue_mo("15000000002", "TD", ext_no="8866")
    assert sim.wait_idle(5)
    # When the inbound poller runs twice
    poll("inbound")
    poll("inbound")
    # Then one SMS Inbound, in UTC with the vendor's local time kept
    (inbound,) = aws.events("SMS Inbound")
    detail = inbound["detail"]
    assert (detail["sender"], detail["content"], detail["ext_no"]) == ("+8615000000002", "TD", "8866")
    local = datetime.strptime(detail["vendor_time"], "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=ZoneInfo("Asia/Shanghai")
    )
    assert detail["received_at"] == local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert sim.calls("/message/mo") == 2


def test_repeated_and_late_pushes_change_nothing(aws: AwsEnv, sim: PaaswV2Simulator) -> None:
    # Given a submitted message and the vendor's report for it
    assert send(sqs_event({"id": "dup-1", "to": "15000000001", "content": "x"})) == []
    batch_id = sim.messages[0]["id"]
    report: dict[str, Any] = {
        "count": 1,
        "data": [
            {
                "mobile": "15000000001",
                "chnRptDate": "2026-11-23 12:00:03",
                "chnRptCode": "DELIVRD",
                "batchId": batch_id,
            }
        ],
    }
    late = copy.deepcopy(report)
    late["data"][0]["chnRptCode"] = "DB:0141"
    mo = {
        "count": 1,
        "data": [
            {"mobile": "15000000001", "extNo": "1", "content": "好", "replyDate": "2026-11-23 12:01:00"}
        ],
    }
    # When the report is pushed twice, then a late contradictory one, and an MO twice
    answers = [push(report), push(report), push(late), push(mo, "mo"), push(mo, "mo")]
    # Then every push is acked the same way
    assert {(a["statusCode"], a["body"]) for a in answers} == {(200, json.dumps(ACK, ensure_ascii=False))}
    # And the record stays delivered at the first report's time, with one event of each kind
    record = aws.record("dup-1", "+8615000000001")
    assert record is not None and (record["status"], record["status_at"]) == (
        "delivered",
        "2026-11-23T04:00:03.000Z",
    )
    assert len(aws.events("SMS Delivery Report")) == 1
    assert len(aws.events("SMS Inbound")) == 1


def test_the_sample_push_events_are_acked_and_kept(aws: AwsEnv, sim: PaaswV2Simulator) -> None:
    # Given the document's own push examples (events/callback/paasw_v2-push-*.json)
    handler = load_handler("callback")
    # When they reach the callback function
    answers = [
        handler(load_event(f"callback/paasw_v2-push-{kind}.json"), FakeContext()) for kind in ("report", "mo")
    ]
    # Then both are acked; the reports, for batches we never sent, wait as orphans by exact batchId
    assert [(a["statusCode"], json.loads(a["body"])) for a in answers] == [(200, ACK), (200, ACK)]
    orphans = {i["pk"] for i in aws.items("VID#") if i["sk"].startswith("ORPHAN#")}
    assert orphans == {"VID#cn-paasw-v2#3903663258891088785", "VID#cn-paasw-v2#39036632588910887018"}
    # And the two identical MO of the example are one inbound message
    (inbound,) = aws.events("SMS Inbound")
    assert inbound["detail"]["received_at"] == "2019-01-01T00:08:08.000Z"


def test_a_malformed_push_gets_a_short_400_and_is_kept(aws: AwsEnv, sim: PaaswV2Simulator) -> None:
    answer = push('{"count": 1, "data": [{"mobile": "15000000001", "batchId": "1"}]}')
    assert answer["statusCode"] == 400
    assert "chnRptCode" in json.loads(answer["body"])["error"]
    (kept,) = aws.items("INBOX#cn-paasw-v2")
    assert kept["state"] == "rejected" and "chnRptCode" in kept["reason"]


# ---------------------------------------------------------------------------------------- balance


def test_a_low_balance_is_flagged(aws: AwsEnv, sim: PaaswV2Simulator) -> None:
    sim.set_balance(95.5)
    poll("balance")
    (balance,) = aws.events("SMS Balance")
    assert (balance["detail"]["amount"], balance["detail"]["low"]) == (95.5, True)
    assert len(aws.events("SMS Balance Low")) == 1


def test_a_failing_vendor_does_not_stop_the_poller(aws: AwsEnv, sim: PaaswV2Simulator) -> None:
    sim.inject_fault("5xx", path="/message/deliver")
    assert poll("reports")[ACCOUNT].startswith("error:")
