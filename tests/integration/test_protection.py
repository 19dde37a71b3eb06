"""Issue 14 through the real handlers (action_v1, moto, DynamoDB Local where it runs): per-number
limits, caps and destinations, opt-out from replies, segments and cost, cancel."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sms_gateway.models import MessageKind, OutboundItem, SendRequest
from sms_gateway.protection.screen import Screen
from sms_gateway.sending.plan import Work
from sms_gateway.store.facade import Store
from tests.support.action_v1_vendor import ActionV1Vendor
from tests.support.aws import CALLBACK_TOKEN, AwsEnv, FakeContext, action_v1_account, load_event, load_handler
from tests.support.handlers import send, sqs_event
from tests.support.send_fakes import FakeAdapter
from tests.support.vendor_server import VendorServer

pytestmark = pytest.mark.integration

NUMBER, OTHER = "13800138000", "13900139000"
E164 = "+8613800138000"


def gateway(aws: AwsEnv, vendor: VendorServer, **protection: Any) -> ActionV1Vendor:
    aws.put_accounts(action_v1_account(vendor.url, protection=protection))
    return ActionV1Vendor(vendor)


def request(message_id: str, kind: str = "verification", to: Any = NUMBER, **extra: Any) -> dict[str, Any]:
    return {"id": message_id, "to": to, "content": "您的验证码是 123456", "kind": kind, **extra}


def refusals(aws: AwsEnv) -> list[tuple[str, str, bool]]:
    return [
        (e["detail"]["recipient"], e["detail"]["vendor_status"], e["detail"]["final"])
        for e in aws.events("SMS Submit Failed")
    ]


def reply(text: str, number: str = NUMBER) -> dict[str, Any]:
    """An MO pushed by action_v1 (document: flag 0), through the real CallbackFunction."""
    event = load_event("callback/action_v1-push.json")
    path = "/callbacks/cn-main/mo"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"account": "cn-main", "kind": "mo"}
    event["queryStringParameters"] = {"token": CALLBACK_TOKEN}
    event["rawQueryString"] = f"token={CALLBACK_TOKEN}"
    body = [
        {
            "flag": 0,
            "mid": f"MO{abs(hash((text, number, time.monotonic_ns()))):X}",
            "spid": "922011",
            "accessCode": "10690",
            "mobile": number,
            "content": text,
            "time": "2026-11-23 12:00:00",
        }
    ]
    event["body"] = json.dumps(body, ensure_ascii=False)
    return load_handler("callback")(event, FakeContext())  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------ per-number limits


def test_the_sixth_verification_code_within_an_hour_is_refused_and_never_sent(
    aws: AwsEnv, vendor: VendorServer
) -> None:
    # Given an account allowing 5 verification codes an hour per number (no minute limit)
    sms = gateway(aws, vendor, limits={"verification": {"hour": 5, "day": 10}})
    # When six codes are sent to one number, one request after another
    for n in range(6):
        assert send(sqs_event(request(f"otp-{n}"), first_id=n + 1)) == []
    # Then five reach the vendor and the sixth is refused for good, rate_limited
    assert len(sms.calls_of("send")) == 5
    assert len(aws.events("SMS Submitted")) == 5
    assert refusals(aws) == [(E164, "rate_limited", True)]
    record = aws.record("otp-5", E164)
    assert record is not None and (record["status"], record["vendor_status"]) == ("failed", "rate_limited")


def test_by_default_a_second_code_within_a_minute_is_refused_but_another_kind_is_not(
    aws: AwsEnv, vendor: VendorServer
) -> None:
    # Given an account without protection settings (the defaults: 1 verification code a minute)
    sms = gateway(aws, vendor)
    # When two codes and a notification go to one number in one batch
    batch = sqs_event(request("otp-a"), request("otp-b"), request("note-a", kind="notification"))
    assert send(batch) == []
    # Then the second code is refused; the first and the notification are sent
    assert refusals(aws) == [(E164, "rate_limited", True)]
    assert {e["detail"]["message_id"] for e in aws.events("SMS Submitted")} == {"otp-a", "note-a"}
    assert len(sms.calls_of("send")) == 2


def test_a_code_whose_call_was_not_sent_does_not_consume_the_quota(aws: AwsEnv, vendor: VendorServer) -> None:
    # Given one verification code an hour per number, and a vendor that is unavailable once (503)
    sms = gateway(aws, vendor, limits={"verification": {"hour": 1}})
    sms.fail_next.append(503)
    first = sqs_event(request("otp-1"))
    # When a code is handled, it goes back to the queue unsent
    assert send(first) == [first["Records"][0]["messageId"]]
    # Then another code to the number is sent meanwhile: the unsent one did not use the hour's one
    assert send(sqs_event(request("otp-2"), first_id=2)) == []
    assert [e["detail"]["message_id"] for e in aws.events("SMS Submitted")] == ["otp-2"]
    # And the first one, delivered again, is now the second of the hour: refused, not sent
    assert send(first) == []
    assert refusals(aws) == [(E164, "rate_limited", True)]
    assert len(sms.calls_of("send")) == 2  # the 503 and otp-2


def test_a_code_handed_back_for_lack_of_time_does_not_consume_the_quota(
    aws: AwsEnv, vendor: VendorServer
) -> None:
    # Given one verification code an hour per number
    sms = gateway(aws, vendor, limits={"verification": {"hour": 1}})
    first = sqs_event(request("otp-1"))
    # When a code is handled too close to the function's timeout for a vendor call
    assert send(first, remaining_ms=1_000) == [first["Records"][0]["messageId"]]
    # Then another code to the number is sent: the handed-back one holds no place
    assert send(sqs_event(request("otp-2"), first_id=2)) == []
    assert [e["detail"]["message_id"] for e in aws.events("SMS Submitted")] == ["otp-2"]
    assert len(sms.calls_of("send")) == 1


def test_two_concurrent_invocations_never_exceed_the_limit_together(aws: AwsEnv) -> None:
    # Given a limit of 5 an hour, and two instances of the send path, each screening 5 codes to one
    # number at the same moment (threads started together on a barrier, then joined)
    from sms_gateway.accounts import Account
    from tests.support.aws import action_v1_account as make

    account = Account.model_validate(
        make("http://127.0.0.1:9", protection={"limits": {"verification": {"hour": 5, "minute": 100}}})
    )
    table = Store(aws_table_name()).table
    adapter = FakeAdapter(account)
    barrier = threading.Barrier(2)
    kept: list[int] = []
    lock = threading.Lock()

    def instance(name: str) -> None:
        screen = Screen(table)
        barrier.wait(timeout=60)
        for n in range(5):
            work = Work(
                sqs_id=f"{name}-{n}",
                message_id=f"{name}-{n}",
                request=SendRequest(to=[NUMBER], content="code", kind=MessageKind.VERIFICATION),
                account=account,
                adapter=adapter,
                items=(OutboundItem(f"{name}-{n}", E164),),
            )
            screened, _ = screen.screen(work)
            with lock:
                kept.append(len(screened.items))

    threads = [threading.Thread(target=instance, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # Then exactly five of the ten pass, whoever won each race
    assert not any(t.is_alive() for t in threads)
    assert (len(kept), sum(kept)) == (10, 5)


def aws_table_name() -> str:
    from tests.support.aws import TABLE

    return TABLE


# ------------------------------------------------------------------------------ caps, destinations


def test_over_the_daily_cap_and_outside_the_countries_recipients_are_refused(
    aws: AwsEnv, vendor: VendorServer
) -> None:
    # Given an account capped at 2 recipients a day
    sms = gateway(aws, vendor, daily_cap=2)
    # When a notification goes to three numbers
    numbers = [NUMBER, OTHER, "13700137000"]
    assert send(sqs_event(request("cap-1", kind="notification", to=numbers))) == []
    # Then two are sent and the third is refused, cap_reached
    assert len(aws.events("SMS Submitted")) == 2
    assert [(code, final) for _, code, final in refusals(aws)] == [("cap_reached", True)]
    assert sum(len(c["mobile"].split(",")) for c in sms.calls_of("send")) == 2


def test_a_destination_outside_the_allowed_countries_is_refused(aws: AwsEnv, vendor: VendorServer) -> None:
    # Given an account allowed to send to Hong Kong only
    sms = gateway(aws, vendor, allowed_countries=["HK"])
    # When a notification goes to a mainland number
    assert send(sqs_event(request("geo-1", kind="notification"))) == []
    # Then it is refused, country_blocked, and nothing is sent
    assert refusals(aws) == [(E164, "country_blocked", True)]
    assert sms.calls_of("send") == []


# ------------------------------------------------------------------------------ opt-out


def test_a_stop_reply_blocks_marketing_but_not_codes_and_an_opt_in_lifts_it(
    aws: AwsEnv, vendor: VendorServer
) -> None:
    sms = gateway(aws, vendor, limits={"verification": {"minute": 10}}, opt_out={"hint": "回T退订"})
    # Given an account with an opt-out hint, and the number replied 退订
    assert reply("退订")["statusCode"] == 200
    (opt_out,) = aws.events("SMS Opt Out")
    assert (opt_out["detail"]["recipient"], opt_out["detail"]["keyword"]) == (E164, "退订")
    # When a marketing message and a verification code go to it
    assert send(sqs_event(request("mkt-1", kind="marketing"), request("otp-1"))) == []
    # Then the marketing message is refused, opted_out, and the code is sent
    assert refusals(aws) == [(E164, "opted_out", True)]
    assert [e["detail"]["message_id"] for e in aws.events("SMS Submitted")] == ["otp-1"]
    # When the number replies ＳＴＡＲＴ (full width) and marketing is sent again
    assert reply("ＳＴＡＲＴ")["statusCode"] == 200
    assert [e["detail"]["recipient"] for e in aws.events("SMS Opt In")] == [E164]
    assert send(sqs_event(request("mkt-2", kind="marketing"), first_id=5)) == []
    # Then it is sent, with the account's opt-out hint appended
    assert {e["detail"]["message_id"] for e in aws.events("SMS Submitted")} == {"otp-1", "mkt-2"}
    assert sms.calls_of("send")[-1]["content"].endswith("回T退订")


def test_with_lists_per_sign_a_reply_stops_only_the_sign_its_ext_no_names(
    aws: AwsEnv, vendor: VendorServer
) -> None:
    # Given an account keeping a list per sign, its access number 10690 being 圆通快递's
    gateway(aws, vendor, opt_out={"per_sign": True, "ext_no_signs": {"10690": "圆通快递"}})
    # When the number replies TD to that access number
    reply("TD")
    (opt_out,) = aws.events("SMS Opt Out")
    assert opt_out["detail"]["sign"] == "圆通快递"
    # Then marketing under 圆通快递 is refused and under another sign is sent
    batch = sqs_event(
        request("mkt-yt", kind="marketing"), request("mkt-other", kind="marketing", sign="韵达快递")
    )
    assert send(batch) == []
    assert [
        (e["detail"]["message_id"], e["detail"]["vendor_status"]) for e in aws.events("SMS Submit Failed")
    ] == [("mkt-yt", "opted_out")]
    assert [e["detail"]["message_id"] for e in aws.events("SMS Submitted")] == ["mkt-other"]


def test_a_reply_that_is_not_a_keyword_changes_nothing(aws: AwsEnv, vendor: VendorServer) -> None:
    gateway(aws, vendor)
    # Given a reply that mentions stopping but is not a keyword
    assert reply("请不要 stop 发货")["statusCode"] == 200
    # Then it is an inbound message only
    assert len(aws.events("SMS Inbound")) == 1
    assert aws.events("SMS Opt Out") == [] and aws.items("SUPPRESS#") == []


# ------------------------------------------------------------------------------ segments and cost


def test_every_submitted_event_carries_encoding_segments_and_cost(aws: AwsEnv, vendor: VendorServer) -> None:
    # Given an account with a price of 0.045 a segment, signing 【圆通快递】
    gateway(aws, vendor, price_per_segment="0.045")
    # When 65 Chinese characters (71 with the sign: two UCS-2 parts) and a short text are sent
    batch = sqs_event(
        {"id": "long-1", "to": NUMBER, "content": "中" * 65},
        {"id": "short-1", "to": OTHER, "content": "hi"},
    )
    assert send(batch) == []
    # Then each SMS Submitted event says how the carriers count it, and what it costs
    sizes = {
        e["detail"]["message_id"]: (e["detail"]["encoding"], e["detail"]["segments"], e["detail"]["cost"])
        for e in aws.events("SMS Submitted")
    }
    assert sizes == {"long-1": ("UCS-2", 2, 0.09), "short-1": ("UCS-2", 1, 0.045)}


# ------------------------------------------------------------------------------ cancel


def test_a_cancel_before_the_send_time_stops_every_recipient(aws: AwsEnv, vendor: VendorServer) -> None:
    sms = gateway(aws, vendor)
    # Given a message for two numbers due in five seconds, waiting in the queue (no native scheduling)
    due = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    body = {"id": "later-1", "to": [NUMBER, OTHER], "content": "明天见", "send_at": due}
    assert send(sqs_event(body)) == []
    # When it is cancelled before it is due
    assert send(sqs_event({"cancel": "later-1"}, first_id=2)) == []
    (accepted,) = aws.events("SMS Cancel Accepted")
    assert accepted["detail"]["message_id"] == "later-1"
    # And the waiting message comes due
    requeued = wait_for_requeued(aws)
    assert send(sqs_event(requeued, first_id=3)) == []
    # Then nothing was sent, and each recipient is cancelled, final, with an event
    assert sms.calls_of("send") == []
    cancelled = aws.events("SMS Cancelled")
    assert sorted(e["detail"]["recipient"] for e in cancelled) == [E164, "+8613900139000"]
    assert all(e["detail"]["status"] == "cancelled" and e["detail"]["final"] for e in cancelled)
    assert aws.events("SMS Submitted") == [] and aws.events("SMS Submit Failed") == []


def test_a_cancel_after_the_message_left_changes_nothing(aws: AwsEnv, vendor: VendorServer) -> None:
    gateway(aws, vendor)
    # Given a message already sent
    assert send(sqs_event({"id": "now-1", "to": NUMBER, "content": "x"})) == []
    # When it is cancelled
    assert send(sqs_event({"cancel": "now-1"}, first_id=2)) == []
    # Then the cancel is refused in an event and the recipient stays submitted
    (refused,) = aws.events("SMS Cancel Refused")
    assert refused["detail"]["message_id"] == "now-1" and "left" in refused["detail"]["reason"]
    record = aws.record("now-1", E164)
    assert record is not None and record["status"] == "submitted"
    assert aws.events("SMS Cancelled") == []


def test_a_malformed_cancel_is_refused_with_a_reason(aws: AwsEnv, vendor: VendorServer) -> None:
    gateway(aws, vendor)
    # Given a cancel carrying more than the id, When it is handled, Then it leaves the queue refused
    assert send(sqs_event({"cancel": "x-1", "to": NUMBER})) == []
    (failed,) = aws.events("SMS Submit Failed")
    assert failed["detail"]["vendor_status"] == "invalid_request"
    assert "cancel" in failed["detail"]["description"]


def wait_for_requeued(aws: AwsEnv) -> dict[str, Any]:
    """The requeued message once SQS makes it visible (bounded: 30 seconds)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = aws.sqs.receive_message(QueueUrl=aws.send_queue_url, WaitTimeSeconds=5)
        if answer.get("Messages"):
            return json.loads(answer["Messages"][0]["Body"])  # type: ignore[no-any-return]
    raise AssertionError("the requeued message never became visible")


