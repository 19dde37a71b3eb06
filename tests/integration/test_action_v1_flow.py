"""action_v1 end to end through the real handlers, under moto, against a stand-in vendor server:
SQS -> send function -> vendor; vendor push or pull -> records -> stream -> events on the bus."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.action_v1_vendor import ActionV1Vendor
from tests.support.aws import CALLBACK_TOKEN, AwsEnv, FakeContext, action_v1_account, load_event, load_handler
from tests.support.handlers import poll, send, sqs_event
from tests.support.vendor_server import Received, Reply, VendorServer

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(aws: AwsEnv, vendor: VendorServer) -> ActionV1Vendor:
    aws.put_accounts(action_v1_account(vendor.url))
    return ActionV1Vendor(vendor)


def push(
    body: Any, account: str = "cn-main", kind: str = "report", token: str = CALLBACK_TOKEN
) -> dict[str, Any]:
    event = load_event("callback/action_v1-push.json")
    path = f"/callbacks/{account}/{kind}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"account": account, "kind": kind}
    event["queryStringParameters"] = {"token": token}
    event["rawQueryString"] = f"token={token}"
    event["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return load_handler("callback")(event, FakeContext())  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------- sending


def test_a_batch_is_grouped_signed_and_split_into_send_and_p2p_calls(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given the sample batch: two requests with the same content and sign, and one p2p request
    event = load_event("send/sqs-batch.json")
    # When the send function handles it
    failures = send(event)
    # Then one send call carries the three numbers of both requests, and one p2p call the two texts
    assert failures == []
    (call,) = gateway.calls_of("send")
    assert call["mobile"].split(",") == ["13800138000", "13900139000", "13700137000"]
    assert call["content"] == "【圆通快递】您的快件已签收，谢谢使用"
    assert call["extno"] == "106900" and call["account"] == "922011" and call["rt"] == "json"
    assert (
        call["password"]
        == hashlib.md5(("s3cret-pass" + "106900" + call["content"] + call["mobile"]).encode()).hexdigest()
    )
    (p2p,) = gateway.calls_of("p2p")
    assert p2p["mobileContentList"].splitlines() == [
        "13600136000#【圆通快递】验证码 482913，5分钟内有效",
        "13500135000#【圆通快递】验证码 120577，5分钟内有效",
    ]
    # And each recipient has a submitted record and one SMS Submitted event carrying its tags
    record = aws.record("order-1001", "+8613800138000")
    assert record is not None and record["status"] == "submitted" and record["vendor_message_id"]
    submitted = aws.events("SMS Submitted")
    assert len(submitted) == 5
    detail = next(e["detail"] for e in submitted if e["detail"]["recipient"] == "+8613900139000")
    assert detail["message_id"] == "order-1001" and detail["tags"] == {"order": "1001"}
    assert detail["account"] == "cn-main" and detail["vendor"] == "action_v1" and detail["final"] is False


def test_large_requests_are_chunked_at_the_vendor_limit(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given one request for 1,001 distinct numbers
    numbers = [f"139{n:08d}" for n in range(1001)]
    # When it is sent
    assert send(sqs_event({"id": "bulk-1", "to": numbers, "content": "大促通知", "kind": "marketing"})) == []
    # Then the vendor got calls of 500, 500 and 1 numbers, each number once
    sizes = [len(c["mobile"].split(",")) for c in gateway.calls_of("send")]
    assert sizes == [500, 500, 1]
    assert sorted(m for c in gateway.calls_of("send") for m in c["mobile"].split(",")) == sorted(numbers)
    assert len(aws.events("SMS Submitted")) == 1001


def test_a_partly_failed_call_fails_exactly_those_recipients(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given the vendor refuses one number of three for lack of balance (RESULT 15)
    gateway.results["13900139000"] = 15
    # When the request is sent
    assert (
        send(
            sqs_event(
                {"id": "m-partial", "to": ["13800138000", "13900139000", "13700137000"], "content": "x"}
            )
        )
        == []
    )
    # Then exactly that recipient gets SMS Submit Failed, with the raw code kept
    (failed,) = aws.events("SMS Submit Failed")
    assert failed["detail"]["recipient"] == "+8613900139000"
    assert (failed["detail"]["status"], failed["detail"]["vendor_status"]) == ("failed", "15")
    assert failed["detail"]["description"] == "余额不足" and failed["detail"]["final"] is True
    assert {e["detail"]["recipient"] for e in aws.events("SMS Submitted")} == {
        "+8613800138000",
        "+8613700137000",
    }


def test_a_redelivered_message_is_not_sent_twice(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given a message that was sent
    event = sqs_event({"id": "once-1", "to": "13800138000", "content": "x"})
    assert send(event) == []
    # When SQS delivers it again, alone and twice within one batch
    again = sqs_event({"id": "once-1", "to": "13800138000", "content": "x"}, first_id=7)
    twice = {"Records": event["Records"] + again["Records"]}
    assert send(event) == []
    assert send(twice) == []
    # Then the vendor saw one call and consumers one event
    assert len(gateway.calls_of("send")) == 1
    assert len(aws.events("SMS Submitted")) == 1


def test_a_transient_vendor_failure_retries_only_what_was_not_sent(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given 600 numbers (two calls) and a vendor whose second answer is HTTP 503
    numbers = [f"138{n:08d}" for n in range(600)]
    event = sqs_event({"id": "retry-1", "to": numbers, "content": "x"})
    original, calls = gateway.answer, {"n": 0}

    def second_call_busy(request: Received) -> Reply:
        calls["n"] += 1
        return Reply(503, "busy", "text/plain") if calls["n"] == 2 else original(request)

    gateway.server.responder = second_call_busy
    # When the batch is handled, the message goes back to the queue
    assert send(event) == [event["Records"][0]["messageId"]]
    assert len(aws.events("SMS Submitted")) == 500
    # And when it is delivered again, only the 100 unsent numbers go to the vendor (again)
    assert send(event) == []
    assert [len(c["mobile"].split(",")) for c in gateway.calls_of("send")] == [500, 100, 100]
    assert len(aws.events("SMS Submitted")) == 600


def test_impossible_requests_fail_once_and_leave_the_queue(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given the sample of broken requests: not JSON, unknown account, blank content, one bad number
    event = load_event("send/sqs-invalid.json")
    # When they are handled (twice, as SQS may)
    assert send(event) == []
    assert send(event) == []
    # Then nothing is retried, each gets one SMS Submit Failed with a reason, once
    failed = {
        (e["detail"]["message_id"], e["detail"]["recipient"]): e["detail"]
        for e in aws.events("SMS Submit Failed")
    }
    assert len(aws.events("SMS Submit Failed")) == len(failed) == 4
    assert (
        failed[("3c1e5b3a-0101-4c8e-9f00-000000000101", None)]["description"]
        == "the message body is not valid JSON"
    )
    assert "unknown account 'nope'" in failed[("bad-account", "+8613800138000")]["description"]
    assert "empty content" in failed[("bad-content", "+8613800138000")]["description"]
    assert failed[("bad-number", "12345")]["vendor_status"] == "invalid_recipient"
    # And the valid number of the last request was still sent
    assert [c["mobile"] for c in gateway.calls_of("send")] == ["13800138001"]


def test_a_batch_near_its_timeout_is_returned_to_the_queue_unsent(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given an invocation with less time left than a vendor call needs
    event = sqs_event({"id": "late-1", "to": "13800138000", "content": "x"})
    # When it is handled, nothing is sent and the message goes back
    assert send(event, remaining_ms=1_000) == [event["Records"][0]["messageId"]]
    assert gateway.calls_of("send") == []
    # And the redelivery sends it at once (the lease was given back)
    assert send(event) == []
    assert len(gateway.calls_of("send")) == 1


def test_recipients_an_interrupted_attempt_may_have_sent_become_unknown(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given an earlier attempt that crashed after marking a recipient inflight, its lease expired
    from sms_gateway.store.facade import Store

    store = Store("sms-gateway-test")
    store.claim_request("crash-1", "cn-main", lease_seconds=-1)
    store.mark_inflight("crash-1", ["+8613800138000"])
    # When the message is delivered again
    assert send(sqs_event({"id": "crash-1", "to": ["13800138000", "13900139000"], "content": "x"})) == []
    # Then the maybe-sent recipient is not sent again but reported unknown; the other is sent
    assert [c["mobile"] for c in gateway.calls_of("send")] == ["13900139000"]
    (unknown,) = aws.events("SMS Submit Failed")
    assert (unknown["detail"]["recipient"], unknown["detail"]["status"]) == ("+8613800138000", "unknown")


def test_a_future_send_at_waits_in_the_queue(
    aws: AwsEnv, gateway: ActionV1Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a message due in ten minutes, for a vendor without native scheduling, on a clock that
    # stands still (no margin of the test depends on how fast this machine is)
    import sms_gateway.sending.service

    now = datetime.now(UTC)
    monkeypatch.setattr(sms_gateway.sending.service, "utcnow", lambda: now)
    due = (now + timedelta(minutes=10)).isoformat()
    event = sqs_event({"to": "13800138000", "content": "x", "send_at": due})
    # When it is handled
    assert send(event) == []
    # Then nothing is sent; it is back on the queue, delayed, keeping its id
    assert gateway.calls_of("send") == []
    attributes = aws.sqs.get_queue_attributes(QueueUrl=aws.send_queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesDelayed"]) == (
        "0",
        "1",
    )
    (requeued,) = [json.loads(body) for body in queued_bodies(aws.send_queue_url)]
    assert requeued["id"] == event["Records"][0]["messageId"] and requeued["send_at"] == due
    # And once due, handling it again sends it
    monkeypatch.setattr(sms_gateway.sending.service, "utcnow", lambda: now + timedelta(minutes=10))
    assert send(sqs_event(requeued)) == []
    assert len(gateway.calls_of("send")) == 1


def queued_bodies(queue_url: str) -> list[str]:
    """The bodies of a queue's messages, delayed ones included (moto's in-process backend: SQS
    itself shows a delayed message to no one until it is due)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_queue(queue_url.rsplit("/", 1)[1])
    return [message.body for message in queue._messages]


