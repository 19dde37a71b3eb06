"""End to end: the local runner as a subprocess (``python -m local_runner``), the real template
and handlers from ``sam build``, an action_v1 vendor on a free port.

The vendor is the tests' action_v1 fake (tests/support/action_v1_vendor.py), and also the project's
action_v1 simulator (``simulators``) as a second account of the same accounts document when it
can be imported: one runner, any accounts document. Every wait is bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local_runner.testing import PROJECT_ROOT, RunningRunner, start_runner, wait_for
from tests.support.action_v1_vendor import ActionV1Vendor
from tests.support.events_contract import validate_event

pytestmark = pytest.mark.e2e

TOKEN = "e2e-callback-token-0123456789"
MOBILE, E164 = "13800138000", "+8613800138000"
CREDENTIALS = {"account": "922011", "password": "secret"}
OPTIONS: dict[str, Any] = {"extno": "106900", "md5_password": True}
SIGN = "圆通快递"


def _account(name: str, base_url: str, *, default: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "vendor": "action_v1",
        "base_url": base_url,
        "credentials": CREDENTIALS,
        "options": OPTIONS,
        "sign": SIGN,
        "callback_token": TOKEN,
        "timezone": "Asia/Shanghai",
        "default": default,
    }


@pytest.fixture(scope="module", autouse=True)
def _built() -> None:
    if not (PROJECT_ROOT / ".aws-sam" / "build" / "template.yaml").is_file():
        pytest.fail("no .aws-sam/build: run `make build` (make e2e and make test do) first")


# --------------------------------------------------------------------------- vendors


class Vendor:
    """What the tests need of a vendor, over the stand-in or the project's simulator."""

    def __init__(
        self,
        account: str,
        url: str,
        sends: Callable[[], list[dict[str, str]]],
        push_acks: Callable[[], list[tuple[int | None, str | None]]],
        set_push: Callable[[str], None],
    ) -> None:
        self.account, self.url = account, url
        self.sends, self.push_acks, self.set_push = sends, push_acks, set_push


@pytest.fixture(scope="module")
def standin() -> Iterator[ActionV1Vendor]:
    vendor = ActionV1Vendor(
        password=CREDENTIALS["password"], account=CREDENTIALS["account"], balance_li=1_000_000
    )
    vendor.start()
    yield vendor
    vendor.stop()


@pytest.fixture(scope="module")
def vendors(standin: ActionV1Vendor) -> Iterator[dict[str, Vendor]]:
    found = {
        "stand-in": Vendor(
            "cn-main",
            standin.url,
            standin.sends,
            lambda: [(p["status"], p["answer"]) for p in standin.pushes],
            lambda url: setattr(standin, "push_url", url),
        )
    }
    from simulators import simulator_for

    simulator = simulator_for(_account("cn-sim", "http://127.0.0.1:0"), report_delay=0.2)

    def push_to(url: str) -> None:
        simulator.configure(push_report_url=url, push_mo_url=url, delivery="push")

    found["simulator"] = Vendor(
        "cn-sim",
        simulator.url,
        lambda: [r["form"] for r in simulator.received if r.get("form", {}).get("action") == "send"],
        lambda: [(p.get("http_status"), p.get("answer")) for p in simulator.pushes],
        push_to,
    )
    yield found
    simulator.stop()


def _accounts(vendors: dict[str, Vendor]) -> dict[str, Any]:
    return {
        "accounts": [_account(v.account, v.url, default=(key == "stand-in")) for key, v in vendors.items()]
    }


@pytest.fixture(scope="module")
def runner(vendors: dict[str, Vendor]) -> Iterator[RunningRunner]:
    running = start_runner(_accounts(vendors), poll_seconds=2)
    try:
        for vendor in vendors.values():
            vendor.set_push(f"{running.info['api_url']}/callbacks/{vendor.account}/report?token={TOKEN}")
        yield running
    finally:
        code = running.stop()
        if code != 0:
            print(running.log_text(last=80))


