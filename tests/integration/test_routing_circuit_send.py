"""The circuit breaker as the send path uses it (issue 13): it opens after consecutive not-sent
calls, the open account is not offered, after the cool-down one probe goes through and a success
closes it. The breaker lives on DynamoDB Local; the clock is moved, never slept on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sms_gateway.accounts import Account, AccountsDocument
from sms_gateway.errors import VendorUnavailable
from sms_gateway.models import Status, Submission, SubmitOutcome
from sms_gateway.routing.health import HealthReader
from sms_gateway.sending import Outcome, SendService
from sms_gateway.sending.ports import SendAdapter
from sms_gateway.sending.route import Router
from tests.support.routing import BACKUP, PRIMARY, SETTINGS, Clock, Table, failover_document, routing_table
from tests.support.send_fakes import FakeAdapter, FakeRegistry, FakeStore, accept_all
from tests.unit.test_routing_config import account

pytestmark = pytest.mark.integration


@pytest.fixture
def table(dynamodb_endpoint: str | None) -> Iterator[Table]:
    yield from routing_table(dynamodb_endpoint)


@dataclass
class Switch:
    """The primary vendor: refuses connections while ``down`` (or, ``ambiguous``, takes the call
    and its answer is lost)."""

    down: bool = True
    calls: list[Submission] = field(default_factory=list)
    ambiguous: bool = False

    def __call__(self, submission: Submission) -> list[SubmitOutcome]:
        self.calls.append(submission)
        if self.down:
            raise VendorUnavailable("connection refused", ambiguous=self.ambiguous)
        return accept_all(submission)


def service(
    table: Table, clock: Clock, primary: Switch, store: FakeStore, backup: Switch | None = None
) -> tuple[SendService, FakeAdapter]:
    doc = AccountsDocument.model_validate(failover_document(account(PRIMARY), account(BACKUP, "paasw_v1")))
    accounts = {a.name: a for a in doc.accounts}
    adapters = {
        PRIMARY: FakeAdapter(accounts[PRIMARY], vendor="action_v1", answer=primary),
        BACKUP: FakeAdapter(accounts[BACKUP], vendor="paasw_v1", answer=backup or accept_all),
    }

    def adapter_for(chosen: Account) -> SendAdapter:
        return adapters[chosen.name]

    router = Router(
        doc, breaker=table.breaker(clock), health=HealthReader(table.name, SETTINGS, table.client(), clock)
    )
    sender = SendService(
        store, FakeRegistry(list(doc.accounts)), adapter_for, lambda b, d: None, router=router
    )
    return sender, adapters[BACKUP]


def send(sender: SendService, message_id: str) -> Outcome:
    body: dict[str, Any] = {"id": message_id, "to": ["+8613800138000"], "content": "通知"}
    (outcome,) = sender.process(
        [{"messageId": f"sqs-{message_id}", "body": json.dumps(body)}], lambda: 60_000
    ).values()
    return outcome


def test_the_circuit_opens_skips_the_account_probes_after_the_cool_down_and_closes(table: Table) -> None:
    clock, primary, store = Clock(), Switch(), FakeStore()
    sender, backup = service(table, clock, primary, store)
    breaker = table.breaker(clock)
    # Given the primary refuses connections for three messages (the threshold is 3)
    for n in range(3):
        assert send(sender, f"m-{n}") is Outcome.DONE
    # Then each was sent by the backup, and the primary's circuit is open
    assert len(primary.calls) == 3 and len(backup.calls) == 3
    circuit = breaker.state(PRIMARY)
    assert circuit is not None and circuit["state"] == "open"
    # When a fourth message comes during the cool-down
    assert send(sender, "m-3") is Outcome.DONE
    # Then the primary is not even called: the backup serves it at once
    assert len(primary.calls) == 3 and len(backup.calls) == 4
    assert [a["account"] for a in store.records[-1].attempts] == [BACKUP]
    # When the cool-down has passed and the primary is back
    clock.now += SETTINGS.breaker_cooldown_seconds + 1
    primary.down = False
    assert send(sender, "m-4") is Outcome.DONE
    # Then exactly one probe call went to the primary, it succeeded and closed the circuit
    assert len(primary.calls) == 4 and len(backup.calls) == 4
    closed = breaker.state(PRIMARY)
    assert closed is not None and closed["state"] == "closed"
    assert (store.records[-1].account, store.records[-1].status) == (PRIMARY, Status.SUBMITTED)
    # And each message was recorded once, sent by exactly one account
    assert sorted(r.message_id for r in store.records) == [f"m-{n}" for n in range(5)]


def test_with_every_circuit_of_the_route_open_the_request_waits_in_the_queue_untouched(table: Table) -> None:
    clock, primary, backup, store = Clock(), Switch(), Switch(), FakeStore()
    sender, _ = service(table, clock, primary, store, backup)
    # Given both accounts refuse connections: each message tries both, and goes back to the queue
    for n in range(3):
        assert send(sender, f"m-{n}") is Outcome.RETRY
    assert (len(primary.calls), len(backup.calls)) == (3, 3)
    # When another message comes while both circuits are open
    assert send(sender, "m-3") is Outcome.RETRY
    # Then no vendor was called for it and nothing was recorded: it waits for the cool-down
    assert (len(primary.calls), len(backup.calls)) == (3, 3)
    assert store.records == [] and "m-3" not in store.attempts


def test_a_call_whose_answer_was_lost_is_unknown_and_neither_fails_over_nor_counts_on_the_circuit(
    table: Table,
) -> None:
    clock, primary, store = Clock(), Switch(ambiguous=True), FakeStore()
    sender, backup = service(table, clock, primary, store)
    # Given the primary takes the call but its answer is lost (a read timeout after the request left)
    # When one message is sent
    assert send(sender, "m-slow") is Outcome.DONE
    # Then the recipient is `unknown` on the primary, and the backup was never called
    (record,) = store.records
    assert (record.account, record.status) == (PRIMARY, Status.UNKNOWN)
    assert [a["delivery"] for a in record.attempts] == ["may_have_been_sent"]
    assert len(primary.calls) == 1 and backup.calls == []
    # And the circuit did not count it (ROUTING_BREAKER_COUNT_UNKNOWN is off)
    assert table.breaker(clock).state(PRIMARY) is None