# ---------------------------------------------------------------------------------------- pushes


def sent_to_document_numbers(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    assert send(sqs_event({"id": "doc-1", "to": ["18983437010", "18983437011"], "content": "x"})) == []


def test_a_mixed_push_is_acked_ok_and_yields_one_report_and_one_inbound(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given a submitted message, and the vendor's push mixing an MO (flag 0) and its report (flag 1)
    sent_to_document_numbers(aws, gateway)
    body = [
        {
            "flag": 0,
            "mid": "4C36654382720005",
            "spid": "922011",
            "accessCode": "10690",
            "mobile": "18983437010",
            "content": "上行内容",
            "time": "2017-04-12 01:38:21",
        },
        gateway.report_for("18983437011", "DELIVRD", "2026-11-23 12:00:03"),
    ]
    # When it is pushed
    answer = push(body)
    # Then the ack is exactly plain-text OK
    assert (answer["statusCode"], answer["body"]) == (200, "OK")
    assert answer["headers"]["Content-Type"] == "text/plain"
    # And one delivery report and one inbound event are published
    (report,) = aws.events("SMS Delivery Report")
    assert report["detail"]["recipient"] == "+8618983437011" and report["detail"]["status"] == "delivered"
    assert report["detail"]["occurred_at"] == "2026-11-23T04:00:03.000Z" and report["detail"]["final"] is True
    (inbound,) = aws.events("SMS Inbound")
    assert inbound["detail"]["sender"] == "+8618983437010" and inbound["detail"]["content"] == "上行内容"
    assert (
        inbound["detail"]["ext_no"] == "10690"
        and inbound["detail"]["received_at"] == "2017-04-11T17:38:21.000Z"
    )


def test_repeated_and_late_reports_change_nothing(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given a delivered recipient
    sent_to_document_numbers(aws, gateway)
    push([gateway.report_for("18983437011", "DELIVRD")])
    # When the same report is pushed again, and then a late contradictory one
    assert push([gateway.report_for("18983437011", "DELIVRD")])["body"] == "OK"
    assert push([gateway.report_for("18983437011", "MA:0001")])["body"] == "OK"
    # Then the record stays delivered and exactly one report event exists
    assert aws.record("doc-1", "+8618983437011")["status"] == "delivered"  # type: ignore[index]
    assert len(aws.events("SMS Delivery Report")) == 1


def test_a_report_that_overtakes_its_submission_is_applied_once_the_submission_is_recorded(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given a report pushed for a mid we have not recorded yet
    mid = f"{0x4C2CA88382720003:X}"  # the first mid the stand-in will hand out
    early = {"flag": 1, "mid": mid, "mobile": "13800138000", "stat": "DELIVRD", "time": "2026-11-23 12:00:03"}
    assert push([early])["body"] == "OK"
    assert aws.events("SMS Delivery Report") == []
    # When the submission is recorded
    assert send(sqs_event({"id": "race-1", "to": "13800138000", "content": "x"})) == []
    # Then the kept report is applied: delivered, one event, no orphan left
    assert aws.record("race-1", "+8613800138000")["status"] == "delivered"  # type: ignore[index]
    assert len(aws.events("SMS Delivery Report")) == 1
    assert not [i for i in aws.items("VID#") if i["sk"].startswith("ORPHAN#")]


@pytest.mark.parametrize(
    ("account", "kind", "token", "body", "status"),
    [
        ("cn-main", "report", "wrong-token-0123456789", "[]", 401),
        ("cn-main", "report", "", "[]", 401),
        ("nobody", "report", CALLBACK_TOKEN, "[]", 404),
        ("cn-main", "status", CALLBACK_TOKEN, "[]", 404),
        ("cn-main", "report", CALLBACK_TOKEN, "{not json", 400),
        ("cn-main", "mo", CALLBACK_TOKEN, '[{"flag": 9, "mobile": "13800138000"}]', 400),
    ],
)
def test_bad_pushes_get_a_short_4xx(
    *, aws: AwsEnv, gateway: ActionV1Vendor, account: str, kind: str, token: str, body: str, status: int
) -> None:
    answer = push(body, account=account, kind=kind, token=token)
    assert answer["statusCode"] == status
    reason = json.loads(answer["body"])["error"]
    assert reason and len(reason) < 200 and "Traceback" not in reason


def test_a_rejected_push_is_kept_for_inspection(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    assert push("{not json")["statusCode"] == 400
    (kept,) = aws.items("INBOX#cn-main")
    assert kept["state"] == "rejected" and kept["body"] == "{not json" and "JSON" in kept["reason"]


# ---------------------------------------------------------------------------------------- polling


def test_pulled_reports_and_mo_produce_the_same_events(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given submitted messages, and reports and an MO waiting at the vendor
    sent_to_document_numbers(aws, gateway)
    gateway.reports += [
        gateway.report_for("18983437010", "DELIVRD"),
        gateway.report_for("18983437011", "EXPIRED"),
    ]
    gateway.mo.append(
        {
            "flag": 0,
            "mid": "4C36654382720009",
            "spid": "922011",
            "accessCode": "10690",
            "mobile": "18983437010",
            "content": "TD",
            "time": "2026-11-23 12:01:00",
        }
    )
    # When the pollers run
    poll("reports")
    poll("inbound")
    # Then the vendor was asked with a size, and the events are those a push would give
    assert gateway.calls_of("report")[0]["size"] == "1000"
    statuses = {e["detail"]["recipient"]: e["detail"]["status"] for e in aws.events("SMS Delivery Report")}
    assert statuses == {"+8618983437010": "delivered", "+8618983437011": "expired"}
    (inbound,) = aws.events("SMS Inbound")
    assert (
        inbound["detail"]["content"] == "TD" and inbound["detail"]["vendor_message_id"] == "4C36654382720009"
    )
    # And a second run finds nothing new and publishes nothing
    poll("reports")
    poll("inbound")
    assert len(aws.events("SMS Delivery Report")) == 2 and len(aws.events("SMS Inbound")) == 1


def test_balance_is_converted_from_li_to_yuan_and_flagged_low(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    # Given 95,500 厘 on an account whose low threshold is 100 yuan
    gateway.balance_li = 95_500
    # When the balance poller runs
    poll("balance")
    # Then SMS Balance says 95.5 CNY, and SMS Balance Low follows
    (balance,) = aws.events("SMS Balance")
    assert balance["detail"]["amount"] == 95.5 and balance["detail"]["currency"] == "CNY"
    assert balance["detail"]["low"] is True and balance["detail"]["raw"]["chargeType"] == "PRECHARGE"
    assert len(aws.events("SMS Balance Low")) == 1
    assert gateway.calls_of("balance")[0]["password"] == hashlib.md5(b"s3cret-pass").hexdigest()


def test_a_failing_vendor_does_not_stop_the_poller(aws: AwsEnv, gateway: ActionV1Vendor) -> None:
    gateway.fail_next[:] = [503]
    summary = poll("reports")
    assert summary["cn-main"].startswith("error:")


def test_a_pulled_batch_is_kept_before_it_is_applied_and_replayed_if_applying_fails(
    aws: AwsEnv, gateway: ActionV1Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two submitted recipients whose reports the vendor hands out only once
    sent_to_document_numbers(aws, gateway)
    gateway.reports += [
        gateway.report_for("18983437010", "DELIVRD"),
        gateway.report_for("18983437011", "DELIVRD"),
    ]
    # When storage fails after the first report of the pulled batch
    from sms_gateway.store.facade import Store

    original, calls = Store.apply_report, {"n": 0}

    def fail_on_second(self: Store, account: str, report: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("DynamoDB unavailable")
        return original(self, account, report)

    monkeypatch.setattr(Store, "apply_report", fail_on_second)
    assert poll("reports")["cn-main"] == "error: RuntimeError"
    assert gateway.reports == []  # the vendor will not hand them out again
    monkeypatch.setattr(Store, "apply_report", original)
    # Then the next reports poll, once the kept batch is a minute old, applies it all
    import time as clock

    later = clock.time() + 120
    monkeypatch.setattr(clock, "time", lambda: later)
    poll("reports")
    assert {e["detail"]["recipient"] for e in aws.events("SMS Delivery Report")} == {
        "+8618983437010",
        "+8618983437011",
    }


def test_a_report_between_the_lookup_and_the_record_is_kept_not_dropped(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given a submission whose lookup is written but whose record is not yet (the sender is mid-write)
    from botocore.exceptions import ClientError

    from sms_gateway.aws import client
    from sms_gateway.models import RecipientRecord, ReportIn, Status
    from sms_gateway.store.facade import Store

    sender = Store("sms-gateway-test", write_threads=1)
    record = RecipientRecord.submitted(
        message_id="race-2",
        recipient="+8613800138000",
        account="cn-main",
        vendor="action_v1",
        vendor_message_id="MID-1",
        vendor_status="0",
        description="ok",
        tags={},
    )
    sender.recipients.write_lookups([record])

    # And a sender that writes the record (and finds no orphan) just after the report's update failed
    class SenderWritesAfterAFailedUpdate:
        def __init__(self, dynamodb: Any) -> None:
            self._dynamodb = dynamodb

        def __getattr__(self, name: str) -> Any:
            return getattr(self._dynamodb, name)

        def update_item(self, **kwargs: Any) -> Any:
            try:
                return self._dynamodb.update_item(**kwargs)
            except ClientError:
                if not aws.record("race-2", "+8613800138000"):
                    sender.record_submissions([record])
                raise

    store = Store(
        "sms-gateway-test", dynamodb=SenderWritesAfterAFailedUpdate(client("dynamodb")), write_threads=1
    )
    # When the report arrives at that moment
    store.apply_report(
        "cn-main", ReportIn("MID-1", Status.DELIVERED, "DELIVRD", "短信投递成功", recipient="+8613800138000")
    )
    # Then it is applied, not dropped as a duplicate: delivered, one report event
    assert aws.record("race-2", "+8613800138000")["status"] == "delivered"  # type: ignore[index]
    assert [e["detail"]["status"] for e in aws.events("SMS Delivery Report")] == ["delivered"]
