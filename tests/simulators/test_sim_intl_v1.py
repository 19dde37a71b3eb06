"""intl_v1 simulator against its document (002): appKey/appSecret headers (upper-case MD5),
ResultCodes, the status API as a lookup (not a queue), one report per push re-pushed twice."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests

from simulators import IntlV1Simulator
from simulators.base import BaseSimulator

if TYPE_CHECKING:
    from tests.simulators.conftest import Receiver

APP_KEY, APP_SECRET = "10002", "abc123"
HEADERS = {"appKey": APP_KEY, "appSecret": "E99A18C428CB38D5F260853678922E03"}
BASE = "/api/v1/international/sms"


@pytest.fixture
def sim() -> Iterator[IntlV1Simulator]:
    s = IntlV1Simulator({"app_key": APP_KEY, "app_secret": APP_SECRET})
    with s:
        s.configure(report_delay=0.05, push_retry_interval=0.05)
        yield s


def send(
    http: requests.Session, sim: BaseSimulator, mobiles: Any, headers: dict[str, str] = HEADERS, **extra: Any
) -> Any:
    body = {"mobile": ",".join(mobiles), "content": "【Univasa】code 279275", "senderID": "Univasa", **extra}
    return http.post(sim.url + BASE + "/send", json=body, headers=headers).json()


def status(http: requests.Session, sim: BaseSimulator, pairs: Any) -> Any:
    return http.post(
        sim.url + BASE + "/status",
        headers=HEADERS,
        json={"data": [{"msgId": m, "mobile": n} for m, n in pairs]},
    ).json()


def test_headers_are_checked_and_the_secret_must_be_upper_case_md5(
    http: requests.Session, sim: IntlV1Simulator
) -> None:
    # Given the document's own example: abc123 -> E99A18C428CB38D5F260853678922E03
    assert hashlib.md5(APP_SECRET.encode()).hexdigest().upper() == HEADERS["appSecret"]
    # When sending without headers, with a lower-case MD5, with a wrong key, then correctly
    none = send(http, sim, ["2348031000010"], headers={})
    lower = send(http, sim, ["2348031000010"], headers={**HEADERS, "appSecret": HEADERS["appSecret"].lower()})
    wrong_key = send(http, sim, ["2348031000010"], headers={**HEADERS, "appKey": "999"})
    ok = send(http, sim, ["2348031000010"])
    # Then 1002 / 1003 / 1002 with reasons, and the good call answers msgId as a string
    assert none["code"] == 1002 and "appKey" in none["msg"]
    assert lower["code"] == 1003 and "UPPER" in lower["msg"]
    assert wrong_key["code"] == 1002
    assert ok["code"] == 0 and ok["msg"] == "ok" and re.fullmatch(r"\d{18}", ok["data"]["msgId"])


def test_limits_and_formats_are_enforced(http: requests.Session, sim: IntlV1Simulator) -> None:
    # When 1001 numbers, a number with "+", or a malformed sendTime are sent
    too_many = send(http, sim, [f"23480310{i:05d}" for i in range(1001)])
    plus = send(http, sim, ["+2348031000010"])
    bad_time = send(http, sim, ["2348031000010"], sendTime="2024-09-24 10:02")
    # Then ParamError, MobileError and SendTimeError, with no message recorded
    assert too_many["code"] == 1001 and "1000" in too_many["msg"]
    assert plus["code"] == 1007
    assert bad_time["code"] == 1011
    assert sim.messages == []


def test_status_api_answers_only_the_pairs_asked_with_status_1_until_due(
    http: requests.Session, sim: IntlV1Simulator
) -> None:
    # Given one call to two numbers, the second failing
    sim.configure(report_delay=0.4)
    sim.set_outcome("11", "undelivered")
    msg_id = send(http, sim, ["2348031000010", "2348031000011"])["data"]["msgId"]
    # When the status is asked before the report is due
    early = status(http, sim, [(msg_id, "2348031000010")])
    # Then status 1 (no status yet) and only that pair
    assert early["code"] == 0 and [(r["mobile"], r["status"]) for r in early["data"]] == [
        ("2348031000010", 1)
    ]
    # When asked again after the report is due, it is still answered (not a queue)
    assert sim.wait_idle(2)
    for _ in range(2):
        late = status(http, sim, [(msg_id, "2348031000010"), (msg_id, "2348031000011")])
        by_mobile = {r["mobile"]: r for r in late["data"]}
        assert by_mobile["2348031000010"]["status"] == 0
        assert by_mobile["2348031000010"]["errorCode"] == "DELIVRD"
        assert by_mobile["2348031000011"]["status"] == 2
        assert by_mobile["2348031000011"]["errorCode"] == "UNDELIV"
        assert re.fullmatch(r"\d{14}", by_mobile["2348031000011"]["timestamp"])


def test_status_api_limits_and_30_day_window(http: requests.Session, sim: IntlV1Simulator) -> None:
    msg_id = send(http, sim, ["2348031000010"])["data"]["msgId"]
    assert sim.wait_idle(2)
    # When 501 pairs are asked, unknown pairs are asked, and the message is 31 days old
    too_many = status(http, sim, [(msg_id, "2348031000010")] * 501)
    unknown = status(http, sim, [("1", "2348031000010")])
    sim.advance_clock(31 * 86400)
    too_old = status(http, sim, [(msg_id, "2348031000010")])
    # Then ParamError, then NoReportError twice
    assert too_many["code"] == 1001 and "500" in too_many["msg"]
    assert unknown["code"] == 1012
    assert too_old["code"] == 1012


def test_each_report_is_pushed_alone_with_the_auth_headers(
    http: requests.Session, sim: IntlV1Simulator, receiver: Receiver
) -> None:
    # Given a receiver acking {"code":0}
    receiver.respond_json({"code": 0, "msg": "ok"})
    sim.configure(push_report_url=receiver.url + "/status")
    # When one call to two numbers is delivered
    msg_id = send(http, sim, ["2348031000010", "2348031000011"])["data"]["msgId"]
    assert sim.wait_idle(2)
    # Then two POSTs, one report object each, carrying appKey and the upper-case MD5 secret
    pushes = receiver.wait_for(2)
    assert len(pushes) == 2
    assert all(
        p["headers"]["appKey"] == APP_KEY and p["headers"]["appSecret"] == HEADERS["appSecret"]
        for p in pushes
    )
    assert {p["json"]["mobile"] for p in pushes} == {"2348031000010", "2348031000011"}
    assert all(p["json"]["msgId"] == msg_id and p["json"]["status"] == 0 for p in pushes)
    assert all(p["accepted"] for p in sim.pushes)


@pytest.mark.parametrize("answer", [{"code": 1, "msg": "busy"}, "not json"])
def test_a_refused_report_is_pushed_twice_more(
    http: requests.Session, sim: IntlV1Simulator, receiver: Receiver, answer: Any
) -> None:
    # Given a receiver that does not answer code 0
    if isinstance(answer, dict):
        receiver.respond_json(answer)
    else:
        receiver.respond(200, answer)
    sim.configure(push_report_url=receiver.url + "/status")
    # When one report is due
    send(http, sim, ["2348031000010"])
    assert sim.wait_idle(3)
    # Then the same report is pushed three times in all, then never again
    bodies = [p["body"] for p in receiver.wait_for(3)]
    assert len(bodies) == 3 and len(set(bodies)) == 1
    assert [p["accepted"] for p in sim.pushes] == [False, False, False]


def test_there_is_no_mo(http: requests.Session, sim: IntlV1Simulator) -> None:
    with pytest.raises(NotImplementedError):
        sim.queue_mo("2348031000010", "hi")
    answer = http.post(sim.url + "/_sim/mo", json={"mobile": "2348031000010", "content": "hi"})
    assert answer.status_code == 400 and "no MO" in answer.json()["error"]


def test_balance_has_currency(http: requests.Session, sim: IntlV1Simulator) -> None:
    sim.set_balance(12.5, currency_name="美元", currency_code="USD")
    answer = http.get(sim.url + BASE + "/balance", headers=HEADERS).json()
    assert answer == {
        "msg": "ok",
        "code": 0,
        "data": {"balance": 12.5, "currencyName": "美元", "currencyCode": "USD"},
    }
