"""pwd_v1 end to end through the real handlers, under moto, against the pwd_v1 simulator (which
enforces document 003): SQS -> send function -> simulator; simulator push (through the real
CallbackFunction) or pull -> records -> stream -> events on the bus."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from simulators import simulator_for
from simulators.base import BaseSimulator
from tests.support.aws import CALLBACK_TOKEN, AwsEnv, FakeContext, load_event, load_handler
from tests.support.callback_bridge import CallbackBridge
from tests.support.handlers import poll, send, sqs_event

pytestmark = pytest.mark.integration

ACCOUNT = "cn-pwd"
VENDOR_ACCOUNT, PASSWORD = "acme", "p@ss"
PWD = hashlib.md5(PASSWORD.encode()).hexdigest()
REPORT_DELAY_WHEN_PUSHING = 60.0


def pwd_account(base_url: str, **options: Any) -> dict[str, Any]:
    return {
        "name": ACCOUNT,
        "vendor": "pwd_v1",
        "base_url": base_url,
        "credentials": {"account": VENDOR_ACCOUNT, "password": PASSWORD},
        "options": options,
        "sign": "圆通快递",
        "callback_token": CALLBACK_TOKEN,
        "timezone": "Asia/Shanghai",
        "balance_low_threshold": 100,
        "default": True,
    }


def start_simulator(aws: AwsEnv, **options: Any) -> BaseSimulator:
    simulator = simulator_for(pwd_account("http://127.0.0.1:0"), start=False).start()
    simulator.configure(delivery="pull", report_delay=0.05)
    aws.put_accounts(pwd_account(simulator.url, **options))
    return simulator


@pytest.fixture
def sim(aws: AwsEnv) -> Iterator[BaseSimulator]:
    simulator = start_simulator(aws)
    yield simulator
    simulator.stop()


@pytest.fixture
def pushing(sim: BaseSimulator, callbacks: CallbackBridge) -> BaseSimulator:
    """The simulator before pushing: reports of what is sent wait until reports_fall_due()."""
    sim.configure(report_delay=REPORT_DELAY_WHEN_PUSHING)
    return sim


def push(body: Any, kind: str = "report") -> dict[str, Any]:
    event = load_event(f"callback/pwd_v1-push-{kind}.json")
    event["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return load_handler("callback")(event, FakeContext())  # type: ignore[no-any-return]


def sends(sim: BaseSimulator) -> list[dict[str, str]]:
    return [r["form"] for r in sim.received if r["path"] == "/api/v1/send"]


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The kept pushes' clock, `seconds` from now (kept pushes are replayed once a minute old)."""
    from sms_gateway.store import inbox

    real = time.time
    monkeypatch.setattr(inbox, "time", SimpleNamespace(time=lambda: real() + seconds))


def reports_fall_due(sim: BaseSimulator, callbacks: CallbackBridge) -> None:
    """Switch the simulator to pushing, then let the reports of what was sent fall due and be
    pushed (sends run with a long report delay, so no push races a send's writes in moto)."""
    sim.configure(delivery="push", push_report_url=callbacks.url(ACCOUNT, "report"))
    sim.advance_clock(REPORT_DELAY_WHEN_PUSHING)
    assert sim.wait_idle(5)


def throttled(*args: Any, **kwargs: Any) -> Any:
    raise ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "UpdateItem"
    )


# ---------------------------------------------------------------------------------------- sending


