"""paasw_v1 simulator against its document (000): GET token, POST send with token, GET pulls
as bare arrays, JSON-array pushes acked by {"code":10000} / {"code":"10000"}."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests

from simulators import PaaswV1Simulator
from simulators.base import BaseSimulator

if TYPE_CHECKING:
    from tests.simulators.conftest import Receiver

APP_ID, SECRET = "0189457543", "23f757bad208226ec301e117e40006ed"


@pytest.fixture
def sim() -> Iterator[PaaswV1Simulator]:
    s = PaaswV1Simulator({"app_id": APP_ID, "secret": SECRET})
    with s:
        s.configure(report_delay=0.05, push_retry_interval=0.05)
        yield s


def token(http: requests.Session, sim: BaseSimulator) -> Any:
    return http.get(sim.url + "/api/token", params={"appId": APP_ID, "secret": SECRET}).json()["token"]


def send(
    http: requests.Session,
    sim: BaseSimulator,
    tok: str,
    mobiles: Any,
    *,
    sign: str = "圆通快递",
    content: str = "你的快件已签收",
) -> Any:
    return http.post(
        sim.url + "/sms/send",
        data={"token": tok, "phoneNumbers": ",".join(mobiles), "sign": sign, "content": content, "kind": "2"},
    ).json()


def test_token_is_the_same_while_valid_and_a_wrong_secret_is_refused(
    http: requests.Session, sim: PaaswV1Simulator
) -> None:
    # Given the account's appId and secret
    first = http.get(sim.url + "/api/token", params={"appId": APP_ID, "secret": SECRET}).json()
    second = http.get(sim.url + "/api/token", params={"appId": APP_ID, "secret": SECRET}).json()
    wrong = http.get(sim.url + "/api/token", params={"appId": APP_ID, "secret": "bad"}).json()
    # Then the same token comes back with the document's fields, and a wrong secret gets no token
    assert first["code"] == "10000" and first["token"] == second["token"]
    assert 7195 <= first["expires_in"] <= 7200
    assert wrong["code"] != "10000" and "token" not in wrong and wrong["message"]


def test_send_answers_a_20_digit_biz_id(http: requests.Session, sim: PaaswV1Simulator) -> None:
    # When two numbers are sent with a valid token
    answer = send(http, sim, token(http, sim), ["13900000001", "13900000002"])
    # Then code is the string "10000" and one bizId (a string) covers both numbers
    assert answer["code"] == "10000" and re.fullmatch(r"\d{20}", answer["bizId"])
    assert {m["id"] for m in sim.messages} == {answer["bizId"]}


def test_limits_and_sign_rules_are_enforced(http: requests.Session, sim: PaaswV1Simulator) -> None:
    tok = token(http, sim)
    # When 1001 numbers are sent, or the sign carries 【】, or the token is missing
    sim.configure(readings={"phone_numbers_limits": "count"})  # the 1000-number limit alone
    too_many = send(http, sim, tok, [f"139{i:08d}" for i in range(1001)])
    bracketed = send(http, sim, tok, ["13900000001"], sign="【圆通快递】")
    no_token = http.post(
        sim.url + "/sms/send", data={"phoneNumbers": "13900000001", "sign": "x", "content": "x"}
    ).json()
    # Then each is refused with a non-success code and a reason
    assert too_many["code"] != "10000" and "1000" in too_many["message"]
    assert bracketed["code"] != "10000" and "【】" in bracketed["message"]
    assert no_token["code"] != "10000" and "token" in no_token["message"]  # names the missing field
    assert sim.messages == []


def test_expired_tokens_get_the_token_error_until_a_new_one_is_fetched(
    http: requests.Session, sim: PaaswV1Simulator
) -> None:
    # Given a token in use
    old = token(http, sim)
    assert send(http, sim, old, ["13900000001"])["code"] == "10000"
    # When the vendor resets it (and, separately, when 7200 s pass)
    sim.expire_tokens()
    refused = send(http, sim, old, ["13900000001"])
    new = token(http, sim)
    # Then the old token gets the default stale-token answer (000 names no code) and a new one works
    assert refused == {"code": "10008", "message": "鉴权失败"}
    assert new != old and send(http, sim, new, ["13900000001"])["code"] == "10000"
    sim.advance_clock(7201)
    assert send(http, sim, new, ["13900000001"])["code"] == "10008"


def test_reports_are_pulled_as_a_bare_array_once(http: requests.Session, sim: PaaswV1Simulator) -> None:
    # Given a delivered and an undelivered number
    sim.set_outcome("13900000009", "undelivered")
    tok = token(http, sim)
    biz_id = send(http, sim, tok, ["13900000001", "13900000009"])["bizId"]
    assert sim.wait_idle(2)
    # When reports are pulled twice
    first = http.get(sim.url + "/sms/deliver", params={"token": tok}).json()
    second = http.get(sim.url + "/sms/deliver", params={"token": tok}).json()
    # Then the push format comes back once, with code 10000 for success and 4 for failure
    assert second == []
    by_mobile = {r["phone_number"]: r for r in first}
    assert by_mobile["13900000001"]["code"] == "10000" and by_mobile["13900000001"]["success"] is True
    assert by_mobile["13900000009"]["code"] == "4" and by_mobile["13900000009"]["success"] is False
    assert all(r["biz_id"] == biz_id and r["sms_size"] == "1" for r in first)


def test_reports_and_mo_are_pushed_as_arrays_and_acks_checked(
    http: requests.Session, sim: PaaswV1Simulator, receiver: Receiver
) -> None:
    # Given a receiver acking reports with a number code and MO with a string code
    receiver.respond_json({"code": 10000, "msg": "操作成功"})
    sim.configure(push_report_url=receiver.url + "/report", push_mo_url=receiver.url + "/mo")
    # When a report falls due
    send(http, sim, token(http, sim), ["13900000001"])
    assert sim.wait_idle(2)
    receiver.respond_json({"code": "10000", "msg": "请求成功"})
    sim.queue_mo("13900000001", "收到")
    assert sim.wait_idle(2)
    # Then both were pushed as JSON arrays and accepted
    report, mo = receiver.wait_for(2)
    assert report["path"] == "/report" and report["json"][0]["phone_number"] == "13900000001"
    assert mo["path"] == "/mo" and mo["json"][0]["content"] == "收到"
    assert mo["json"][0]["sign"] == "圆通快递" and isinstance(mo["json"][0]["sequence_id"], int)
    assert [p["accepted"] for p in sim.pushes] == [True, True]


def test_a_push_acked_with_another_code_is_refused(
    http: requests.Session, sim: PaaswV1Simulator, receiver: Receiver
) -> None:
    # Given a receiver answering code 500
    receiver.respond_json({"code": 500})
    sim.configure(push_report_url=receiver.url + "/report")  # 000 promises no re-push
    # When a report is pushed
    send(http, sim, token(http, sim), ["13900000001"])
    assert sim.wait_idle(2)
    # Then the push is recorded as refused
    assert [p["accepted"] for p in sim.pushes] == [False]


def test_mo_pull_requires_the_sign(http: requests.Session, sim: PaaswV1Simulator) -> None:
    tok = token(http, sim)
    sim.queue_mo("13900000001", "hi", sign="圆通快递")
    assert sim.wait_idle(2)
    # When smsUp is called without sign, then with it
    missing = http.get(sim.url + "/sms/smsUp", params={"token": tok}).json()
    got = http.get(sim.url + "/sms/smsUp", params={"token": tok, "sign": "圆通快递"}).json()
    # Then the first is refused, the second answers the MO array
    assert missing["code"] != "10000" and "sign" in missing["message"]
    assert [m["content"] for m in got] == ["hi"]


def test_balance_in_yuan(http: requests.Session, sim: PaaswV1Simulator) -> None:
    sim.set_balance(88.5)
    answer = http.get(sim.url + "/sms/balance", params={"token": token(http, sim)}).json()
    assert answer == {"code": "10000", "message": "请求成功", "balance": 88.5}
