"""Vendor truth: behaviours the documents (shared/vendor-docs) allow that the simulators did not act
out, each through the public contract (SQS batch in; vendor requests, records and events out).

The vendor is the scripted stand-in server (tests/support/vendor_server.py), answering as its
document says; the document line each answer follows is quoted next to it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.aws import CALLBACK_TOKEN, AwsEnv, FakeContext, action_v1_account, load_event, load_handler
from tests.support.handlers import poll, send, sqs_event
from tests.support.vendor_server import Received, Reply, VendorServer

pytestmark = pytest.mark.integration

BIZ_ID = "39036632588910887018"


def account(vendor: str, base_url: str, **overrides: Any) -> dict[str, Any]:
    credentials = {
        "paasw_v1": {"app_id": "0189457543", "secret": "23f757bad208226ec301e117e40006ed"},
        "paasw_v2": {"app_id": "0189457543", "secret": "23f757bad208226ec301e117e40006ed"},
        "intl_v1": {"app_key": "10002", "app_secret": "abc123"},
        "pwd_v1": {"account": "acc-1", "password": "pw-1"},
    }
    if vendor == "action_v1":
        return action_v1_account(base_url, **overrides)
    base = {
        "name": f"acc-{vendor.replace('_', '-')}",
        "vendor": vendor,
        "base_url": base_url,
        "credentials": credentials[vendor],
        "options": {},
        "sign": "圆通快递",
        "callback_token": CALLBACK_TOKEN,
        "timezone": "Asia/Shanghai",
        "balance_low_threshold": 100,
        "default": True,
    }
    base.update(overrides)
    return base


@pytest.fixture
def stand_in(aws: AwsEnv, vendor: VendorServer) -> Callable[..., VendorServer]:
    """Point the one account at the stand-in and give it a responder."""

    def configure(vendor_id: str, responder: Callable[[Received], Reply], **overrides: Any) -> VendorServer:
        aws.put_accounts(account(vendor_id, vendor.url, **overrides))
        vendor.responder = responder
        return vendor

    return configure


def paths(vendor: VendorServer) -> list[str]:
    return [r.path for r in vendor.received]


def statuses(aws: AwsEnv, message_id: str, *numbers: str) -> list[str | None]:
    return [(aws.record(message_id, n) or {}).get("status") for n in numbers]


# ------------------------------------------------------------------ answers as the documents write them

PAASW_V1_TOKEN = "/api/token"


def paasw_v1_token(token: str) -> Reply:
    # 000 §1: {"code":"10000","message":"操作成功","token":...,"expires_in":7200}
    return Reply(200, {"code": "10000", "message": "操作成功", "token": token, "expires_in": 7200})


def paasw_v1_sent() -> Reply:
    # 000 §2: {"code":"10000","message":"操作成功","bizId":"39036632588910887018"}
    return Reply(200, {"code": "10000", "message": "操作成功", "bizId": BIZ_ID})


def paasw_v2_token(token: str) -> Reply:
    # 001 §1: {"code":0,"message":...,"data":{"expires_in":7200,"token":...}}
    return Reply(200, {"code": 0, "message": "请求成功", "data": {"expires_in": 7200, "token": token}})


def paasw_v2_sent() -> Reply:
    # 001 §3: {"code":0,"message":"请求成功","data":{"batchId":1234567890123456}}
    return Reply(200, {"code": 0, "message": "请求成功", "data": {"batchId": 1234567890123456}})


def intl_v1_sent(msg_id: str = "240924162017564896") -> Reply:
    # 002 §2.6: {"msg":"ok","code":0,"data":{"msgId":...}}
    return Reply(200, {"msg": "ok", "code": 0, "data": {"msgId": msg_id}})


def pwd_v1_sent(task_id: str) -> Reply:
    # 003 send: {"code":"00","data":{"taskId":...},"message":"成功"}
    return Reply(200, {"code": "00", "data": {"taskId": task_id}, "message": "成功"})


def action_v1_sent(mobiles: list[str]) -> Reply:
    # 004 §1.3: {"status":"0","balance":...,"list":[{"mid","mobile","result":0}, ...]}
    rows = [{"mid": f"4C2CA8838272{i:04X}", "mobile": m, "result": 0} for i, m in enumerate(mobiles)]
    return Reply(200, {"status": "0", "balance": 1000000, "list": rows})


# ------------------------------------------------------------------ tokens


@pytest.mark.parametrize(
    ("vendor_id", "send_path", "token_path", "refusal", "token_reply", "sent_reply", "token_of"),
    [
        (
            "paasw_v1",
            "/sms/send",
            PAASW_V1_TOKEN,
            {"code": "10008", "message": "鉴权失败"},
            paasw_v1_token,
            paasw_v1_sent,
            lambda r: r.form["token"],
        ),
        (
            "paasw_v2",
            "/message/send",
            "/message/token",
            {"code": 10020, "message": "令牌已失效"},
            paasw_v2_token,
            paasw_v2_sent,
            lambda r: r.json["token"],
        ),
    ],
)
def test_a_refusal_without_a_known_token_code_renews_the_token_and_retries_once(
    *,
    aws: AwsEnv,
    stand_in: Callable[..., VendorServer],
    vendor_id: str,
    send_path: str,
    token_path: str,
    refusal: dict[str, Any],
    token_reply: Callable[[str], Reply],
    sent_reply: Callable[[], Reply],
    token_of: Callable[[Received], str],
) -> None:
    # Given a vendor whose first token was reset: it refuses it with a code no document lists
    # ("如果由于密钥重置导致token失效开发者应该实现重试获取token的逻辑"), and hands out a new one
    tokens = iter(["t-old", "t-new"])

    def answer(request: Received) -> Reply:
        if request.path == token_path:
            return token_reply(next(tokens))
        return sent_reply() if token_of(request) == "t-new" else Reply(200, refusal)

    vendor = stand_in(vendor_id, answer)
    # When a message is sent
    assert send(sqs_event({"id": "tok-1", "to": ["13800138000", "13900139000"], "content": "x"})) == []
    # Then a new token was fetched and the call made once more with it
    assert paths(vendor) == [token_path, send_path, token_path, send_path]
    # And both recipients are submitted
    submitted = aws.events("SMS Submitted")
    assert {e["detail"]["recipient"] for e in submitted} == {"+8613800138000", "+8613900139000"}
    assert aws.events("SMS Submit Failed") == []


def test_a_token_fetch_that_times_out_is_retried_not_unknown(
    aws: AwsEnv, stand_in: Callable[..., VendorServer]
) -> None:
    # Given a vendor whose token endpoint answers only after our read timeout (2 s in tests)
    released = threading.Event()
    slow = [True]

    def answer(request: Received) -> Reply:
        if request.path == PAASW_V1_TOKEN:
            if slow[0]:
                released.wait(30)  # held until the send function gave up on it
            return paasw_v1_token("t-1")
        return paasw_v1_sent()

    vendor = stand_in("paasw_v1", answer)
    event = sqs_event({"id": "tok-2", "to": "13800138000", "content": "x"})
    # When the message is sent
    try:
        failures = send(event)
    finally:
        slow[0] = False
        released.set()
    # Then it goes back to the queue, nothing was sent and nothing recorded
    assert failures == [event["Records"][0]["messageId"]]
    assert "/sms/send" not in paths(vendor)
    assert aws.record("tok-2", "+8613800138000") is None and aws.events() == []
    # And when SQS delivers it again it is sent
    assert send(event) == []
    assert statuses(aws, "tok-2", "+8613800138000") == ["submitted"]


# ------------------------------------------------------------------ gateway errors


SEND_PATHS = {
    "paasw_v1": "/sms/send",
    "paasw_v2": "/message/send",
    "intl_v1": "/api/v1/international/sms/send",
    "pwd_v1": "/api/v1/send",
    "action_v1": "/sms",
}


@pytest.mark.parametrize("status", [502, 504])
@pytest.mark.parametrize("vendor_id", sorted(SEND_PATHS))
def test_a_gateway_error_on_a_send_makes_its_recipients_unknown_never_resent(
    aws: AwsEnv, stand_in: Callable[..., VendorServer], vendor_id: str, status: int
) -> None:
    # Given a gateway in front of the vendor that answers 502/504 to the send: it may have
    # forwarded the request before its upstream failed
    def answer(request: Received) -> Reply:
        if request.path == PAASW_V1_TOKEN:
            return paasw_v1_token("t-1")
        if request.path == "/message/token":
            return paasw_v2_token("t-1")
        return Reply(status, "<html>Bad Gateway</html>", "text/html")

    vendor = stand_in(vendor_id, answer)
    event = sqs_event({"id": "gw-1", "to": ["13800138000", "13900139000"], "content": "x"})
    # When it is sent, and SQS delivers it again
    assert send(event) == []
    assert send(event) == []
    # Then the call was made once, its recipients are unknown and published as such
    assert paths(vendor).count(SEND_PATHS[vendor_id]) == 1
    assert statuses(aws, "gw-1", "+8613800138000", "+8613900139000") == ["unknown", "unknown"]
    assert {e["detail"]["status"] for e in aws.events("SMS Submit Failed")} == {"unknown"}


# ------------------------------------------------------------------ intl_v1


def intl_push(body: dict[str, Any]) -> dict[str, Any]:
    event = load_event("callback/intl_v1-push-report.json")
    event["pathParameters"]["account"] = "acc-intl-v1"
    event["rawPath"] = "/callbacks/acc-intl-v1/report"
    event["body"] = json.dumps(body)
    return load_handler("callback")(event, FakeContext())  # type: ignore[no-any-return]


def test_intl_v1_a_pushed_status_1_is_a_failure(aws: AwsEnv, stand_in: Callable[..., VendorServer]) -> None:
    # Given a message submitted under msgId 240924162017564896
    stand_in("intl_v1", lambda r: intl_v1_sent())
    assert send(sqs_event({"id": "intl-1", "to": "+2348031000010", "content": "code 279275"})) == []
    # When the vendor pushes status 1, which the push table defines as "1：发送失败" (002 §5.4)
    answer = intl_push(
        {
            "desc": "",
            "errorCode": "UNDELIV",
            "mobile": "2348031000010",
            "msgId": "240924162017564896",
            "status": 1,
            "timestamp": "20240924050907",
        }
    )
    # Then it is acked as §5.7 asks, and the recipient's final status is a failure
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"code": 0, "msg": "ok"})
    assert statuses(aws, "intl-1", "+2348031000010") == ["undelivered"]
    (report,) = aws.events("SMS Delivery Report")
    assert (report["detail"]["status"], report["detail"]["final"]) == ("undelivered", True)


@pytest.mark.parametrize("code", [1001, 1007])
def test_intl_v1_one_refused_number_does_not_fail_the_others(
    aws: AwsEnv, stand_in: Callable[..., VendorServer], code: int
) -> None:
    # Given a vendor refusing any call that lists one (valid-looking) number, with the ResultCode
    # of a bad number (002 §1.2: {"code":1001,"msg":"Illegal cell phone"}; §6: 1007 MobileError)
    bad = "2348031000077"

    def answer(request: Received) -> Reply:
        if bad in request.json["mobile"].split(","):
            return Reply(200, {"code": code, "msg": "Illegal cell phone"})
        return intl_v1_sent(f"msg-{len(request.json['mobile'])}")

    vendor = stand_in("intl_v1", answer)
    numbers = [f"+23480310000{n:02d}" for n in range(10, 90)]  # 80 numbers, the bad one among them
    assert f"+{bad}" in numbers
    # When they are sent
    assert send(sqs_event({"id": "intl-2", "to": numbers, "content": "code 279275"})) == []
    # Then only the bad number failed, with the vendor's code; the 79 others are submitted
    failed = aws.events("SMS Submit Failed")
    assert [(e["detail"]["recipient"], e["detail"]["vendor_status"]) for e in failed] == [
        (f"+{bad}", str(code))
    ]
    assert len(aws.events("SMS Submitted")) == 79
    # And it took a bisection's worth of calls (about 2·log2(80)), not one per number
    assert len(vendor.received) <= 1 + 2 * 7


def test_intl_v1_a_landline_is_refused_alone_before_the_call(
    aws: AwsEnv, stand_in: Callable[..., VendorServer]
) -> None:
    # Given a London landline (which would get the whole call refused with 1007 MobileError)
    vendor = stand_in("intl_v1", lambda r: intl_v1_sent())
    # When it is sent with a mobile
    assert send(sqs_event({"id": "intl-3", "to": ["+442071838750", "+2348031000010"], "content": "x"})) == []
    # Then only the mobile reached the vendor; the landline failed as an invalid number
    assert [r.json["mobile"] for r in vendor.received] == ["2348031000010"]
    (failed,) = aws.events("SMS Submit Failed")
    assert (failed["detail"]["recipient"], failed["detail"]["vendor_status"]) == (
        "+442071838750",
        "invalid_recipient",
    )
    assert statuses(aws, "intl-3", "+2348031000010") == ["submitted"]


# ------------------------------------------------------------------ action_v1


def test_action_v1_status_102_resends_in_calls_of_at_most_200(
    aws: AwsEnv, stand_in: Callable[..., VendorServer]
) -> None:
    # Given a gateway answering STATUS 102 "单次提交的号码数过多（建议200以内）" above 200 numbers
    def answer(request: Received) -> Reply:
        mobiles = request.form["mobile"].split(",")
        return Reply(200, {"status": "102"}) if len(mobiles) > 200 else action_v1_sent(mobiles)

    vendor = stand_in("action_v1", answer)
    numbers = [f"139{n:08d}" for n in range(450)]
    # When 450 recipients are sent
    assert send(sqs_event({"id": "big-1", "to": numbers, "content": "大促"})) == []
    # Then the refused call was resent as calls of at most 200, and every recipient is submitted
    assert [len(r.form["mobile"].split(",")) for r in vendor.received] == [450, 200, 200, 50]
    assert len(aws.events("SMS Submitted")) == 450 and aws.events("SMS Submit Failed") == []


def test_action_v1_a_split_call_that_fails_part_way_keeps_what_was_sent(
    aws: AwsEnv, stand_in: Callable[..., VendorServer]
) -> None:
    # Given STATUS 102 above 200 numbers, and a vendor busy (503) for the second smaller call
    answers = iter([None, Reply(503, "busy", "text/plain")])

    def answer(request: Received) -> Reply:
        mobiles = request.form["mobile"].split(",")
        if len(mobiles) > 200:
            return Reply(200, {"status": "102"})
        return next(answers, None) or action_v1_sent(mobiles)

    vendor = stand_in("action_v1", answer)
    numbers = [f"139{n:08d}" for n in range(250)]
    event = sqs_event({"id": "big-2", "to": numbers, "content": "大促"})
    # When it is sent: the first 200 are accepted, then the vendor is busy
    assert send(event) == [event["Records"][0]["messageId"]]
    assert len(aws.events("SMS Submitted")) == 200
    # And SQS delivers it again
    assert send(event) == []
    # Then only the 50 not yet accepted were sent again, each recipient submitted once
    sizes = [len(r.form["mobile"].split(",")) for r in vendor.received]
    assert sizes == [250, 200, 50, 50]
    submitted = [e["detail"]["recipient"] for e in aws.events("SMS Submitted")]
    assert len(submitted) == 250 and len(set(submitted)) == 250


def test_action_v1_a_p2p_text_with_line_breaks_stays_one_row(
    aws: AwsEnv, stand_in: Callable[..., VendorServer]
) -> None:
    # Given a gateway reading mobileContentList as "Mobile#Content" rows split by line breaks
    def answer(request: Received) -> Reply:
        rows = request.form["mobileContentList"].splitlines()
        return action_v1_sent([row.split("#", 1)[0] for row in rows])

    vendor = stand_in("action_v1", answer)
    p2p = [
        {"to": "13800138000", "content": "第一行\n第二行"},
        {"to": "13900139000", "content": "甲\r\n乙"},
    ]
    # When the p2p request is sent
    assert send(sqs_event({"id": "p2p-1", "p2p": p2p})) == []
    # Then the vendor got one row per recipient, the line breaks read as spaces
    (call,) = [r.form for r in vendor.received]
    assert call["mobileContentList"].splitlines() == [
        "13800138000#【圆通快递】第一行 第二行",
        "13900139000#【圆通快递】甲 乙",
    ]
    # And the MD5 is password+extno+mobileContentList with its line breaks removed (004 p2p)
    signed = "s3cret-pass" + "106900" + re.sub(r"[\r\n]", "", call["mobileContentList"])
    assert call["password"] == hashlib.md5(signed.encode()).hexdigest()
    assert len(aws.events("SMS Submitted")) == 2


def test_action_v1_a_post_paid_negative_balance_is_not_low(
    aws: AwsEnv, stand_in: Callable[..., VendorServer]
) -> None:
    # Given a post-paid account (004 §3.3: {"status":0,"balance":-153278040,"chargeType":"POSTCHARGE"})
    stand_in(
        "action_v1", lambda r: Reply(200, {"status": 0, "balance": -153278040, "chargeType": "POSTCHARGE"})
    )
    # When the balance is polled twice
    poll("balance")
    poll("balance")
    # Then SMS Balance is published each time, never SMS Balance Low
    balances = aws.events("SMS Balance")
    assert [b["detail"]["low"] for b in balances] == [False, False]
    assert aws.events("SMS Balance Low") == []


def test_action_v1_a_pre_paid_balance_below_the_threshold_is_low(
    aws: AwsEnv, stand_in: Callable[..., VendorServer]
) -> None:
    stand_in("action_v1", lambda r: Reply(200, {"status": 0, "balance": 50000, "chargeType": "PRECHARGE"}))
    poll("balance")
    assert len(aws.events("SMS Balance Low")) == 1


# ------------------------------------------------------------------ paasw_v1


def paasw_v1_vendor(request: Received) -> Reply:
    return paasw_v1_token("t-1") if request.path == PAASW_V1_TOKEN else paasw_v1_sent()


def sends_of(vendor: VendorServer, path: str = "/sms/send") -> list[dict[str, str]]:
    return [r.form for r in vendor.received if r.path == path]


@pytest.mark.parametrize("landline", ["01012345678", "+861012345678"])
def test_paasw_v1_a_landline_is_refused_alone_before_the_call(
    aws: AwsEnv, stand_in: Callable[..., VendorServer], landline: str
) -> None:
    vendor = stand_in("paasw_v1", paasw_v1_vendor)
    # When a landline and a mobile are sent together
    assert send(sqs_event({"id": "land-1", "to": [landline, "13800138000"], "content": "x"})) == []
    # Then only the mobile reached the vendor and is submitted
    assert [c["phoneNumbers"] for c in sends_of(vendor)] == ["13800138000"]
    assert statuses(aws, "land-1", "+8613800138000") == ["submitted"]
    # And the landline got SMS Submit Failed as an invalid number
    (failed,) = aws.events("SMS Submit Failed")
    assert (failed["detail"]["recipient"], failed["detail"]["vendor_status"]) == (
        landline,
        "invalid_recipient",
    )


def test_paasw_v1_phone_numbers_stay_within_1500_characters(
    aws: AwsEnv, stand_in: Callable[..., VendorServer]
) -> None:
    vendor = stand_in("paasw_v1", paasw_v1_vendor)
    numbers = [f"139{n:08d}" for n in range(300)]
    # When 300 recipients are sent
    assert send(sqs_event({"id": "len-1", "to": numbers, "content": "x"})) == []
    # Then no call's phoneNumbers exceeds its maximum length of 1500 (000 §2), and all were sent
    calls = sends_of(vendor)
    assert max(len(c["phoneNumbers"]) for c in calls) <= 1500
    assert sorted(n for c in calls for n in c["phoneNumbers"].split(",")) == numbers
    assert len(calls) == 3 and len(aws.events("SMS Submitted")) == 300


@pytest.mark.parametrize(
    ("options", "content"),
    [({}, "【圆通快递】您的快件已签收"), ({"sign_in_content": False}, "您的快件已签收")],
)
def test_paasw_v1_content_carries_the_sign_unless_told_otherwise(
    aws: AwsEnv, stand_in: Callable[..., VendorServer], options: dict[str, Any], content: str
) -> None:
    # 000 §2: content "发送内容，包含【XX】签名"; sign "签名不包含【】"
    vendor = stand_in("paasw_v1", paasw_v1_vendor, options=options)
    assert send(sqs_event({"id": "sign-1", "to": "13800138000", "content": "您的快件已签收"})) == []
    (call,) = sends_of(vendor)
    assert (call["content"], call["sign"]) == (content, "圆通快递")


@pytest.mark.parametrize(
    ("options", "content"),
    [({}, "【圆通快递】code 279275"), ({"sign_in_content": False}, "code 279275")],
)
def test_intl_v1_content_carries_the_sign_unless_told_otherwise(
    aws: AwsEnv, stand_in: Callable[..., VendorServer], options: dict[str, Any], content: str
) -> None:
    # 002 §2.3: content "短信的内容，格式：【签名】+内容。"
    vendor = stand_in("intl_v1", lambda r: intl_v1_sent(), options=options)
    assert send(sqs_event({"id": "sign-2", "to": "+2348031000010", "content": "code 279275"})) == []
    (call,) = [r.json for r in vendor.received]
    assert call["content"] == content


# ------------------------------------------------------------------ pwd_v1


def test_pwd_v1_requests_sharing_content_share_calls(
    aws: AwsEnv, stand_in: Callable[..., VendorServer]
) -> None:
    # Given a vendor taking up to 3000 mobiles a call (003)
    vendor = stand_in("pwd_v1", lambda r: pwd_v1_sent(r.form["taskId"]))
    # When three requests with the same text arrive in one batch
    bodies = [
        {"id": f"grp-{n}", "to": [f"1380013{n}000", f"1390013{n}000"], "content": "您的快件已签收"}
        for n in range(3)
    ]
    assert send(sqs_event(*bodies)) == []
    # Then they are one call (ceil(6 / 3000)), and every recipient is submitted under its task
    (call,) = [r.form for r in vendor.received]
    assert len(call["mobiles"].split(",")) == 6
    submitted = aws.events("SMS Submitted")
    assert len(submitted) == 6 and {e["detail"]["vendor_message_id"] for e in submitted} == {call["taskId"]}


def test_pwd_v1_a_reset_after_the_request_left_is_unknown_never_resent(
    aws: AwsEnv, stand_in: Callable[..., VendorServer]
) -> None:
    # Given a vendor whose answer never arrives in time (it may well have sent the SMS)
    released = threading.Event()

    def answer(request: Received) -> Reply:
        released.wait(30)
        return pwd_v1_sent(request.form["taskId"])

    vendor = stand_in("pwd_v1", answer)
    event = sqs_event({"id": "lost-2", "to": "13800138000", "content": "x"})
    try:
        first = send(event)
    finally:
        released.set()
    # Then it leaves the queue with its recipient unknown, and a redelivery sends nothing
    assert first == [] and send(event) == []
    assert len(vendor.received) == 1
    assert statuses(aws, "lost-2", "+8613800138000") == ["unknown"]