def test_the_sample_batch_becomes_form_posts_with_our_own_task_ids(aws: AwsEnv, sim: BaseSimulator) -> None:
    # Given the sample batch, for this account: two requests sharing a text, and a p2p request
    bodies = [json.loads(r["body"]) for r in load_event("send/sqs-batch.json")["Records"]]
    for body in bodies:
        body.pop("account", None)
    # When the send function handles it
    assert send(sqs_event(*bodies)) == []
    # Then the two requests sharing a text are one form post, with MD5 pwd and the framed sign;
    # the p2p texts (no p2p here) are one post each
    first, *p2p = sends(sim)
    assert first["mobiles"] == "13800138000,13900139000,13700137000"
    assert first["content"] == "【圆通快递】您的快件已签收，谢谢使用"
    assert (first["account"], first["pwd"]) == (VENDOR_ACCOUNT, PWD)
    assert "extNo" not in first
    assert [(c["mobiles"], c["content"]) for c in p2p] == [
        ("13600136000", "【圆通快递】验证码 482913，5分钟内有效"),
        ("13500135000", "【圆通快递】验证码 120577，5分钟内有效"),
    ]
    # And every call carried a task id of ours, which is the vendor id of its recipients
    task_ids = [c["taskId"] for c in sends(sim)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in task_ids) and len(set(task_ids)) == 3
    assert aws.record("order-1002", "+8613700137000")["vendor_message_id"] == task_ids[0]  # type: ignore[index]
    assert aws.record("codes-7", "+8613500135000")["vendor_message_id"] == task_ids[2]  # type: ignore[index]
    submitted = aws.events("SMS Submitted")
    assert len(submitted) == 5 and {e["detail"]["vendor"] for e in submitted} == {"pwd_v1"}


def test_a_lost_answer_makes_the_recipient_unknown_and_is_not_resent(aws: AwsEnv, sim: BaseSimulator) -> None:
    # Given a vendor that accepts the call but answers after our read timeout (2 s). Document 003
    # makes a unique taskId our obligation (L44); it never says the vendor refuses a reused one,
    # so a resend may well be sent again (the simulator's default reading, send_again)
    sim.inject_fault("timeout", path="/api/v1/send", seconds=2.5)
    event = sqs_event({"id": "lost-1", "to": "13512349831", "content": "x"})
    # When the message is sent, and SQS delivers it once more all the same
    assert send(event) == []
    assert send(event) == []
    # Then the recipient is unknown, published once as such, and the vendor got one call only
    record = aws.record("lost-1", "+8613512349831")
    assert record is not None and record["status"] == "unknown"
    (failed,) = aws.events("SMS Submit Failed")
    assert failed["detail"]["status"] == "unknown"
    assert len(sends(sim)) == 1
    assert wait_until(lambda: len(sim.messages) == 1)
    assert aws.events("SMS Submitted") == []


def test_recipients_an_interrupted_attempt_may_have_sent_become_unknown(
    aws: AwsEnv, sim: BaseSimulator
) -> None:
    # Given an earlier attempt that crashed after marking a recipient inflight, its lease expired.
    # Document 003 never says the vendor recognises a resubmitted taskId (L44), so that recipient
    # may have been sent already
    from sms_gateway.store.facade import Store

    store = Store("sms-gateway-test")
    store.claim_request("crash-1", ACCOUNT, lease_seconds=-1)
    store.mark_inflight("crash-1", ["+8613800138000"])
    # When the message is delivered again
    assert send(sqs_event({"id": "crash-1", "to": ["13800138000", "13900139000"], "content": "x"})) == []
    # Then the maybe-sent recipient is not sent again but reported unknown; the other is sent
    assert [c["mobiles"] for c in sends(sim)] == ["13900139000"]
    (unknown,) = aws.events("SMS Submit Failed")
    assert (unknown["detail"]["recipient"], unknown["detail"]["status"]) == ("+8613800138000", "unknown")
    assert len(aws.events("SMS Submitted")) == 1


def test_a_template_request_fails_without_a_vendor_call(aws: AwsEnv, sim: BaseSimulator) -> None:
    assert send(sqs_event({"id": "tpl-1", "to": "13800138000", "template": {"id": "T1"}})) == []
    (failed,) = aws.events("SMS Submit Failed")
    assert failed["detail"]["vendor_status"] == "invalid_request"
    assert "does not support templates" in failed["detail"]["description"]
    assert sends(sim) == []


def test_an_ext_no_must_be_a_positive_integer(aws: AwsEnv, sim: BaseSimulator) -> None:
    # Given one request with a digit extension and one with letters in it
    event = sqs_event(
        {"id": "ext-ok", "to": "13800138000", "content": "x", "ext_no": "12"},
        {"id": "ext-bad", "to": "13900139000", "content": "x", "ext_no": "12a"},
    )
    # When they are sent
    assert send(event) == []
    # Then the digits reach the vendor as extNo, and the other is refused before any call
    assert [(c["mobiles"], c["extNo"]) for c in sends(sim)] == [("13800138000", "12")]
    (failed,) = aws.events("SMS Submit Failed")
    assert (failed["detail"]["message_id"], failed["detail"]["vendor_status"]) == (
        "ext-bad",
        "invalid_ext_no",
    )


