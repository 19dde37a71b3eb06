"""action_v1 simulator against its document (004): /sms?action=…, MD5 or plain password,
per-recipient results, destructive pulls with size, mixed pushes acked by plain text OK."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests

from simulators import ActionV1Simulator
from simulators.base import BaseSimulator

if TYPE_CHECKING:
    from tests.simulators.conftest import Receiver

ACCOUNT, PASSWORD, EXTNO = "922011", "s3cret", "106900"


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@pytest.fixture
def sim() -> Iterator[ActionV1Simulator]:
    s = ActionV1Simulator({"account": ACCOUNT, "password": PASSWORD}, {"extno": EXTNO, "md5_password": True})
    with s:
        s.configure(report_delay=0.05, push_retry_interval=0.05)
        yield s


def send(
    http: requests.Session,
    sim: BaseSimulator,
    mobiles: Any,
    *,
    content: str = "验证码1234",
    extno: str = EXTNO,
    password: str | None = None,
) -> requests.Response:
    mobile = ",".join(mobiles)
    password = password or md5(PASSWORD + extno + content + mobile)
    return http.post(
        sim.url + "/sms",
        data={
            "action": "send",
            "account": ACCOUNT,
            "password": password,
            "mobile": mobile,
            "content": content,
            "extno": extno,
            "rt": "json",
        },
    )


def pull(http: requests.Session, sim: BaseSimulator, action: str, **extra: Any) -> Any:
    return http.post(
        sim.url + "/sms",
        data={"action": action, "account": ACCOUNT, "password": md5(PASSWORD), "rt": "json", **extra},
    ).json()


def test_send_is_answered_per_recipient_in_the_documented_format(
    http: requests.Session, sim: ActionV1Simulator
) -> None:
    # Given an MD5 account
    # When two numbers are sent with MD5(password+extno+content+mobile)
    answer = send(http, sim, ["13800000001", "13800000002"]).json()
    # Then status is the STRING "0", balance is in 厘 and each recipient has a mid and result 0
    assert answer["status"] == "0"
    assert isinstance(answer["balance"], int)
    assert [item["mobile"] for item in answer["list"]] == ["13800000001", "13800000002"]
    assert all(re.fullmatch(r"[0-9A-F]{16}", item["mid"]) and item["result"] == 0 for item in answer["list"])
    assert sim.calls("/sms?action=send") == 1 and sim.calls("/sms") == 1


def test_wrong_password_and_plain_password_are_refused_with_status_3(
    http: requests.Session, sim: ActionV1Simulator
) -> None:
    # Given an account configured for MD5 passwords
    # When the MD5 is built from a wrong password, or the plain password is sent
    wrong = send(http, sim, ["13800000001"], password=md5("nope" + EXTNO + "x" + "13800000001")).json()
    plain = send(http, sim, ["13800000001"], password=PASSWORD).json()
    # Then both get STATUS 3 with a readable reason, and nothing is submitted
    assert wrong["status"] == "3" and "password" in wrong["message"]
    assert plain["status"] == "3"
    assert sim.messages == []


def test_plain_password_account_accepts_only_the_plain_password(http: requests.Session) -> None:
    # Given an account configured for plain passwords
    with ActionV1Simulator({"account": ACCOUNT, "password": PASSWORD}, {"extno": EXTNO}) as plain:
        # When the balance is asked with the plain password, then with MD5(password)
        ok = http.get(
            plain.url + "/sms",
            params={"action": "balance", "account": ACCOUNT, "password": PASSWORD, "rt": "json"},
        ).json()
        hashed = http.get(
            plain.url + "/sms",
            params={"action": "balance", "account": ACCOUNT, "password": md5(PASSWORD), "rt": "json"},
        ).json()
    # Then only the plain one passes; balance status is a NUMBER as in the document
    assert ok == {"status": 0, "balance": 1000000, "chargeType": "PRECHARGE"}
    assert hashed["status"] == 3


def test_more_than_500_numbers_get_status_102(http: requests.Session, sim: ActionV1Simulator) -> None:
    # Given 501 numbers
    mobiles = [f"138{i:08d}" for i in range(501)]
    # When they are sent in one call
    answer = send(http, sim, mobiles).json()
    # Then the call is refused with STATUS 102, while 500 pass
    assert answer["status"] == "102" and "500" in answer["message"]
    assert send(http, sim, mobiles[:500]).json()["status"] == "0"


def test_one_call_can_partly_succeed_with_result_codes(
    http: requests.Session, sim: ActionV1Simulator
) -> None:
    # Given numbers ending in 9 are refused for balance (RESULT 15)
    sim.set_submit_result("9", 15)
    # When a call carries one such number among good ones
    answer = send(http, sim, ["13800000001", "13800000009", "13800000002"]).json()
    # Then only that recipient gets result 15 and no report will come for it
    assert [item["result"] for item in answer["list"]] == [0, 15, 0]
    assert sim.wait_idle(2)
    assert {r["mobile"] for r in pull(http, sim, "report")["list"]} == {"13800000001", "13800000002"}
    # And an extno that is not the account's access code gets RESULT 10 for every recipient
    wrong = send(http, sim, ["13800000001"], extno="107777").json()
    assert wrong["list"][0]["result"] == 10


def test_p2p_signs_the_list_without_line_breaks(http: requests.Session, sim: ActionV1Simulator) -> None:
    # Given a p2p list separated by CR as in the document's example
    listing = "13800000001#下发内容1\r13800000002#下发内容2"
    password = md5(PASSWORD + EXTNO + listing.replace("\r", ""))
    # When it is sent
    answer = http.post(
        sim.url + "/sms",
        data={
            "action": "p2p",
            "account": ACCOUNT,
            "password": password,
            "mobileContentList": listing,
            "extno": EXTNO,
            "rt": "json",
        },
    ).json()
    # Then each line is one recipient with its own content
    assert answer["status"] == "0" and len(answer["list"]) == 2
    assert [m["content"] for m in sim.messages] == ["下发内容1", "下发内容2"]


def test_report_pull_is_destructive_and_honours_size(http: requests.Session, sim: ActionV1Simulator) -> None:
    # Given 15 delivered messages, one of them blacklisted
    sim.set_outcome("13800000007", "blacklisted")
    send(http, sim, [f"138000000{i:02d}" for i in range(15)])
    assert sim.wait_idle(2)
    # When reports are pulled with size=10 three times
    first, second, third = (pull(http, sim, "report", size="10") for _ in range(3))
    # Then 10, then 5, then none: each report is handed out once
    assert [len(p["list"]) for p in (first, second, third)] == [10, 5, 0]
    records = first["list"] + second["list"]
    assert all(r["flag"] == 1 and r["spid"] == ACCOUNT and r["accessCode"] == EXTNO for r in records)
    stats = {r["mobile"]: r["stat"] for r in records}
    assert stats["13800000007"] == "MA:0001" and stats["13800000001"] == "DELIVRD"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", records[0]["time"])


def test_mo_pull_returns_flag_0_records_once(http: requests.Session, sim: ActionV1Simulator) -> None:
    # Given an MO from a user
    sim.queue_mo("13800000001", "TD", ext_no="10690012")
    assert sim.wait_idle(2)
    # When MO are pulled twice
    first = pull(http, sim, "mo", size="10")["list"]
    second = pull(http, sim, "mo", size="10")["list"]
    # Then the MO comes once, with flag 0 and the access code it was sent to
    assert len(first) == 1 and second == []
    assert first[0]["flag"] == 0 and first[0]["content"] == "TD" and first[0]["accessCode"] == "10690012"


def test_push_mixes_mo_and_reports_and_expects_plain_ok(
    http: requests.Session, sim: ActionV1Simulator, receiver: Receiver
) -> None:
    # Given pushes to a receiver that answers OK, a report and an MO falling due together
    sim.configure(push_report_url=receiver.url + "/cb", report_delay=30)
    send(http, sim, ["13800000001"])
    sim.queue_mo("13800000002", "hello", delay=30)
    # When both fall due
    sim.advance_clock(31)
    assert sim.wait_idle(2)
    # Then one JSON array with a flag 0 and a flag 1 record was pushed and accepted
    [push] = receiver.wait_for(1)
    assert sorted(r["flag"] for r in push["json"]) == [0, 1]
    assert [p["accepted"] for p in sim.pushes] == [True]


def test_an_answer_other_than_ok_is_refused_and_pushed_again(
    http: requests.Session, sim: ActionV1Simulator, receiver: Receiver
) -> None:
    # Given a receiver that answers JSON instead of plain OK, and the reading that re-pushes twice
    # (004 is silent on re-pushing: by default nothing is re-pushed)
    receiver.respond_json({"code": 0})
    sim.configure(push_report_url=receiver.url + "/cb", readings={"repush": "twice"})
    # When a report is due
    send(http, sim, ["13800000001"])
    assert sim.wait_idle(3)
    # Then every attempt is recorded as refused (1 + 2 retries)
    assert [(p["attempt"], p["accepted"]) for p in sim.pushes] == [(1, False), (2, False), (3, False)]


def test_balance_is_in_li_and_negative_for_post_paid(http: requests.Session, sim: ActionV1Simulator) -> None:
    # Given a post-paid account in debt
    sim.set_balance(-153278040)
    # When the balance is asked
    answer = pull(http, sim, "balance")
    # Then the document's answer comes back
    assert answer == {"status": 0, "balance": -153278040, "chargeType": "POSTCHARGE"}


def test_rt_json_is_required(http: requests.Session, sim: ActionV1Simulator) -> None:
    # Given a send without rt=json
    answer = http.post(
        sim.url + "/sms",
        data={
            "action": "send",
            "account": ACCOUNT,
            "password": "x",
            "mobile": "13800000001",
            "content": "x",
            "extno": EXTNO,
        },
    ).json()
    # Then it is refused with STATUS 1 and a reason
    assert answer["status"] == "1" and "rt=json" in answer["message"]
