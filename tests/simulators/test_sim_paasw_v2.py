"""paasw_v2 simulator against its document (001): JSON vs form endpoints, tokens, batchId as
a 20-digit JSON number in the send answer and a string in reports, scheduled sends, pushes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
import requests

from simulators import PaaswV2Simulator
from simulators.base import BaseSimulator

if TYPE_CHECKING:
    from tests.simulators.conftest import Receiver

APP_ID, SECRET = "0189457543", "gw7ewiz4eJ5646grg"
CHINA = timezone(timedelta(hours=8))


@pytest.fixture
def sim() -> Iterator[PaaswV2Simulator]:
    s = PaaswV2Simulator({"app_id": APP_ID, "secret": SECRET})
    with s:
        s.configure(report_delay=0.05, push_retry_interval=0.05)
        yield s


def token(http: requests.Session, sim: BaseSimulator) -> Any:
    answer = http.post(sim.url + "/message/token", json={"appId": APP_ID, "secret": SECRET}).json()
    return answer["data"]["token"]


def send(
    http: requests.Session,
    sim: BaseSimulator,
    tok: str,
    mobiles: Any,
    msg: str = "【圆通】你的快件已签收",
    **extra: Any,
) -> requests.Response:
    return http.post(
        sim.url + "/message/send",
        json={
            "token": tok,
            "mobile": ",".join(mobiles),
            "msg": msg,
            "productId": "2",
            "extNo": "8888",
            "time": "",
            **extra,
        },
    )


def test_send_answers_batch_id_as_a_20_digit_number_beyond_64_bits(
    http: requests.Session, sim: PaaswV2Simulator
) -> None:
    # When a message is sent through the JSON endpoint
    response = send(http, sim, token(http, sim), ["15053621452", "15863254125"])
    answer = response.json()
    # Then batchId is a JSON NUMBER literal of 20 digits, larger than any 64-bit integer
    assert answer["code"] == 0 and answer["message"] == "请求成功"
    batch_id = answer["data"]["batchId"]
    assert isinstance(batch_id, int) and batch_id > 2**64 and len(str(batch_id)) == 20
    assert f'"batchId": {batch_id}}}' in response.text
    # And the report carries the same batchId as a STRING
    assert sim.wait_idle(2)
    pulled = http.post(sim.url + "/message/deliver", json={"token": token(http, sim)}).json()
    assert pulled["code"] == 0 and pulled["count"] == 2
    assert {r["batchId"] for r in pulled["data"]} == {str(batch_id)}
    assert {r["chnRptCode"] for r in pulled["data"]} == {"DELIVRD"}


def test_wrong_secret_is_refused(http: requests.Session, sim: PaaswV2Simulator) -> None:
    answer = http.post(sim.url + "/message/token", json={"appId": APP_ID, "secret": "nope"}).json()
    assert answer["code"] != 0 and answer["data"] is None and "secret" in answer["message"]


def test_json_and_form_endpoints_accept_only_their_content_type(
    http: requests.Session, sim: PaaswV2Simulator
) -> None:
    tok = token(http, sim)
    # When the JSON endpoint gets a form and the form endpoint gets JSON
    form_to_json = http.post(
        sim.url + "/message/send",
        data={"token": tok, "mobile": "15053621452", "msg": "【a】b", "productId": "2"},
    ).json()
    json_to_form = http.post(
        sim.url + "/msg/send", json={"token": tok, "mobile": "15053621452", "msg": "【a】b", "productId": "2"}
    ).json()
    # Then both are refused, while the form endpoint takes a form and the form token endpoint works
    assert form_to_json["code"] != 0 and "json" in form_to_json["message"]
    assert json_to_form["code"] != 0 and "form" in json_to_form["message"]
    form_token = http.post(sim.url + "/message/tokenApi", data={"appId": APP_ID, "secret": SECRET}).json()[
        "data"
    ]["token"]
    assert form_token == tok
    ok = http.post(
        sim.url + "/msg/send", data={"token": tok, "mobile": "15053621452", "msg": "【a】b", "productId": "2"}
    ).json()
    assert ok["code"] == 0


def test_limits_and_required_fields(http: requests.Session, sim: PaaswV2Simulator) -> None:
    tok = token(http, sim)
    # When 1001 numbers are sent, msg has no 【sign】, productId is missing, time is malformed
    too_many = send(http, sim, tok, [f"150{i:08d}" for i in range(1001)]).json()
    no_sign = send(http, sim, tok, ["15053621452"], msg="no sign here").json()
    no_product = http.post(
        sim.url + "/message/send", json={"token": tok, "mobile": "15053621452", "msg": "【a】b"}
    ).json()
    bad_time = send(http, sim, tok, ["15053621452"], time="2019/10/12 14:20").json()
    # Then each is refused with a non-zero code and a reason
    assert too_many["code"] != 0 and "1000" in too_many["message"]
    assert no_sign["code"] != 0 and "【" in no_sign["message"]
    assert no_product["code"] != 0 and "productId" in no_product["message"]
    assert bad_time["code"] != 0 and "yyyy-MM-dd HH:mm:ss" in bad_time["message"]
    assert sim.messages == []


def test_expired_token_gets_the_token_error(http: requests.Session, sim: PaaswV2Simulator) -> None:
    old = token(http, sim)
    sim.expire_tokens()
    refused = http.post(sim.url + "/message/balance", json={"token": old}).json()
    new = token(http, sim)
    # the default stale-token reading: a documented-looking code whose message never says "token"
    assert refused == {"code": 10020, "message": "令牌已失效", "data": None}
    assert http.post(sim.url + "/message/balance", json={"token": new}).json() == {
        "code": 0,
        "message": "请求成功",
        "data": {"balance": 532.0},
    }


def test_scheduled_send_reports_only_after_its_china_time(
    http: requests.Session, sim: PaaswV2Simulator
) -> None:
    # Given a send scheduled one hour ahead in China time
    later = (datetime.now(CHINA) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    send(http, sim, token(http, sim), ["15053621452"], time=later)
    # When the report delay has passed, there is still no report
    assert sim.wait_idle(0.3)
    assert sim.messages[0]["status"] == "submitted" and sim.messages[0]["scheduled"] == later
    # Then once the scheduled time has come the report is due
    sim.advance_clock(3601)
    assert sim.wait_idle(2)
    assert sim.messages[0]["status"] == "delivered"


def test_schedule_can_be_ignored(http: requests.Session, sim: PaaswV2Simulator) -> None:
    sim.configure(honor_schedule=False)
    later = (datetime.now(CHINA) + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    send(http, sim, token(http, sim), ["15053621452"], time=later)
    assert sim.wait_idle(2) and sim.messages[0]["status"] == "delivered"


def test_reports_and_mo_are_pushed_with_count_and_data(
    http: requests.Session, sim: PaaswV2Simulator, receiver: Receiver
) -> None:
    # Given a receiver answering HTTP 200 with an empty body
    receiver.respond(200, "")
    sim.configure(push_report_url=receiver.url + "/report", push_mo_url=receiver.url + "/mo")
    sim.set_outcome("1", "undelivered")
    # When a report and an MO fall due
    send(http, sim, token(http, sim), ["15053621451"])
    sim.queue_mo("15000000002", "收到短信了", ext_no="8866")
    assert sim.wait_idle(2)
    # Then both are pushed as {"count": n, "data": [...]} and HTTP 200 is accepted
    pushed = {r["path"]: r["json"] for r in receiver.wait_for(2)}
    assert pushed["/report"]["count"] == 1
    assert pushed["/report"]["data"][0]["chnRptCode"] == "DB:0141"
    assert isinstance(pushed["/report"]["data"][0]["batchId"], str)
    assert pushed["/mo"] == {
        "count": 1,
        "data": [
            {
                "mobile": "15000000002",
                "extNo": "8866",
                "content": "收到短信了",
                "replyDate": pushed["/mo"]["data"][0]["replyDate"],
            }
        ],
    }
    assert all(p["accepted"] for p in sim.pushes)


def test_template_send_takes_params_as_json(http: requests.Session, sim: PaaswV2Simulator) -> None:
    tok = token(http, sim)
    answer = http.post(
        sim.url + "/msg/sendTemplate",
        data={
            "token": tok,
            "mobile": "15050198156",
            "templateId": "4289538897476608",
            "params": '{"code":"523648","minute":"2"}',
            "productId": "1",
        },
    ).json()
    assert answer["code"] == 0 and sim.messages[0]["template_params"] == {"code": "523648", "minute": "2"}