# ---------------------------------------------------------------------------------------- pulls


def test_pulled_masked_reports_update_their_recipients_once(aws: AwsEnv, sim: BaseSimulator) -> None:
    # Given two submitted recipients, one blacklisted, whose reports wait at the vendor
    sim.set_outcome("13600000014", "blacklisted")
    assert send(sqs_event({"id": "pull-1", "to": ["13512349831", "13600000014"], "content": "x"})) == []
    assert sim.wait_idle(5)
    # When the reports poller runs (the vendor shows 135****9831 and 136****0014)
    poll("reports")
    # Then each masked report found its recipient through the task id and the visible digits
    reports = {e["detail"]["recipient"]: e["detail"] for e in aws.events("SMS Delivery Report")}
    assert {r: (d["status"], d["vendor_status"]) for r, d in reports.items()} == {
        "+8613512349831": ("delivered", "DELIVER"),
        "+8613600000014": ("rejected", "MBBLACK"),
    }
    detail = reports["+8613512349831"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", detail["vendor_time"])
    assert detail["occurred_at"].endswith("Z") and detail["final"] is True
    # And a second run finds nothing new and publishes nothing
    poll("reports")
    assert len(aws.events("SMS Delivery Report")) == 2


def test_recipients_sharing_visible_digits_are_sent_as_separate_tasks(
    aws: AwsEnv, sim: BaseSimulator
) -> None:
    # Given two numbers the vendor's pulls would both show as 135****9831
    sim.set_outcome("13599999831", "undelivered")
    assert send(sqs_event({"id": "twins-1", "to": ["13512349831", "13599999831"], "content": "x"})) == []
    # Then they went in two tasks, so each pulled report names exactly one of them
    assert [c["mobiles"] for c in sends(sim)] == ["13512349831", "13599999831"]
    assert sim.wait_idle(5)
    poll("reports")
    assert aws.record("twins-1", "+8613512349831")["status"] == "delivered"  # type: ignore[index]
    assert aws.record("twins-1", "+8613599999831")["status"] == "undelivered"  # type: ignore[index]


def test_a_masked_report_that_fits_two_recipients_of_one_task_is_kept_as_ambiguous(aws: AwsEnv) -> None:
    # Given an account that does not split colliding masks, and one task with two numbers shown
    # as 135****9831 plus one shown as 136****0014
    sim = start_simulator(aws, split_mask_collisions=False)
    try:
        sim.set_outcome("13599999831", "undelivered")
        to = ["13512349831", "13599999831", "13600000014"]
        assert send(sqs_event({"id": "amb-1", "to": to, "content": "x"})) == []
        (call,) = sends(sim)
        assert sim.wait_idle(5)
        # When the reports are pulled
        poll("reports")
    finally:
        sim.stop()
    # Then the unique mask is applied, and the other two are not guessed: they stay submitted
    assert aws.record("amb-1", "+8613600000014")["status"] == "delivered"  # type: ignore[index]
    assert aws.record("amb-1", "+8613512349831")["status"] == "submitted"  # type: ignore[index]
    assert aws.record("amb-1", "+8613599999831")["status"] == "submitted"  # type: ignore[index]
    (report,) = aws.events("SMS Delivery Report")
    assert report["detail"]["recipient"] == "+8613600000014"
    # And both reports are kept against the task, for a person to resolve
    kept = [i for i in aws.items(f"VID#{ACCOUNT}#{call['taskId']}") if i["sk"].startswith("AMBIGUOUS#")]
    assert sorted(i["vendor_status"] for i in kept) == ["DELIVER", "UNDELIV"]
    assert {(i["recipient_mask"], i["candidates"]) for i in kept} == {("135****9831", 2)}


def test_mo_is_pulled_masked_and_pushed_in_full(
    aws: AwsEnv, sim: BaseSimulator, callbacks: CallbackBridge
) -> None:
    # Given an MO waiting at the vendor for a pull
    sim.queue_mo("13912341234", "端午节快乐", ext_no="10")
    assert sim.wait_idle(5)
    # When the inbound poller runs
    poll("inbound")
    # Then SMS Inbound has the masked sender only, and the extension
    (pulled,) = aws.events("SMS Inbound")
    assert (pulled["detail"]["sender"], pulled["detail"]["sender_mask"]) == (None, "139****1234")
    assert (pulled["detail"]["content"], pulled["detail"]["ext_no"]) == ("端午节快乐", "10")
    # And when the vendor pushes the next MO instead, it is acked 200 and the sender is in full
    sim.configure(delivery="push", push_mo_url=callbacks.url(ACCOUNT, "mo"))
    sim.queue_mo("13812341234", "TD", ext_no="10")
    assert sim.wait_idle(5)
    assert [(p["kind"], p["http_status"], p["accepted"]) for p in sim.pushes] == [("mo", 200, True)]
    pushed = aws.events("SMS Inbound")[1]
    assert (pushed["detail"]["sender"], pushed["detail"]["content"]) == ("+8613812341234", "TD")


# ---------------------------------------------------------------------------------------- pushes


def test_pushed_reports_are_stored_then_acked_200(
    aws: AwsEnv, pushing: BaseSimulator, callbacks: CallbackBridge
) -> None:
    # Given the simulator pushing reports (full numbers, DELIVRD) to our callback route
    pushing.set_outcome("13600000014", "expired")
    # When a message is sent and its reports are pushed, once each
    assert send(sqs_event({"id": "push-1", "to": ["13512349831", "13600000014"], "content": "x"})) == []
    reports_fall_due(pushing, callbacks)
    # Then the vendor saw HTTP 200 for both, each push is kept applied, and the records moved
    assert [(p["http_status"], p["accepted"]) for p in pushing.pushes] == [(200, True), (200, True)]
    assert {i["state"] for i in aws.items(f"INBOX#{ACCOUNT}")} == {"applied"}
    statuses = {
        e["detail"]["recipient"]: e["detail"]["vendor_status"] for e in aws.events("SMS Delivery Report")
    }
    assert statuses == {"+8613512349831": "DELIVRD", "+8613600000014": "EXPIRED"}
    assert aws.record("push-1", "+8613600000014")["status"] == "expired"  # type: ignore[index]


def test_a_push_whose_apply_fails_is_still_acked_and_applied_by_the_next_reports_poll(
    aws: AwsEnv, pushing: BaseSimulator, callbacks: CallbackBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a submitted recipient, and a table that refuses report updates for a moment
    from sms_gateway.store.facade import Store

    assert send(sqs_event({"id": "once-1", "to": "13512349831", "content": "x"})) == []
    with monkeypatch.context() as patched:
        patched.setattr(Store, "apply_report", throttled)
        # When the vendor pushes the report, the one time it ever will
        reports_fall_due(pushing, callbacks)
    # Then it was acked 200 all the same: its raw body was stored first
    assert [(p["http_status"], p["accepted"]) for p in pushing.pushes] == [(200, True)]
    (kept,) = aws.items(f"INBOX#{ACCOUNT}")
    assert kept["state"] == "received" and json.loads(kept["body"])["status"] == "DELIVRD"
    assert aws.record("once-1", "+8613512349831")["status"] == "submitted"  # type: ignore[index]
    # And the next reports poll, a minute or more later, applies it
    later(monkeypatch, 120)
    summary = poll("reports")
    assert summary[ACCOUNT]["replayed"] == 1
    assert aws.record("once-1", "+8613512349831")["status"] == "delivered"  # type: ignore[index]
    assert [i["state"] for i in aws.items(f"INBOX#{ACCOUNT}")] == ["applied"]
    assert len(aws.events("SMS Delivery Report")) == 1
    # And once applied it is not replayed again
    assert "replayed" not in poll("reports")[ACCOUNT]


def test_a_push_that_cannot_be_stored_is_not_acked(
    aws: AwsEnv, pushing: BaseSimulator, callbacks: CallbackBridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a table that cannot take the raw push
    from sms_gateway.store.facade import Store

    assert send(sqs_event({"id": "nostore-1", "to": "13512349831", "content": "x"})) == []
    monkeypatch.setattr(Store, "inbox_put", throttled)
    # When the vendor pushes a report
    reports_fall_due(pushing, callbacks)
    # Then the answer is not 200: nothing was acked that was not stored
    assert [(p["http_status"], p["accepted"]) for p in pushing.pushes] == [(503, False)]


def test_duplicate_and_late_pushes_change_nothing(aws: AwsEnv, sim: BaseSimulator) -> None:
    # Given a recipient whose report is pushed, and pushed again, then a late contradictory one
    assert send(sqs_event({"id": "dup-1", "to": "13512349831", "content": "x"})) == []
    task_id = sends(sim)[0]["taskId"]
    report = {"sendId": task_id, "mobile": "13512349831", "times": "2026-11-23 12:00:03", "status": "DELIVRD"}
    answers = [push(report), push(report), push({**report, "status": "UNDELIV"})]
    mo = json.loads(load_event("callback/pwd_v1-push-mo.json")["body"])
    answers += [push(mo, "mo"), push(mo, "mo")]
    # Then every push is acked 200, the record stays delivered, one report and one MO event exist
    assert {a["statusCode"] for a in answers} == {200}
    record = aws.record("dup-1", "+8613512349831")
    assert record is not None and (record["status"], record["vendor_time"]) == (
        "delivered",
        "2026-11-23 12:00:03",
    )
    (event,) = aws.events("SMS Delivery Report")
    assert event["detail"]["occurred_at"] == "2026-11-23T04:00:03.000Z"
    assert len(aws.events("SMS Inbound")) == 1


def test_the_sample_push_events_are_stored_and_acked(aws: AwsEnv, sim: BaseSimulator) -> None:
    # When the sample events are handled as they are
    report = load_handler("callback")(load_event("callback/pwd_v1-push-report.json"), FakeContext())
    mo = load_handler("callback")(load_event("callback/pwd_v1-push-mo.json"), FakeContext())
    # Then both are acked 200 with the vendor's success shape
    for answer in (report, mo):
        assert answer["statusCode"] == 200 and json.loads(answer["body"])["code"] == "00"
    # And the report, for a task we never sent, is kept as an orphan; the MO is published
    (orphan,) = [i for i in aws.items("VID#") if i["sk"].startswith("ORPHAN#")]
    assert orphan["pk"] == f"VID#{ACCOUNT}#b681adb3-fc1a-422d-80dd-b95cec7be769"
    (inbound,) = aws.events("SMS Inbound")
    assert inbound["detail"]["sender"] == "+8613912341234" and inbound["detail"]["ext_no"] == "10"
    assert inbound["detail"]["received_at"] == "2019-04-12T09:57:08.000Z"


@pytest.mark.parametrize(
    ("body", "reason"),
    [("{not json", "not valid JSON"), ('{"sendId": "t", "mobile": "13512349831"}', "status")],
)
def test_a_malformed_push_gets_a_short_400_and_is_kept(
    aws: AwsEnv, sim: BaseSimulator, body: str, reason: str
) -> None:
    answer = push(body)
    assert answer["statusCode"] == 400 and reason in json.loads(answer["body"])["error"]
    (kept,) = aws.items(f"INBOX#{ACCOUNT}")
    assert kept["state"] == "rejected" and kept["body"] == body


# ---------------------------------------------------------------------------------------- balance


def test_balance_is_read_in_yuan_and_flagged_low(aws: AwsEnv, sim: BaseSimulator) -> None:
    # Given 95 on a post-paid account whose low threshold is 100
    sim.set_balance(95, payment=1, payment_name="后付")
    # When the balance poller runs
    poll("balance")
    # Then SMS Balance says 95 CNY with the payment mode kept raw, and SMS Balance Low follows
    (balance,) = aws.events("SMS Balance")
    assert (balance["detail"]["amount"], balance["detail"]["currency"]) == (95, "CNY")
    assert balance["detail"]["raw"] == {"balance": 95, "payment": 1, "paymentName": "后付"}
    assert balance["detail"]["low"] is True and len(aws.events("SMS Balance Low")) == 1
    (call,) = [r["form"] for r in sim.received if r["path"] == "/api/v1/queryBalance"]
    assert call == {"account": VENDOR_ACCOUNT, "pwd": PWD}
