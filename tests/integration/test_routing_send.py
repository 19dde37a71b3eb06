"""Issue 13 through the send handler: SQS send requests in, vendor simulators and events out.

Two accounts on one route (the backup with weight 0, so the order is known): what each simulated
vendor accepted shows every (message, recipient) sent exactly once in total, and the events show
which account served each recipient after which attempts."""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from simulators import ActionV1Simulator, PwdV1Simulator, simulator_for
from tests.support.aws import ACCOUNTS_PARAMETER, CALLBACK_TOKEN, AwsEnv
from tests.support.handlers import send, sqs_event
from tests.support.routing import BACKUP, PRIMARY, failover_document
from tests.support.status_api import get

pytestmark = pytest.mark.integration

NUMBERS = ["+8613800138000", "+8613900139000"]


def action_account(base_url: str) -> dict[str, Any]:
    return {
        "name": PRIMARY,
        "vendor": "action_v1",
        "base_url": base_url,
        "credentials": {"account": "922011", "password": "action-pass-1"},
        "options": {"extno": "106900"},
        "sign": "圆通快递",
        "callback_token": CALLBACK_TOKEN,
    }


def pwd_account(base_url: str) -> dict[str, Any]:
    return {
        "name": BACKUP,
        "vendor": "pwd_v1",
        "base_url": base_url,
        "credentials": {"account": "pwd-user", "password": "pwd-pass-12"},
        "sign": "圆通快递",
        "callback_token": CALLBACK_TOKEN,
    }


@pytest.fixture
def vendors(
    aws: AwsEnv, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ActionV1Simulator, PwdV1Simulator]]:
    monkeypatch.setenv("ROUTING_BREAKER_FAILURES", "3")
    primary = simulator_for(action_account("http://127.0.0.1:0"))
    backup = simulator_for(pwd_account("http://127.0.0.1:0"))
    assert isinstance(primary, ActionV1Simulator) and isinstance(backup, PwdV1Simulator)
    yield primary, backup
    primary.stop()
    backup.stop()


def put_route(aws: AwsEnv, primary_url: str, backup_url: str) -> None:
    document = failover_document(action_account(primary_url), pwd_account(backup_url))
    aws.ssm.put_parameter(
        Name=ACCOUNTS_PARAMETER,
        Type="SecureString",
        Value=json.dumps(document, ensure_ascii=False),
        Overwrite=True,
    )


def request(message_id: str) -> dict[str, Any]:
    return {"id": message_id, "to": NUMBERS, "content": "您的快件已签收"}


def accepted(sim: Any) -> Counter[str]:
    return Counter(m["mobile"] for m in sim.messages if m["status"] != "rejected")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_balance_refusal_is_sent_by_the_next_account_once_with_the_attempts_in_the_events(
    aws: AwsEnv, vendors: tuple[ActionV1Simulator, PwdV1Simulator]
) -> None:
    primary, backup = vendors
    # Given the route's first account refuses every recipient for balance (004 L557 RESULT 15)
    primary.set_balance(0, charge_type="PRECHARGE", price=10)
    put_route(aws, primary.url, backup.url)
    # When a batch of three messages is sent
    assert send(sqs_event(*(request(f"order-{n}") for n in range(3)))) == []
    # Then the backup accepted each (message, recipient) once, and the primary none
    assert accepted(primary) == Counter()
    assert accepted(backup) == Counter({"13800138000": 3, "13900139000": 3})
    # And each recipient has one SMS Submitted, from the backup, naming both attempts
    submitted = aws.events("SMS Submitted")
    assert sorted((e["detail"]["message_id"], e["detail"]["recipient"]) for e in submitted) == sorted(
        (f"order-{n}", number) for n in range(3) for number in NUMBERS
    )
    assert aws.events("SMS Submit Failed") == []
    for event in submitted:
        detail = event["detail"]
        assert (detail["account"], detail["vendor"]) == (BACKUP, "pwd_v1")
        assert [(a["account"], a["vendor"], a["delivery"]) for a in detail["attempts"]] == [
            (PRIMARY, "action_v1", "not_sent"),
            (BACKUP, "pwd_v1", "sent"),
        ]
        assert detail["attempts"][0]["reason"].startswith("15:")
        assert detail["attempts"][1]["chosen"].startswith("route main")
    # And the status API shows which account served each recipient, and why
    status, body = get("/messages/order-0")
    assert status == 200
    for recipient in body["recipients"]:
        assert recipient["account"] == BACKUP
        assert [(a["account"], a["delivery"]) for a in recipient["attempts"]] == [
            (PRIMARY, "not_sent"),
            (BACKUP, "sent"),
        ]
        assert recipient["attempts"][0]["chosen"] == "route main: weighted choice"