class EventsTap:
    """Everything that arrived in the runner's events queue, read (and deleted) as it comes."""

    def __init__(self, runner: RunningRunner) -> None:
        self._sqs = runner.client("sqs")
        self._url = runner.info["events_queue_url"]
        self.events: list[dict[str, Any]] = []

    def _drain(self) -> None:
        answer = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = answer.get("Messages", [])
        for message in messages:
            self.events.append(validate_event(json.loads(message["Body"])))
        if messages:
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def of_message(self, message_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("detail", {}).get("message_id") == message_id]

    def wait(self, message_id: str, detail_types: list[str], timeout: float) -> list[dict[str, Any]]:
        def arrived() -> list[dict[str, Any]] | None:
            self._drain()
            seen = self.of_message(message_id)
            return seen if all(any(e["detail-type"] == t for e in seen) for t in detail_types) else None

        return wait_for(arrived, timeout, interval=0, what=f"{detail_types} of {message_id}")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def events(runner: RunningRunner) -> EventsTap:
    return EventsTap(runner)


# --------------------------------------------------------------------------- tests


def test_the_ready_line_names_the_stack_resources(runner: RunningRunner) -> None:
    # Given the runner is ready
    info = runner.info
    # Then its ready line points at the embedded AWS and at the stack's own resources
    assert info["aws_endpoint"].startswith("http://127.0.0.1:")
    assert info["api_url"].startswith("http://127.0.0.1:")
    assert info["table_name"] == info["outputs"]["TableName"]
    assert info["event_bus_name"] == info["outputs"]["EventBusName"]
    assert info["send_queue_url"].rsplit("/", 1)[1] == info["outputs"]["SendQueueUrl"].rsplit("/", 1)[1]
    # And the accounts document is in SSM as a SecureString under the template's default name
    parameter = runner.client("ssm").get_parameter(Name="/sms-gateway/accounts", WithDecryption=True)[
        "Parameter"
    ]
    assert parameter["Type"] == "SecureString"
    assert {a["name"] for a in json.loads(parameter["Value"])["accounts"]} >= {"cn-main"}


@pytest.mark.parametrize("vendor_key", ["stand-in", "simulator"])
def test_a_send_request_is_submitted_delivered_and_published(
    runner: RunningRunner, vendors: dict[str, Vendor], events: EventsTap, vendor_key: str
) -> None:
    if vendor_key not in vendors:
        pytest.skip("the simulators package cannot be imported")
    vendor = vendors[vendor_key]
    # Given a send request for one mainland number on the vendor's account
    message_id = f"e2e-{vendor_key}-{uuid.uuid4().hex[:12]}"
    content = f"您的验证码是 {uuid.uuid4().int % 1_000_000:06d}"
    request = {
        "id": message_id,
        "account": vendor.account,
        "to": [MOBILE],
        "content": content,
        "sign": SIGN,
        "kind": "notification",
        "tags": {"order": message_id},
    }

    # When it is published on the send queue
    runner.client("sqs").send_message(
        QueueUrl=runner.info["send_queue_url"], MessageBody=json.dumps(request, ensure_ascii=False)
    )

    # Then the vendor receives one send call with the documented fields and MD5 signature
    calls = wait_for(
        lambda: [s for s in vendor.sends() if content in s.get("content", "")], 20, what="the send call"
    )
    assert len(calls) == 1
    call = calls[0]
    assert call["account"] == CREDENTIALS["account"]
    assert call["mobile"] == MOBILE
    assert call["content"] == f"【{SIGN}】{content}"
    assert call["extno"] == OPTIONS["extno"]
    assert call["rt"] == "json"
    signed = CREDENTIALS["password"] + call["extno"] + call["content"] + call["mobile"]
    assert call["password"] == hashlib.md5(signed.encode("utf-8")).hexdigest()

    # And, once the vendor pushed its report through the HTTP API, the record is delivered
    table = runner.info["table_name"]
    key = {"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": f"RCPT#{E164}"}}
    dynamodb = runner.client("dynamodb")

    def delivered() -> dict[str, Any] | None:
        item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item if item and item["status"]["S"] == "delivered" else None

    item = wait_for(delivered, 20, what=f"{message_id} delivered")
    assert item["account"]["S"] == vendor.account
    wait_for(
        lambda: [a for status, a in vendor.push_acks() if status == 200 and (a or "").strip() == "OK"],
        10,
        what="the push acknowledged with OK",
    )

    # And "SMS Submitted" then "SMS Delivery Report" arrive on the bus
    seen = events.wait(message_id, ["SMS Submitted", "SMS Delivery Report"], timeout=20)
    kinds = [e["detail-type"] for e in seen]
    assert kinds.index("SMS Submitted") < kinds.index("SMS Delivery Report")
    submitted = next(e for e in seen if e["detail-type"] == "SMS Submitted")
    report = next(e for e in seen if e["detail-type"] == "SMS Delivery Report")
    assert submitted["source"] == report["source"] == "sms.gateway"
    assert submitted["detail"]["status"] == "submitted" and submitted["detail"]["final"] is False
    assert report["detail"]["status"] == "delivered" and report["detail"]["final"] is True
    assert report["detail"]["recipient"] == E164
    assert report["detail"]["vendor"] == "action_v1"
    assert report["detail"]["vendor_status"] == "DELIVRD"
    assert report["detail"]["tags"] == {"order": message_id}

    # And the runner logged one line per invocation of the send path
    assert any("trigger=sqs:" in line and "outcome=ok" in line for line in runner.invocations("SendFunction"))
    assert any("trigger=http:POST" in line for line in runner.invocations("CallbackFunction"))


