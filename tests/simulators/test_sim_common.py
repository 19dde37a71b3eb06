"""What every simulator shares: faults, the /_sim control API, bookkeeping, simulator_for and
the command line."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from simulators import SIMULATORS, ActionV1Simulator, PaaswV2Simulator, simulator_for
from simulators.base import BaseSimulator

if TYPE_CHECKING:
    from tests.simulators.conftest import Receiver

REPO = Path(__file__).resolve().parents[2]
ACTION_CREDS = {"account": "922011", "password": "pw"}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
def action() -> Iterator[ActionV1Simulator]:
    sim = ActionV1Simulator(ACTION_CREDS, {"extno": "106900"})
    with sim:
        sim.configure(report_delay=0.05)
        yield sim


def action_call(
    http: requests.Session, sim: BaseSimulator, action: str, timeout: float = 5, **fields: Any
) -> requests.Response:
    return http.post(
        sim.url + "/sms",
        timeout=timeout,
        data={"action": action, "account": "922011", "password": "pw", "rt": "json", **fields},
    )


def action_send(
    http: requests.Session, sim: BaseSimulator, mobile: str = "13800000001", timeout: float = 5
) -> Any:
    return action_call(http, sim, "send", timeout=timeout, mobile=mobile, content="hi", extno="106900")


# --------------------------------------------------------------------------- faults


def test_5xx_fault_answers_503_for_the_next_calls_of_its_path_only(
    http: requests.Session, action: ActionV1Simulator
) -> None:
    # Given two 5xx faults on sends
    action.inject_fault("5xx", count=2, path="/sms?action=send")
    # When balance is asked and three sends are made
    balance = action_call(http, action, "balance")
    codes = [action_send(http, action).status_code for _ in range(3)]
    # Then balance is untouched, the first two sends get 503 and the third passes
    assert balance.json()["status"] == 0
    assert codes == [503, 503, 200]
    assert action.calls("/sms?action=send") == 3 and len(action.messages) == 1


def test_non_json_fault_answers_200_with_html(http: requests.Session, action: ActionV1Simulator) -> None:
    action.inject_fault("non_json")
    response = action_send(http, action)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()
    assert action.messages == []


def test_timeout_fault_answers_late_and_the_send_still_happens(
    http: requests.Session, action: ActionV1Simulator, wait_until: Callable[..., bool]
) -> None:
    # Given a slow vendor (0.6 s) and a client that waits 0.2 s
    action.inject_fault("timeout", seconds=0.6)
    # When the client times out
    with pytest.raises(requests.exceptions.ReadTimeout):
        action_send(http, action, timeout=0.2)
    # Then the vendor processed the send anyway (the duplicate risk a client must handle)
    assert wait_until(lambda: len(action.messages) == 1, timeout=30)


def test_timeout_fault_can_drop_the_connection_unprocessed(
    http: requests.Session, action: ActionV1Simulator
) -> None:
    action.inject_fault("timeout", seconds=0.1, then="drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        action_send(http, action)
    assert action.messages == [] and action.calls("/sms?action=send") == 1


def test_unknown_path_and_wrong_method_answer_in_the_vendor_format(http: requests.Session) -> None:
    with PaaswV2Simulator({"app_id": "a", "secret": "s"}) as sim:
        missing = http.post(sim.url + "/nope", json={})
        wrong_method = http.get(sim.url + "/message/send")
    assert missing.status_code == 404 and missing.json()["code"] != 0
    assert wrong_method.status_code == 405 and "POST" in wrong_method.json()["message"]


# --------------------------------------------------------------------------- bookkeeping


def test_received_requests_and_calls_are_kept(http: requests.Session, action: ActionV1Simulator) -> None:
    # When one send is made
    action_send(http, action)
    # Then the request is kept with its parsed parts, and /_sim calls are not counted
    http.get(action.url + "/_sim/state")
    [request] = action.received
    assert request["method"] == "POST" and request["path"] == "/sms"
    assert request["endpoint"] == "/sms?action=send"
    assert request["form"]["mobile"] == "13800000001" and "mobile=13800000001" in request["raw"]
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert request["json"] is None and isinstance(request["time"], float)
    assert action.calls() == 1 and action.calls("/sms") == 1
    message = action.messages[0]
    assert {"id", "mobile", "content", "status", "scheduled"} <= set(message)
    assert action.wait_idle(2) and action.messages[0]["status"] == "delivered"


# --------------------------------------------------------------------------- control API


def test_control_api_drives_a_simulator_out_of_process(http: requests.Session, receiver: Receiver) -> None:
    receiver.respond(200, "OK")
    with ActionV1Simulator(ACTION_CREDS, {"extno": "106900"}) as sim:
        control = sim.url + "/_sim"
        # When configured, given an outcome, an MO and a fault through /_sim
        assert http.post(
            control + "/configure", json={"push_report_url": receiver.url + "/cb", "report_delay": 0.05}
        ).json() == {"ok": True}
        http.post(control + "/outcome", json={"mobile": "9", "outcome": "expired"})
        action_send(http, sim, mobile="13800000009")
        mo = http.post(
            control + "/mo", json={"mobile": "13800000002", "content": "TD", "ext_no": "106900"}
        ).json()
        http.post(control + "/fault", json={"kind": "5xx", "count": 1, "path": "/sms"})
        faulted = action_call(http, sim, "balance")
        assert sim.wait_idle(2)
        state = http.get(control + "/state").json()
        bad = http.post(control + "/configure", json={"no_such_key": 1})
        no_tokens = http.post(control + "/expire-tokens")
    # Then it all shows in the state
    assert mo["ok"] is True and faulted.status_code == 503
    assert state["calls"] == {"/sms?action=send": 1, "/sms?action=balance": 1}
    assert state["received"] == 2
    assert state["messages"][0]["code"] == "EXPIRED"
    pushed = [record for push in state["pushes"] for record in push["body"]]
    assert sorted(r["flag"] for r in pushed) == [0, 1]
    assert all(p["accepted"] for p in state["pushes"])
    assert bad.status_code == 400 and "no_such_key" in bad.json()["error"]
    assert no_tokens.status_code == 400 and "no tokens" in no_tokens.json()["error"]


def test_control_api_expires_paasw_tokens(http: requests.Session) -> None:
    with PaaswV2Simulator({"app_id": "a", "secret": "s"}) as sim:
        token = http.post(sim.url + "/message/token", json={"appId": "a", "secret": "s"}).json()
        token = token["data"]["token"]
        assert http.post(sim.url + "/_sim/expire-tokens").json() == {"ok": True}
        answer = http.post(sim.url + "/message/balance", json={"token": token}).json()
    # Then the reset token is refused with the default stale-token reading (001 names no code)
    assert answer == {"code": 10020, "message": "令牌已失效", "data": None}


# --------------------------------------------------------------------------- simulator_for


def test_simulator_for_builds_each_vendor_on_the_accounts_port(
    http: requests.Session, free_port: Callable[[], int]
) -> None:
    for vendor in SIMULATORS:
        port = free_port()
        account = {
            "name": f"{vendor}-acct",
            "vendor": vendor,
            "base_url": f"http://127.0.0.1:{port}",
            "credentials": {},
            "options": {},
            "sign": "【圆通】",
            "callback_token": "t",
            "timezone": "Asia/Shanghai",
        }
        with simulator_for(account, report_delay=0.1) as sim:
            assert isinstance(sim, SIMULATORS[vendor])
            assert sim.url == f"http://127.0.0.1:{port}" and sim.name == f"{vendor}-acct"
            assert sim.report_delay == 0.1
            assert http.get(sim.url + "/_sim/state").json()["vendor"] == vendor
    with pytest.raises(ValueError, match="no simulator for vendor 'nope'"):
        simulator_for({"vendor": "nope"})


def test_simulator_for_uses_credentials_options_and_a_base_url_path(
    http: requests.Session, free_port: Callable[[], int]
) -> None:
    port = free_port()
    account = {
        "name": "cn-main",
        "vendor": "action_v1",
        "base_url": f"http://127.0.0.1:{port}/gw",
        "credentials": ACTION_CREDS,
        "options": {"extno": "106900", "md5_password": True},
    }
    with simulator_for(account) as sim:
        answer = http.post(
            sim.url + "/sms",
            data={"action": "balance", "account": "922011", "password": md5("pw"), "rt": "json"},
        ).json()
    assert sim.url == f"http://127.0.0.1:{port}/gw" and answer["status"] == 0


# --------------------------------------------------------------------------- command line


def test_cli_refuses_a_reading_no_simulator_has(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    account = {"name": "a", "vendor": "pwd_v1", "base_url": "http://127.0.0.1:0", "credentials": {}}
    path.write_text(json.dumps({"accounts": [account]}), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "simulators", "--accounts", str(path), "--reading", "stale_token=http_401"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2 and "stale_token" in done.stderr


def test_cli_prints_ready_pushes_to_the_account_callback_and_stops_on_sigterm(
    tmp_path: Path, http: requests.Session, receiver: Receiver, free_port: Callable[[], int]
) -> None:
    # Given an accounts document with two accounts
    receiver.respond(200, "OK")
    ports = free_port(), free_port()
    accounts = {
        "accounts": [
            {
                "name": "cn-main",
                "vendor": "action_v1",
                "base_url": f"http://127.0.0.1:{ports[0]}",
                "credentials": ACTION_CREDS,
                "options": {"extno": "106900"},
                "callback_token": "tok+1",
            },
            {
                "name": "cn-pwd",
                "vendor": "pwd_v1",
                "base_url": f"http://127.0.0.1:{ports[1]}",
                "credentials": {"account": "a", "password": "b"},
                "options": {},
                "callback_token": "x",
            },
        ]
    }
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(accounts), encoding="utf-8")
    # When the command line starts them in mixed mode
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators",
            "--accounts",
            str(path),
            "--push-base",
            receiver.url,
            "--delivery",
            "mixed",
            "--report-delay",
            "0.05",
            "--reading",
            "repush=twice",
            "--reading",
            "pwd_v1.task_id_reuse=refuse",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None  # both are pipes
    killer = threading.Timer(15, proc.kill)
    killer.start()
    try:
        ready = json.loads(proc.stdout.readline())
        # Then one ready line names every simulator and its URL
        assert ready["ready"] is True
        assert ready["simulators"] == {
            "cn-main": f"http://127.0.0.1:{ports[0]}",
            "cn-pwd": f"http://127.0.0.1:{ports[1]}",
        }
        assert ready["delivery"] == {"cn-main": "push", "cn-pwd": "pull"}
        # And the readings chosen on the command line apply to the simulators that have them
        assert ready["readings"]["cn-main"]["repush"] == "twice"
        assert ready["readings"]["cn-pwd"]["task_id_reuse"] == "refuse"
        assert "repush" not in ready["readings"]["cn-pwd"]  # 003 L167 fixes it: no switch
        # And a report of the pushing account reaches /callbacks/{name}/report?token=…
        http.post(
            ready["simulators"]["cn-main"] + "/sms",
            data={
                "action": "send",
                "account": "922011",
                "password": "pw",
                "mobile": "13800000001",
                "content": "hi",
                "extno": "106900",
                "rt": "json",
            },
        )
        [push] = receiver.wait_for(1, timeout=5)
        assert push["path"] == "/callbacks/cn-main/report?token=tok%2B1"
        assert push["json"][0]["stat"] == "DELIVRD"
        # And SIGTERM stops it cleanly
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        killer.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()


# --------------------------------------------------------------------------- unreadable records


def test_a_bad_record_is_added_to_the_next_pushed_array_only(
    http: requests.Session, receiver: Receiver
) -> None:
    # Given an action_v1 simulator told (through the control API) to garble one push
    receiver.respond(200, "OK")
    with ActionV1Simulator(ACTION_CREDS, {"extno": "106900"}) as sim:
        sim.configure(report_delay=0.05, push_report_url=receiver.url + "/cb")
        assert http.post(sim.url + "/_sim/bad-record", json={"kind": "report"}).json() == {"ok": True}
        # When two reports are pushed one after the other
        action_send(http, sim, "13800000001")
        first = receiver.wait_for(1)
        action_send(http, sim, "13800000002")
        second = receiver.wait_for(2)
        assert sim.wait_idle(3)
    # Then the first array holds its good record and one unreadable one; the second is clean
    assert [r.get("mobile") for r in first[0]["json"]] == ["13800000001", None]
    assert first[0]["json"][1] == {"garbled": "记录不可读"}
    assert [r["mobile"] for r in second[1]["json"]] == ["13800000002"]


def test_a_bad_record_in_a_data_array_keeps_count_right_and_garbles_pulls_too(
    http: requests.Session, receiver: Receiver
) -> None:
    receiver.respond(200, "")
    with PaaswV2Simulator({"app_id": "a", "secret": "s"}) as sim:
        sim.configure(report_delay=0.05, push_report_url=receiver.url + "/r")
        token = http.post(sim.url + "/message/token", json={"appId": "a", "secret": "s"}).json()["data"][
            "token"
        ]
        body = {"token": token, "mobile": "15000000001", "msg": "【a】b", "productId": "2"}
        sim.inject_bad_record("report")
        http.post(sim.url + "/message/send", json=body)
        (pushed,) = receiver.wait_for(1)
        # And when delivery is by pull, a pulled batch gets one as well
        sim.configure(delivery="pull")
        sim.inject_bad_record("report")
        http.post(sim.url + "/message/send", json={**body, "mobile": "15000000002"})
        assert sim.wait_idle(3)
        pulled = http.post(sim.url + "/message/deliver", json={"token": token}).json()
    assert pushed["json"]["count"] == 2 and pushed["json"]["data"][1] == {"garbled": "记录不可读"}
    assert pulled["count"] == 2 and [r.get("mobile") for r in pulled["data"]] == ["15000000002", None]
