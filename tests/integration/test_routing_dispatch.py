"""Failover through the real adapters against the vendor simulators, with the breaker on DynamoDB
Local: what each simulated vendor received shows every (message, recipient) sent exactly once."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from simulators import ActionV1Simulator, PwdV1Simulator, simulator_for
from sms_gateway.accounts import Account, AccountsDocument
from sms_gateway.http import VendorHttp
from sms_gateway.models import MessageKind, OutboundItem, SendRequest, Submission, SubmitOutcome
from sms_gateway.routing.choose import Candidate, choose
from sms_gateway.routing.dispatch import Dispatcher
from sms_gateway.routing.events import CircuitState
from sms_gateway.routing.failover import Delivery
from sms_gateway.vendors.base import adapter_class
from tests.support.routing import Clock, Table, routing_table

pytestmark = pytest.mark.integration

PRIMARY, BACKUP = "cn-a", "cn-b"
NUMBERS = ["+8613800138000", "+8613900139000"]


@pytest.fixture
def table(dynamodb_endpoint: str | None) -> Iterator[Table]:
    yield from routing_table(dynamodb_endpoint)


def action_account(base_url: str) -> dict[str, Any]:
    return {
        "name": PRIMARY,
        "vendor": "action_v1",
        "base_url": base_url,
        "credentials": {"account": "922011", "password": "action-pass-1"},
        "options": {"extno": "106900"},
        "sign": "圆通快递",
    }


def pwd_account(base_url: str) -> dict[str, Any]:
    return {
        "name": BACKUP,
        "vendor": "pwd_v1",
        "base_url": base_url,
        "credentials": {"account": "pwd-user", "password": "pwd-pass-12"},
        "sign": "圆通快递",
    }


@pytest.fixture
def vendors() -> Iterator[tuple[ActionV1Simulator, PwdV1Simulator]]:
    primary = simulator_for(action_account("http://127.0.0.1:0"))
    backup = simulator_for(pwd_account("http://127.0.0.1:0"))
    assert isinstance(primary, ActionV1Simulator) and isinstance(backup, PwdV1Simulator)
    yield primary, backup
    primary.stop()
    backup.stop()


def document(primary_url: str, backup_url: str) -> AccountsDocument:
    # The backup has weight 0: every message tries the primary first, so the test knows the order.
    return AccountsDocument.model_validate(
        {
            "accounts": [action_account(primary_url), pwd_account(backup_url)],
            "routes": [
                {"name": "main", "accounts": [{"account": PRIMARY}, {"account": BACKUP, "weight": 0}]}
            ],
        }
    )


def submit_with(http: VendorHttp) -> Any:
    def submit(candidate: Candidate, items: list[OutboundItem]) -> list[SubmitOutcome]:
        account: Account = candidate.account
        adapter = adapter_class(account.vendor)(account, http)
        submission = Submission(
            "call", tuple(items), MessageKind.NOTIFICATION, "您的快件已签收", sign=account.sign
        )
        outcomes: list[SubmitOutcome] = adapter.submit(submission)
        return outcomes

    return submit


def send(
    doc: AccountsDocument, dispatcher: Dispatcher, message_id: str, http: VendorHttp | None = None
) -> Any:
    request = SendRequest.model_validate({"id": message_id, "to": NUMBERS, "content": "您的快件已签收"})
    choice = choose(request, doc, {}, message_id, NUMBERS)
    items = [OutboundItem(message_id, n) for n in NUMBERS]
    return dispatcher.run(items, choice, submit_with(http or VendorHttp(read_timeout=2)))


def accepted(sim: Any) -> Counter[str]:
    return Counter(m["mobile"] for m in sim.messages if m["status"] != "rejected")


def test_a_vendor_refusing_for_balance_has_its_recipients_sent_by_the_next_account_once(
    vendors: tuple[ActionV1Simulator, PwdV1Simulator], table: Table
) -> None:
    primary, backup = vendors
    # Given the primary refuses every recipient for balance (RESULT 15, 004 L557)
    primary.set_balance(0, charge_type="PRECHARGE", price=10)
    doc = document(primary.url, backup.url)
    dispatcher = Dispatcher(table.breaker(Clock()))
    # When three messages are sent through the route
    runs = [send(doc, dispatcher, f"order-{n}") for n in range(3)]
    # Then the backup accepted each recipient once per message, and the primary none
    assert accepted(primary) == Counter()
    assert accepted(backup) == Counter({"13800138000": 3, "13900139000": 3})
    for run in runs:
        assert run.requeue == []
        assert [(s.candidate.account.name, s.result.delivery) for s in run.served] == [
            (BACKUP, Delivery.SENT),
            (BACKUP, Delivery.SENT),
        ]
        history = [(a.account, a.vendor, a.delivery) for a in run.served[0].attempts]
        assert history == [(PRIMARY, "action_v1", Delivery.NOT_SENT), (BACKUP, "pwd_v1", Delivery.SENT)]
        assert run.served[0].attempts[0].reason.startswith("15:")


def test_refused_connections_move_to_the_next_account_and_open_the_circuit(
    vendors: tuple[ActionV1Simulator, PwdV1Simulator], table: Table
) -> None:
    _, backup = vendors
    # Given the primary's address refuses connections (a port nothing listens on)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    doc = document(f"http://127.0.0.1:{closed_port}", backup.url)
    dispatcher = Dispatcher(table.breaker(Clock()))
    # When five messages are sent (the circuit opens after 3 not-sent calls)
    runs = [send(doc, dispatcher, f"order-{n}") for n in range(5)]
    # Then every recipient was sent by the backup exactly once
    assert accepted(backup) == Counter({"13800138000": 5, "13900139000": 5})
    # And the third failure opened the primary's circuit: later messages skip it without calling
    assert [c.state for run in runs for c in run.changes] == [CircuitState.OPEN]
    assert [a.reason for a in runs[4].served[0].attempts] == ["circuit open", runs[4].served[0].result.reason]


def test_a_read_timeout_after_the_request_left_is_unknown_and_no_second_vendor_is_asked(
    vendors: tuple[ActionV1Simulator, PwdV1Simulator], table: Table
) -> None:
    primary, backup = vendors
    # Given the primary takes the call but answers after our read timeout
    primary.inject_fault("timeout", seconds=6, then="answer", path="/sms?action=send")
    doc = document(primary.url, backup.url)
    # When one message is sent
    run = send(doc, Dispatcher(table.breaker(Clock())), "order-slow", VendorHttp(read_timeout=1))
    # Then both recipients stay on the primary as may-have-been-sent, and the backup got nothing
    assert [(s.candidate.account.name, s.result.delivery) for s in run.served] == [
        (PRIMARY, Delivery.MAY_HAVE_BEEN_SENT),
        (PRIMARY, Delivery.MAY_HAVE_BEEN_SENT),
    ]
    assert run.requeue == [] and backup.calls() == 0
    # And the circuit did not count it (ROUTING_BREAKER_COUNT_UNKNOWN is off)
    assert table.breaker(Clock()).state(PRIMARY) is None


def test_with_every_account_down_the_recipients_go_back_to_the_queue(
    vendors: tuple[ActionV1Simulator, PwdV1Simulator], table: Table
) -> None:
    primary, backup = vendors
    primary.inject_fault("5xx", count=10)
    backup.inject_fault("5xx", count=10)
    run = send(document(primary.url, backup.url), Dispatcher(table.breaker(Clock())), "order-down")
    assert run.served == [] and sorted(i.recipient for i in run.requeue) == NUMBERS
    assert accepted(primary) == Counter() and accepted(backup) == Counter()