def test_a_vendor_outage_leaves_the_request_on_the_queue_for_redelivery(
    runner: RunningRunner, vendors: dict[str, Vendor], standin: ActionV1Vendor
) -> None:
    # Given the vendor answers STATUS 5 (a retryable error) for one number
    failing = "13900139000"
    standin.unavailable_for.add(failing)
    sqs = runner.client("sqs")
    queue = runner.info["send_queue_url"]
    before = len(runner.invocations("SendFunction"))

    # When a send request to that number is published
    request = {
        "id": f"e2e-outage-{uuid.uuid4().hex[:12]}",
        "account": "cn-main",
        "to": [failing],
        "content": "x",
    }
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(request))

    # Then the send function reports it as a batch item failure
    lines = wait_for(
        lambda: [i for i in runner.invocations("SendFunction")[before:] if "outcome=partial" in i],
        20,
        what="a partial send invocation",
    )
    assert "1 of 1 reported failed" in lines[0]
    # And the runner left it on the queue (invisible until the queue's visibility timeout), not deleted
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 1
    assert attributes["VisibilityTimeout"] == "360"  # the template's value: no local shortcut


def test_a_push_with_a_wrong_token_is_refused_with_401(runner: RunningRunner) -> None:
    # Given a report pushed with a token that is not the account's
    body = json.dumps(
        [{"flag": 1, "mid": "X1", "mobile": MOBILE, "stat": "DELIVRD", "time": "2026-01-01 10:00:00"}]
    )

    # When it reaches the HTTP API
    answer = requests.post(
        f"{runner.info['api_url']}/callbacks/cn-main/report",
        params={"token": "not-the-token-of-cn-main"},
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=15,
    )

    # Then the function answers 401 with a short reason and no stack trace
    assert answer.status_code == 401
    assert "error" in answer.json()
    assert "Traceback" not in answer.text


def test_a_path_no_route_matches_is_answered_404_by_the_api(runner: RunningRunner) -> None:
    # When a request matches no route of the template's HTTP API
    answer = requests.get(f"{runner.info['api_url']}/nothing/here", timeout=15)
    # Then API Gateway's own 404 comes back, without invoking any function
    assert answer.status_code == 404
    assert answer.json() == {"message": "Not Found"}


def test_scheduled_functions_run_every_poll_interval(runner: RunningRunner) -> None:
    # Given the runner polls every 2 s
    # Then each scheduled function of the template has been invoked by its schedule
    for function in ("PollReportsFunction", "PollInboundFunction", "PollBalanceFunction"):

        def scheduled(f: str = function) -> list[str]:
            return [i for i in runner.invocations(f) if "trigger=schedule:" in i]

        wait_for(scheduled, 15, what=f"a scheduled {function} invocation")


def test_sigterm_stops_the_runner_and_its_workers_with_exit_status_0(vendors: dict[str, Vendor]) -> None:
    # Given a runner of its own, with its workers running
    running = start_runner(_accounts(vendors), poll_seconds=30)
    try:
        children = _children(running.process.pid)
        assert len(children) >= len(running.info["functions"])

        # When it receives SIGTERM
        started = time.monotonic()
        code = running.stop(signal.SIGTERM, timeout=30)
    finally:
        running.stop()

    # Then it exits with status 0, promptly, and no worker is left behind
    assert code == 0, running.log_text(last=40)
    assert time.monotonic() - started < 20
    assert "stopped in" in running.log_text(last=5)
    assert not [pid for pid in children if _alive(pid)]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found += [int(p) for p in text.split()]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()