def test_refused_connections_fail_over_open_the_circuit_and_publish_route_health(
    aws: AwsEnv, vendors: tuple[ActionV1Simulator, PwdV1Simulator]
) -> None:
    _, backup = vendors
    # Given the route's first account refuses connections (nothing listens on its port)
    put_route(aws, f"http://127.0.0.1:{closed_port()}", backup.url)
    # When five messages are sent, one per invocation (the circuit opens after 3 not-sent calls)
    for n in range(5):
        assert send(sqs_event(request(f"order-{n}"))) == []
    # Then every recipient was sent by the backup exactly once
    assert accepted(backup) == Counter({"13800138000": 5, "13900139000": 5})
    # And the primary's circuit opened once: one SMS Route Health event says so
    (health,) = aws.events("SMS Route Health")
    assert (health["detail"]["account"], health["detail"]["state"]) == (PRIMARY, "open")
    assert health["detail"]["previous_state"] == "closed" and health["detail"]["consecutive_failures"] == 3
    # And the later messages were not offered to the primary at all: the backup is their choice
    last = next(e["detail"] for e in aws.events("SMS Submitted") if e["detail"]["message_id"] == "order-4")
    assert [a["account"] for a in last["attempts"]] == [BACKUP]


def test_a_read_timeout_after_the_request_left_is_unknown_and_never_reaches_the_second_vendor(
    aws: AwsEnv, vendors: tuple[ActionV1Simulator, PwdV1Simulator]
) -> None:
    primary, backup = vendors
    # Given the primary takes the call but answers after our read timeout (2 s in the tests)
    primary.inject_fault("timeout", seconds=5, then="answer", path="/sms?action=send")
    put_route(aws, primary.url, backup.url)
    # When one message is sent
    assert send(sqs_event(request("order-slow"))) == []
    # Then both recipients are `unknown` on the primary, and the backup was never called
    failed = aws.events("SMS Submit Failed")
    assert sorted(e["detail"]["recipient"] for e in failed) == NUMBERS
    for event in failed:
        assert (event["detail"]["status"], event["detail"]["account"]) == ("unknown", PRIMARY)
        assert [a["delivery"] for a in event["detail"]["attempts"]] == ["may_have_been_sent"]
    assert aws.events("SMS Submitted") == [] and backup.calls() == 0
    # And a redelivery of the same message sends nothing anywhere
    assert send(sqs_event(request("order-slow"))) == []
    assert backup.calls() == 0 and len(aws.events("SMS Submit Failed")) == 2


def test_with_every_account_of_the_route_down_the_request_goes_back_to_the_queue(
    aws: AwsEnv, vendors: tuple[ActionV1Simulator, PwdV1Simulator]
) -> None:
    primary, backup = vendors
    # Given both accounts of the route answer every call with a 5xx
    primary.inject_fault("5xx", count=10)
    backup.inject_fault("5xx", count=10)
    put_route(aws, primary.url, backup.url)
    # When one message is sent
    event = sqs_event(request("order-down"))
    # Then both accounts were tried, neither accepted a recipient, and its SQS record goes back
    assert send(event) == [event["Records"][0]["messageId"]]
    assert primary.calls() > 0 and backup.calls() > 0
    assert accepted(primary) == Counter() and accepted(backup) == Counter()
    # And nothing was recorded for it
    assert aws.events("SMS Submitted") == [] and aws.events("SMS Submit Failed") == []
