"""Every reading of every simulator (simulators/READINGS.md), over HTTP to the simulator: where a
vendor document is silent or ambiguous, each reasonable reading is a switch, and each switch
shows the behaviour its document lines allow."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from simulators import (
    CHINA_TZ,
    SIMULATORS,
    ActionV1Simulator,
    IntlV1Simulator,
    PaaswV1Simulator,
    PaaswV2Simulator,
    PwdV1Simulator,
    simulator_for,
)
from simulators.base import BaseSimulator

if TYPE_CHECKING:
    from tests.simulators.conftest import Receiver


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def pushes_settled(sim: BaseSimulator, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The push attempts once ``count`` were made and nothing else is due (bounded wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(sim.pushes) < count:
        time.sleep(0.01)
    assert sim.wait_idle(timeout)
    return sim.pushes


# --------------------------------------------------------------------------- every simulator


def test_every_reading_has_a_citation_a_default_among_its_choices_and_is_in_readings_md() -> None:
    readings_md = (Path(__file__).resolve().parents[2] / "simulators" / "READINGS.md").read_text("utf-8")
    for vendor, cls in SIMULATORS.items():
        for name, spec in cls.reading_specs().items():
            assert spec.default in spec.choices and len(spec.choices) >= 2, (vendor, name)
            assert spec.cite and spec.doc, (vendor, name)
            # Then READINGS.md has a row naming the switch for this vendor (or for all of them)
            assert f"`{name}`" in readings_md, (vendor, name)


def test_readings_are_chosen_at_construction_by_configure_and_by_the_control_api(
    http: requests.Session,
) -> None:
    # Given a simulator built with one reading chosen
    with PaaswV1Simulator({"app_id": "a", "secret": "s"}, readings={"stale_token": "http_401"}) as sim:
        assert sim.readings["stale_token"] == "http_401"
        # When another is chosen with configure() and a third through the control API
        sim.configure(readings={"repush": "twice"})
        answer = http.post(sim.url + "/_sim/configure", json={"readings": {"bad_number": "per_number"}})
        listing = http.get(sim.url + "/_sim/readings").json()
        wrong_choice = http.post(sim.url + "/_sim/configure", json={"readings": {"repush": "often"}})
        wrong_name = http.post(sim.url + "/_sim/configure", json={"readings": {"no_such": "x"}})
        state = http.get(sim.url + "/_sim/state").json()
    # Then all three hold, the listing shows choices, citations and the choice made
    assert answer.json() == {"ok": True}
    assert state["readings"]["stale_token"] == "http_401" and state["readings"]["repush"] == "twice"
    assert listing["bad_number"]["chosen"] == "per_number" and "000 L30" in listing["bad_number"]["cite"]
    assert listing["gateway_error"]["choices"] == ["not_forwarded", "forwarded"]
    # And a wrong choice or name is a 400 with the reason, changing nothing
    assert wrong_choice.status_code == 400 and "often" in wrong_choice.json()["error"]
    assert wrong_name.status_code == 400 and "no_such" in wrong_name.json()["error"]
    assert state["readings"]["repush"] == "twice"


def test_simulator_for_takes_readings() -> None:
    account = {"name": "x", "vendor": "pwd_v1", "base_url": "http://127.0.0.1:0", "credentials": {}}
    sim = simulator_for(account, start=False, readings={"task_id_reuse": "dedupe"})
    assert sim.readings["task_id_reuse"] == "dedupe"


ACTION = {"account": "922011", "password": "pw"}


def action_call(http: requests.Session, sim: BaseSimulator, action: str, **fields: Any) -> requests.Response:
    data = {"action": action, "account": "922011", "password": "pw", "rt": "json", **fields}
    return http.post(sim.url + "/sms", data=data, timeout=5)


@pytest.mark.parametrize(
    ("fault", "reading", "sent"),
    [
        ("502", "not_forwarded", 0),
        ("504", "not_forwarded", 0),
        ("502", "forwarded", 1),
        ("504", "forwarded", 1),
    ],
)
def test_gateway_error_reading_decides_whether_the_call_reached_the_vendor(
    http: requests.Session, fault: Any, reading: str, sent: Any
) -> None:
    # Given a gateway in front of the vendor answering 502/504 once, read as forwarded or not
    with ActionV1Simulator(ACTION, {"extno": "106900"}, readings={"gateway_error": reading}) as sim:
        sim.configure(report_delay=0.05)
        sim.inject_fault(fault, path="/sms?action=send")
        # When a send goes through it
        answer = action_call(http, sim, "send", mobile="13800000001", content="hi", extno="106900")
        # Then the answer is the gateway's page, and the SMS left only under "forwarded"
        assert answer.status_code == int(fault) and "text/html" in answer.headers["Content-Type"]
        assert len(sim.messages) == sent
        # And the next call passes
        ok = action_call(http, sim, "send", mobile="13800000002", content="hi", extno="106900")
        assert ok.json()["status"] == "0" and len(sim.messages) == sent + 1


# --------------------------------------------------------------------------- paasw_v1 (000)

P1 = {"app_id": "0189457543", "secret": "23f757bad208226ec301e117e40006ed"}


def p1_token(http: requests.Session, sim: BaseSimulator) -> Any:
    return http.get(sim.url + "/api/token", params={"appId": P1["app_id"], "secret": P1["secret"]}).json()[
        "token"
    ]


def p1_send(
    http: requests.Session,
    sim: BaseSimulator,
    mobiles: Any,
    content: str = "你的快件已签收",
    token: str | None = None,
) -> requests.Response:
    data = {
        "token": token or p1_token(http, sim),
        "phoneNumbers": ",".join(mobiles),
        "sign": "圆通快递",
        "content": content,
    }
    return http.post(sim.url + "/sms/send", data=data)


@pytest.mark.parametrize(
    ("reading", "status", "body"),
    [
        ("code_10008", 200, {"code": "10008", "message": "鉴权失败"}),
        ("generic", 200, {"code": "99999", "message": "请求失败"}),
        ("http_401", 401, None),
        ("http_403", 403, None),
    ],
)
def test_paasw_v1_stale_token_reading(http: requests.Session, reading: str, status: int, body: Any) -> None:
    with PaaswV1Simulator(P1, readings={"stale_token": reading}) as sim:
        # Given a token that the vendor then resets (000 L14)
        old = p1_token(http, sim)
        sim.expire_tokens()
        # When it is used
        refused = p1_send(http, sim, ["13900000001"], token=old)
        # Then the answer is this reading's, and nothing was sent
        assert refused.status_code == status
        if body is not None:
            assert refused.json() == body and "token" not in refused.text.lower()
        assert sim.messages == []
        # And a fresh token is accepted
        assert p1_send(http, sim, ["13900000001"]).json()["code"] == "10000"


@pytest.mark.parametrize(("reading", "bare_ok"), [("optional", True), ("required", False)])
def test_paasw_v1_content_sign_reading(http: requests.Session, reading: str, bare_ok: bool) -> None:
    with PaaswV1Simulator(P1, readings={"content_sign": reading}) as sim:
        bare = p1_send(http, sim, ["13900000001"], content="你的快件已签收").json()
        signed = p1_send(http, sim, ["13900000002"], content="【圆通快递】你的快件已签收").json()
    # 000 L32 "发送内容，包含【XX】签名": the bare text passes only when the sign is optional
    assert (bare["code"] == "10000") is bare_ok
    assert signed["code"] == "10000"


@pytest.mark.parametrize(("reading", "long_ok"), [("both", False), ("count", True)])
def test_paasw_v1_phone_numbers_limits_reading(http: requests.Session, reading: str, long_ok: bool) -> None:
    with PaaswV1Simulator(P1, readings={"phone_numbers_limits": reading}) as sim:
        fits = [f"139{i:08d}" for i in range(125)]  # 125 * 12 - 1 = 1499 characters
        too_long = [f"138{i:08d}" for i in range(126)]  # 1511 characters, far below 1000 numbers
        assert len(",".join(fits)) == 1499 and len(",".join(too_long)) == 1511
        first = p1_send(http, sim, fits).json()
        second = p1_send(http, sim, too_long).json()
        thousand_and_one = p1_send(http, sim, [f"137{i:08d}" for i in range(1001)]).json()
    # 000 L30: 1000 numbers always; 1500 characters under "both"
    assert first["code"] == "10000"
    assert (second["code"] == "10000") is long_ok
    if not long_ok:
        assert "1500" in second["message"]
    assert thousand_and_one["code"] != "10000"


@pytest.mark.parametrize("reading", ["whole_call", "per_number"])
def test_paasw_v1_bad_number_reading(http: requests.Session, reading: str) -> None:
    with PaaswV1Simulator(P1, readings={"bad_number": reading}) as sim:
        sim.configure(delivery="pull", report_delay=0.05)
        # When a call carries a good mobile and a landline
        answer = p1_send(http, sim, ["13900000001", "01012345678"]).json()
        assert sim.wait_idle(3)
        pulled = http.get(sim.url + "/sms/deliver", params={"token": p1_token(http, sim)}).json()
    if reading == "whole_call":
        # Then the whole call is refused and nothing is sent
        assert answer["code"] != "10000" and sim.messages == [] and pulled == []
    else:
        # Then the call is accepted; the landline alone fails in its report (000 L89 "1：提交失败")
        assert answer["code"] == "10000"
        by_number = {r["phone_number"]: r for r in pulled}
        assert by_number["13900000001"]["code"] == "10000" and by_number["13900000001"]["success"] is True
        assert by_number["01012345678"]["code"] == "1" and by_number["01012345678"]["success"] is False


@pytest.mark.parametrize(("reading", "attempts"), [("none", 1), ("twice", 3)])
def test_paasw_v1_repush_reading(
    http: requests.Session, receiver: Receiver, reading: str, attempts: int
) -> None:
    receiver.respond_json({"code": 500})
    with PaaswV1Simulator(P1, readings={"repush": reading}) as sim:
        sim.configure(push_report_url=receiver.url + "/report", report_delay=0.05, push_retry_interval=0.05)
        assert p1_send(http, sim, ["13900000001"]).json()["code"] == "10000"
        pushes = pushes_settled(sim, attempts)
    assert [p["attempt"] for p in pushes] == list(range(1, attempts + 1))
    assert not any(p["accepted"] for p in pushes)


# --------------------------------------------------------------------------- paasw_v2 (001)

P2 = {"app_id": "0189457543", "secret": "gw7ewiz4eJ5646grg"}


def p2_token(http: requests.Session, sim: BaseSimulator) -> Any:
    return http.post(sim.url + "/message/token", json={"appId": P2["app_id"], "secret": P2["secret"]}).json()[
        "data"
    ]["token"]


def p2_send(
    http: requests.Session,
    sim: BaseSimulator,
    mobiles: Any,
    token: str | None = None,
    msg: str = "【圆通】你的快件已签收",
) -> requests.Response:
    body = {"token": token or p2_token(http, sim), "mobile": ",".join(mobiles), "msg": msg, "productId": "2"}
    return http.post(sim.url + "/message/send", json=body)


@pytest.mark.parametrize(
    ("reading", "status", "body"),
    [
        ("code_10020", 200, {"code": 10020, "message": "令牌已失效", "data": None}),
        ("generic", 200, {"code": 99999, "message": "请求失败", "data": None}),
        ("http_401", 401, None),
        ("http_403", 403, None),
    ],
)
def test_paasw_v2_stale_token_reading(http: requests.Session, reading: str, status: int, body: Any) -> None:
    with PaaswV2Simulator(P2, readings={"stale_token": reading}) as sim:
        old = p2_token(http, sim)
        sim.expire_tokens()  # 001 L37
        refused = p2_send(http, sim, ["15000000001"], token=old)
        assert refused.status_code == status
        if body is not None:
            assert refused.json() == body and "token" not in refused.text.lower()
        assert sim.messages == []
        assert p2_send(http, sim, ["15000000001"]).json()["code"] == 0


@pytest.mark.parametrize(
    ("reading", "string_ok", "object_ok"),
    [("either", True, True), ("string", True, False), ("object", False, True)],
)
def test_paasw_v2_template_params_reading(
    http: requests.Session, reading: str, string_ok: bool, object_ok: bool
) -> None:
    with PaaswV2Simulator(P2, readings={"template_params": reading}) as sim:
        tok = p2_token(http, sim)
        base = {"token": tok, "mobile": "15050198156", "templateId": "4289538897476608", "productId": "1"}
        values = {"code": "523648", "minute": "2"}
        as_string = http.post(
            sim.url + "/message/sendTemplate", json={**base, "params": json.dumps(values)}
        ).json()
        as_object = http.post(sim.url + "/message/sendTemplate", json={**base, "params": values}).json()
        as_form = http.post(sim.url + "/msg/sendTemplate", data={**base, "params": json.dumps(values)}).json()
    # 001 L196 (String, "JsonArray") vs the example L207-L210 (an object)
    assert (as_string["code"] == 0) is string_ok
    assert (as_object["code"] == 0) is object_ok
    assert as_form["code"] == 0  # the form variant (L253) carries text under every reading


@pytest.mark.parametrize("reading", ["whole_call", "per_number"])
def test_paasw_v2_bad_number_reading(http: requests.Session, reading: str) -> None:
    with PaaswV2Simulator(P2, readings={"bad_number": reading}) as sim:
        sim.configure(delivery="pull", report_delay=0.05)
        answer = p2_send(http, sim, ["15000000001", "0531888888"]).json()
        assert sim.wait_idle(3)
        pulled = http.post(sim.url + "/message/deliver", json={"token": p2_token(http, sim)}).json()["data"]
    if reading == "whole_call":
        assert answer["code"] != 0 and sim.messages == [] and pulled == []
    else:
        assert answer["code"] == 0
        codes = {r["mobile"]: r["chnRptCode"] for r in pulled}
        assert codes == {"15000000001": "DELIVRD", "0531888888": "REJECTD"}


@pytest.mark.parametrize("reading", ["string", "number"])
def test_paasw_v2_report_batch_id_reading(http: requests.Session, receiver: Receiver, reading: str) -> None:
    receiver.respond(200, "")
    with PaaswV2Simulator(P2, readings={"report_batch_id": reading}) as sim:
        sim.configure(report_delay=0.05)
        batch_id = p2_send(http, sim, ["15000000001"]).json()["data"]["batchId"]
        assert sim.wait_idle(3)
        (pulled,) = http.post(sim.url + "/message/deliver", json={"token": p2_token(http, sim)}).json()[
            "data"
        ]
        sim.configure(push_report_url=receiver.url + "/r")
        p2_send(http, sim, ["15000000002"])
        (pushed,) = receiver.wait_for(1)
    # Then the send answer's batchId is a 20-digit number (001 L132), and the reports carry it as
    # this reading says: a string (the examples L329, L509) or that number (typed Long, L312, L494)
    assert isinstance(batch_id, int) and len(str(batch_id)) == 20
    expected_type = str if reading == "string" else int
    assert isinstance(pulled["batchId"], expected_type) and str(pulled["batchId"]) == str(batch_id)
    assert isinstance(pushed["json"]["data"][0]["batchId"], expected_type)


@pytest.mark.parametrize(("reading", "attempts"), [("none", 1), ("twice", 3)])
def test_paasw_v2_repush_reading(
    http: requests.Session, receiver: Receiver, reading: str, attempts: int
) -> None:
    receiver.respond(500, "boom")
    with PaaswV2Simulator(P2, readings={"repush": reading}) as sim:
        sim.configure(push_report_url=receiver.url + "/r", report_delay=0.05, push_retry_interval=0.05)
        assert p2_send(http, sim, ["15000000001"]).json()["code"] == 0
        pushes = pushes_settled(sim, attempts)
    assert [p["attempt"] for p in pushes] == list(range(1, attempts + 1))


# --------------------------------------------------------------------------- intl_v1 (002)

INTL = {"app_key": "10002", "app_secret": "abc123"}
INTL_HEADERS = {"appKey": "10002", "appSecret": "E99A18C428CB38D5F260853678922E03"}
INTL_BASE = "/api/v1/international/sms"


def intl_send(
    http: requests.Session, sim: BaseSimulator, mobiles: Any, content: str = "【Univasa】code 279275"
) -> Any:
    body = {"mobile": ",".join(mobiles), "content": content}
    return http.post(sim.url + INTL_BASE + "/send", json=body, headers=INTL_HEADERS).json()


def intl_status(http: requests.Session, sim: BaseSimulator, msg_id: str, mobiles: Any) -> Any:
    pairs = [{"msgId": msg_id, "mobile": m} for m in mobiles]
    return http.post(sim.url + INTL_BASE + "/status", json={"data": pairs}, headers=INTL_HEADERS).json()


def to_china_afternoon(sim: BaseSimulator) -> datetime:
    """Move the simulator's clock to the next 15:00:00 China time (the clock only goes forward)."""
    now = datetime.fromtimestamp(sim.now(), CHINA_TZ)
    target = now.replace(hour=15, minute=0, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    sim.advance_clock((target - now).total_seconds())
    return target


@pytest.mark.parametrize(
    ("clock", "digits", "hour_at", "length", "hour"),
    [
        ("24h", "14", 8, 14, "15"),
        ("12h", "14", 8, 14, "03"),
        ("24h", "12", 8, 12, "15"),
        ("12h", "12", 8, 12, "03"),
    ],
)
def test_intl_v1_timestamp_readings(
    *, http: requests.Session, clock: Any, digits: Any, hour_at: Any, length: Any, hour: Any
) -> None:
    readings = {"timestamp_clock": clock, "timestamp_digits": digits}
    with IntlV1Simulator(INTL, readings=readings) as sim:
        sim.configure(report_delay=0.05)
        # Given a report made at about 15:00 China time
        day = to_china_afternoon(sim)
        msg_id = intl_send(http, sim, ["2348031000010"])["data"]["msgId"]
        assert sim.wait_idle(3)
        (record,) = intl_status(http, sim, msg_id, ["2348031000010"])["data"]
    # Then its timestamp has this reading's digits and hour (002 L331 vs the example L359)
    stamp = record["timestamp"]
    assert len(stamp) == length and stamp.startswith(day.strftime("%Y%m%d"))
    assert stamp[hour_at : hour_at + 2] == hour


@pytest.mark.parametrize(("reading", "bare_code"), [("optional", 0), ("required", 1006)])
def test_intl_v1_content_sign_reading(http: requests.Session, reading: str, bare_code: int) -> None:
    with IntlV1Simulator(INTL, readings={"content_sign": reading}) as sim:
        bare = intl_send(http, sim, ["2348031000010"], content="code 279275")
        signed = intl_send(http, sim, ["2348031000011"], content="【Univasa】code 279275")
    # 002 L118 "【签名】+内容" vs the example L135; 1006 ContentError (L502)
    assert bare["code"] == bare_code and signed["code"] == 0


@pytest.mark.parametrize(("reading", "status"), [("2", 2), ("1", 1)])
def test_intl_v1_push_failed_status_reading(
    http: requests.Session, receiver: Receiver, reading: str, status: int
) -> None:
    receiver.respond_json({"code": 0, "msg": "ok"})
    with IntlV1Simulator(INTL, readings={"push_failed_status": reading}) as sim:
        sim.configure(push_report_url=receiver.url + "/status", report_delay=0.05)
        sim.set_outcome("0011", "undelivered")
        intl_send(http, sim, ["2348031000010", "2348031000011"])
        pushes = pushes_settled(sim, 2)
        msg_id = pushes[0]["body"]["msgId"]
        pulled = intl_status(http, sim, msg_id, ["2348031000011"])["data"]
    by_mobile = {p["body"]["mobile"]: p["body"] for p in pushes}
    # Then a pushed failure carries this reading's status (002 L419 vs L439), success is 0
    assert by_mobile["2348031000011"]["status"] == status and by_mobile["2348031000010"]["status"] == 0
    # And the pulled status of a failure stays 2 (L336) under every reading
    assert pulled[0]["status"] == 2


@pytest.mark.parametrize("reading", ["whole_call", "per_number"])
def test_intl_v1_bad_number_reading(http: requests.Session, reading: str) -> None:
    with IntlV1Simulator(INTL, readings={"bad_number": reading}) as sim:
        sim.configure(report_delay=0.05)
        answer = intl_send(http, sim, ["2348031000010", "+2348031000011", "861012345678"])
        assert sim.wait_idle(3)
        if reading == "whole_call":
            assert answer["code"] == 1007 and sim.messages == []  # 1007 MobileError, L506
        else:
            assert answer["code"] == 0
            asked = ["2348031000010", "+2348031000011", "861012345678"]
            found = intl_status(http, sim, answer["data"]["msgId"], asked)
            statuses = {r["mobile"]: (r["status"], r["errorCode"]) for r in found["data"]}
            assert statuses == {
                "2348031000010": (0, "DELIVRD"),
                "+2348031000011": (2, "UNDELIV"),  # not digits only
                "861012345678": (2, "UNDELIV"),  # a Beijing landline, not a 手机号码
            }


@pytest.mark.parametrize(
    ("reading", "answer", "attempts"),
    [
        ("any_failure", (500, "boom", "text/plain"), 3),
        ("nonzero_code", (500, "boom", "text/plain"), 1),
        ("any_failure", (200, '{"code": 1}', "application/json"), 3),
        ("nonzero_code", (200, '{"code": 1}', "application/json"), 3),
    ],
)
def test_intl_v1_repush_on_reading(
    http: requests.Session, receiver: Receiver, reading: str, answer: Any, attempts: int
) -> None:
    receiver.respond(*answer)
    with IntlV1Simulator(INTL, readings={"repush_on": reading}) as sim:
        sim.configure(push_report_url=receiver.url + "/status", report_delay=0.05, push_retry_interval=0.05)
        intl_send(http, sim, ["2348031000010"])
        pushes = pushes_settled(sim, attempts)
    # 002 L463: a non-zero code is re-pushed twice; an HTTP error only under "any_failure"
    assert [p["attempt"] for p in pushes] == list(range(1, attempts + 1))


# --------------------------------------------------------------------------- pwd_v1 (003)

PWD = {"account": "pwduser", "password": "pwd-secret"}


def pwd_call(http: requests.Session, sim: BaseSimulator, endpoint: str, **fields: Any) -> Any:
    data = {"account": "pwduser", "pwd": md5("pwd-secret"), **fields}
    return http.post(sim.url + f"/api/v1/{endpoint}", data=data).json()


@pytest.mark.parametrize(
    ("reading", "second_code", "messages"),
    [("send_again", "00", 2), ("dedupe", "00", 1), ("refuse", "99", 1)],
)
def test_pwd_v1_task_id_reuse_reading(
    http: requests.Session, reading: str, second_code: int, messages: int
) -> None:
    with PwdV1Simulator(PWD, readings={"task_id_reuse": reading}) as sim:
        first = pwd_call(http, sim, "send", mobiles="13512349831", content="【x】hi", taskId="t-1")
        second = pwd_call(http, sim, "send", mobiles="13512349831", content="【x】hi", taskId="t-1")
    # 003 L44 "全局唯一" binds the sender; what the vendor does with a reuse is this reading
    assert first == {"code": "00", "data": {"taskId": "t-1"}, "message": "成功"}
    assert second["code"] == second_code
    assert len(sim.messages) == messages


@pytest.mark.parametrize(("reading", "pulled"), [("push_only", 0), ("both", 1)])
def test_pwd_v1_mo_pull_reading(
    http: requests.Session, receiver: Receiver, reading: str, pulled: int
) -> None:
    receiver.respond(200, "")
    with PwdV1Simulator(PWD, readings={"mo_pull": reading}) as sim:
        sim.configure(push_mo_url=receiver.url + "/mo")
        sim.queue_mo("13912341234", "端午节快乐", ext_no="10")
        pushes = pushes_settled(sim, 1)
        mo = pwd_call(http, sim, "mo")["data"]
    # Then the MO was pushed in full, and the pull offers it masked only under "both"
    assert [p["body"]["mobile"] for p in pushes] == ["13912341234"]
    assert [m["mobile"] for m in mo] == ["139****1234"] * pulled


@pytest.mark.parametrize("reading", ["whole_call", "per_number"])
def test_pwd_v1_bad_number_reading(http: requests.Session, reading: str) -> None:
    with PwdV1Simulator(PWD, readings={"bad_number": reading}) as sim:
        sim.configure(delivery="pull", report_delay=0.05)
        answer = pwd_call(http, sim, "send", mobiles="13512349831,0105550123", content="hi")
        assert sim.wait_idle(3)
        pulled = pwd_call(http, sim, "report")["data"]
    if reading == "whole_call":
        assert answer["code"] != "00" and sim.messages == []
    else:
        assert answer["code"] == "00"
        assert sorted((r["mobile"], r["status"]) for r in pulled) == [
            ("010****0123", "REJECTD"),
            ("135****9831", "DELIVER"),
        ]


# --------------------------------------------------------------------------- action_v1 (004)


@pytest.fixture
def action_sim() -> Any:
    def build(**readings: Any) -> Any:
        return ActionV1Simulator(ACTION, {"extno": "106900"}, readings=readings).start()

    built = []

    def make(**readings: Any) -> Any:
        sim = build(**readings)
        sim.configure(report_delay=0.05, push_retry_interval=0.05)
        built.append(sim)
        return sim

    yield make
    for sim in built:
        sim.stop()


@pytest.mark.parametrize(
    ("reading", "status_201", "status_501"), [("500", "0", "102"), ("200", "102", "102")]
)
def test_action_v1_status_102_reading(
    http: requests.Session,
    action_sim: Callable[..., ActionV1Simulator],
    reading: str,
    status_201: int,
    status_501: int,
) -> None:
    sim = action_sim(status_102_above=reading)
    numbers_201 = ",".join(f"138{i:08d}" for i in range(201))
    numbers_501 = ",".join(f"139{i:08d}" for i in range(501))
    first = action_call(http, sim, "send", mobile=numbers_201, content="hi", extno="106900").json()
    second = action_call(http, sim, "send", mobile=numbers_501, content="hi", extno="106900").json()
    # 004 L30 "最多500个" vs L542 "建议200以内"
    assert (first["status"], second["status"]) == (status_201, status_501)


@pytest.mark.parametrize(
    ("reading", "cr_rows", "lf_rows"),
    [("any", 2, 2), ("cr", 2, 1), ("lf", 1, 2)],
)
def test_action_v1_p2p_row_break_reading(
    http: requests.Session,
    action_sim: Callable[..., ActionV1Simulator],
    reading: str,
    cr_rows: Any,
    lf_rows: Any,
) -> None:
    sim = action_sim(p2p_row_break=reading)
    by_cr = action_call(http, sim, "p2p", mobileContentList="13800000001#a\r13800000002#b", extno="106900")
    by_lf = action_call(http, sim, "p2p", mobileContentList="13800000003#c\n13800000004#d", extno="106900")
    # Then each answer lists one recipient per row this reading sees (004 L117 vs the example L133)
    assert len(by_cr.json()["list"]) == cr_rows and len(by_lf.json()["list"]) == lf_rows


@pytest.mark.parametrize("reading", ["reject_call", "skip_row"])
def test_action_v1_p2p_bad_row_reading(
    http: requests.Session, action_sim: Callable[..., ActionV1Simulator], reading: str
) -> None:
    sim = action_sim(p2p_bad_row=reading)
    # Given a text with a line break inside it: its second line becomes a row of its own
    listing = "13800000001#第一行\n第二行\n13800000002#b"
    answer = action_call(http, sim, "p2p", mobileContentList=listing, extno="106900").json()
    if reading == "reject_call":
        assert answer["status"] == "1" and sim.messages == []  # STATUS 1 消息包格式错误, L515
    else:
        assert answer["status"] == "0"
        assert [(m["mobile"], m["content"]) for m in sim.messages] == [
            ("13800000001", "第一行"),
            ("13800000002", "b"),
        ]


def test_action_v1_p2p_md5_drops_the_line_breaks(http: requests.Session) -> None:
    # 004 L111-L112: MD5(password+extno+mobileContentList) with the line breaks removed
    with ActionV1Simulator(ACTION, {"extno": "106900", "md5_password": True}) as sim:
        listing = "13800000001#a\r\n13800000002#b"
        good = md5("pw" + "106900" + "13800000001#a13800000002#b")
        with_breaks = md5("pw" + "106900" + listing)
        ok = http.post(
            sim.url + "/sms",
            data={
                "action": "p2p",
                "account": "922011",
                "password": good,
                "rt": "json",
                "extno": "106900",
                "mobileContentList": listing,
            },
        ).json()
        refused = http.post(
            sim.url + "/sms",
            data={
                "action": "p2p",
                "account": "922011",
                "password": with_breaks,
                "rt": "json",
                "extno": "106900",
                "mobileContentList": listing,
            },
        ).json()
    assert ok["status"] == "0" and refused["status"] == "3"


@pytest.mark.parametrize(("reading", "result"), [("PRECHARGE", 15), ("POSTCHARGE", 0)])
def test_action_v1_charge_type_reading(
    http: requests.Session, action_sim: Callable[..., ActionV1Simulator], reading: str, result: int
) -> None:
    sim = action_sim(charge_type=reading)
    balance = action_call(http, sim, "balance").json()
    # Then a post-paid account shows the document's negative balance (L218) and chargeType
    if reading == "POSTCHARGE":
        assert balance == {"status": 0, "balance": -153278040, "chargeType": "POSTCHARGE"}
    else:
        assert balance["chargeType"] == "PRECHARGE" and balance["balance"] > 0
    # And with a balance below the price, only a pre-paid account answers RESULT 15 (L558, L683)
    sim.set_balance(5, price=10)
    answer = action_call(http, sim, "send", mobile="13800000001", content="hi", extno="106900").json()
    assert answer["list"][0]["result"] == result


@pytest.mark.parametrize(("reading", "attempts"), [("none", 1), ("twice", 3)])
def test_action_v1_repush_reading(
    http: requests.Session,
    receiver: Receiver,
    action_sim: Callable[..., ActionV1Simulator],
    reading: str,
    attempts: int,
) -> None:
    receiver.respond(200, "FAIL")
    sim = action_sim(repush=reading)
    sim.configure(push_report_url=receiver.url + "/cb")
    action_call(http, sim, "send", mobile="13800000001", content="hi", extno="106900")
    pushes = pushes_settled(sim, attempts)
    assert [p["attempt"] for p in pushes] == list(range(1, attempts + 1))


# --------------------------------------------------------------------------- pulls (000, 001, 003)


def _pull_reports(http: requests.Session, sim: BaseSimulator) -> Any:
    if isinstance(sim, PaaswV1Simulator):
        return http.get(sim.url + "/sms/deliver", params={"token": p1_token(http, sim)}).json()
    if isinstance(sim, PaaswV2Simulator):
        return http.post(sim.url + "/message/deliver", json={"token": p2_token(http, sim)}).json()["data"]
    return pwd_call(http, sim, "report")["data"]


def _send_one(http: requests.Session, sim: BaseSimulator) -> Any:
    if isinstance(sim, PaaswV1Simulator):
        assert p1_send(http, sim, ["13900000001"]).json()["code"] == "10000"
    elif isinstance(sim, PaaswV2Simulator):
        assert p2_send(http, sim, ["15000000001"]).json()["code"] == 0
    else:
        assert pwd_call(http, sim, "send", mobiles="13512349831", content="hi")["code"] == "00"


@pytest.mark.parametrize(("reading", "pulls_with_it"), [("once", 1), ("twice", 2)])
@pytest.mark.parametrize(
    ("cls", "creds"), [(PaaswV1Simulator, P1), (PaaswV2Simulator, P2), (PwdV1Simulator, PWD)]
)
def test_pull_handout_reading(
    http: requests.Session, cls: Any, creds: Any, reading: str, pulls_with_it: int
) -> None:
    with cls(creds, readings={"pull_handout": reading}) as sim:
        sim.configure(delivery="pull", report_delay=0.05)
        _send_one(http, sim)
        assert sim.wait_idle(3)
        pulls = [_pull_reports(http, sim) for _ in range(3)]
    # Then the report is in this many pulls in a row, and gone after
    assert [len(p) for p in pulls] == [1] * pulls_with_it + [0] * (3 - pulls_with_it)