# ------------------------------------------------------------------------------ the CLI


def test_the_cli_lists_adds_and_removes_suppressed_numbers(aws: AwsEnv, vendor: VendorServer) -> None:
    import io

    from cli.main import main
    from cli.target import Target
    from tests.support.aws import TABLE

    gateway(aws, vendor)
    target = Target(region="us-east-1", outputs={"TableName": TABLE})

    def run(*argv: str) -> tuple[int, Any]:
        out = io.StringIO()
        code = main(["--json", "suppression", "cn-main", *argv], target=target, out=out)
        return code, json.loads(out.getvalue())

    # Given a number that replied 退订
    reply("退订")
    # When another is added by the CLI, Then both are listed, masked, and the addition is an event
    assert run("add", "13900139000")[1]["changed"] is True
    code, listing = run("list")
    assert code == 0
    assert sorted(r["number"] for r in listing["suppressed"]) == ["+86*******8000", "+86*******9000"]
    assert [e["detail"]["source"] for e in aws.events("SMS Opt Out")] == ["reply", "cli"]
    # When one is removed, Then it is no longer listed, an opt-in event says so, and marketing reaches it
    assert run("remove", "+86 139 0013 9000")[1]["changed"] is True
    assert [r["number"] for r in run("list", "--show-numbers")[1]["suppressed"]] == [E164]
    assert [e["detail"]["source"] for e in aws.events("SMS Opt In")] == ["cli"]
    assert send(sqs_event(request("mkt-1", kind="marketing", to=[NUMBER, OTHER]))) == []
    assert [e["detail"]["recipient"] for e in aws.events("SMS Submitted")] == ["+8613900139000"]
    # And a number that is not one is refused with a reason
    assert main(["suppression", "cn-main", "add", "not-a-number"], target=target, out=io.StringIO()) == 1
