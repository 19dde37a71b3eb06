"""pwd_v1 simulator against its document (003): form posts with account + MD5 pwd, masked
pulls with DELIVER, full-number pushes with DELIVRD sent exactly once."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests

from simulators import PwdV1Simulator
from simulators.base import BaseSimulator

if TYPE_CHECKING:
    from tests.simulators.conftest import Receiver

ACCOUNT, PASSWORD = "acme", "p@ss"
PWD = hashlib.md5(PASSWORD.encode()).hexdigest()


@pytest.fixture
def sim() -> Iterator[PwdV1Simulator]:
    s = PwdV1Simulator({"account": ACCOUNT, "password": PASSWORD})
    with s:
        s.configure(report_delay=0.05, push_retry_interval=0.05)
        yield s


def call(http: requests.Session, sim: BaseSimulator, path: str, pwd: str = PWD, **fields: Any) -> Any:
    return http.post(sim.url + "/api/v1/" + path, data={"account": ACCOUNT, "pwd": pwd, **fields}).json()


def test_pwd_is_the_md5_in_either_case_and_a_wrong_one_is_refused(
    http: requests.Session, sim: PwdV1Simulator
) -> None:
    # When the balance is asked with lower-case MD5, upper-case MD5, the plain password, JSON
    lower = call(http, sim, "queryBalance")
    upper = call(http, sim, "queryBalance", pwd=PWD.upper())
    plain = call(http, sim, "queryBalance", pwd=PASSWORD)
    as_json = http.post(sim.url + "/api/v1/queryBalance", json={"account": ACCOUNT, "pwd": PWD}).json()
    # Then both MD5 cases pass with the document's answer; the others get a non-"00" code
    assert (
        lower
        == upper
        == {"code": "00", "data": {"balance": 200000, "payment": 0, "paymentName": "预付"}, "message": "成功"}
    )
    assert plain["code"] != "00" and "密码" in plain["message"]
    assert as_json["code"] != "00" and "x-www-form-urlencoded" in as_json["message"]


def test_send_answers_the_task_id_and_refuses_3001_numbers(
    http: requests.Session, sim: PwdV1Simulator
) -> None:
    # When a send carries our taskId, the same taskId again (read as refused), and 3001 numbers
    sim.configure(readings={"task_id_reuse": "refuse"})
    ok = call(http, sim, "send", mobiles="13512349831,13600000014", content="【x】hi", taskId="t-1")
    again = call(http, sim, "send", mobiles="13512349831", content="【x】hi", taskId="t-1")
    too_many = call(http, sim, "send", mobiles=",".join(f"135{i:08d}" for i in range(3001)), content="hi")
    generated = call(http, sim, "send", mobiles="13512349831", content="hi")
    # Then the first answers our taskId, the reuse and the 3001 numbers are refused
    assert ok == {"code": "00", "data": {"taskId": "t-1"}, "message": "成功"}
    assert again["code"] != "00" and "taskId" in again["message"]
    assert too_many["code"] != "00" and "3000" in too_many["message"]
    assert generated["code"] == "00" and len(generated["data"]["taskId"]) == 36


def test_pulled_reports_are_masked_and_say_deliver(http: requests.Session, sim: PwdV1Simulator) -> None:
    # Given one delivered and one blacklisted number
    sim.set_outcome("0014", "blacklisted")
    call(http, sim, "send", mobiles="13512349831,13600000014", content="hi", taskId="t-2", extNo="12")
    assert sim.wait_idle(2)
    # When reports are pulled twice
    first = call(http, sim, "report")
    second = call(http, sim, "report")
    # Then masked numbers, DELIVER for success and MBBLACK for the blacklisted, handed out once
    assert first["code"] == "00" and second["data"] == []
    by_mobile = {r["mobile"]: r for r in first["data"]}
    assert by_mobile["135****9831"]["status"] == "DELIVER"
    assert by_mobile["136****0014"]["status"] == "MBBLACK"
    assert all(r["sendId"] == "t-2" and r["extNo"] == "12" for r in first["data"])


def test_pushed_reports_carry_full_numbers_and_are_never_pushed_again(
    http: requests.Session, sim: PwdV1Simulator, receiver: Receiver
) -> None:
    # Given a receiver that fails every push
    receiver.respond(500, "boom")
    sim.configure(push_report_url=receiver.url + "/status")
    # When two reports fall due
    call(http, sim, "send", mobiles="13512349831,13600000014", content="hi", taskId="t-3")
    assert sim.wait_idle(2)
    time.sleep(0.2)
    # Then each was pushed alone exactly once, full number and DELIVRD, refused and not retried
    pushes = receiver.wait_for(2)
    assert len(pushes) == 2
    assert {p["json"]["mobile"] for p in pushes} == {"13512349831", "13600000014"}
    assert all(p["json"]["status"] == "DELIVRD" and p["json"]["sendId"] == "t-3" for p in pushes)
    assert [p["accepted"] for p in sim.pushes] == [False, False]


def test_mo_is_pushed_once_in_full_and_pulled_masked(
    http: requests.Session, sim: PwdV1Simulator, receiver: Receiver
) -> None:
    # Given MO pushes to a receiver answering 200
    receiver.respond(200, "")
    sim.configure(push_mo_url=receiver.url + "/mo")
    sim.queue_mo("13912341234", "端午节快乐", ext_no="10")
    assert sim.wait_idle(2)
    [pushed] = receiver.wait_for(1)
    assert pushed["json"]["mobile"] == "13912341234" and pushed["json"]["extNo"] == "10"
    # When delivery switches to pull
    sim.configure(delivery="pull")
    sim.queue_mo("13812341234", "收到", ext_no="10")
    assert sim.wait_idle(2)
    pulled = call(http, sim, "mo")["data"]
    # Then the pulled MO is masked and its extNo is a number as in the document
    assert pulled == [{"mobile": "138****1234", "content": "收到", "times": pulled[0]["times"], "extNo": 10}]
