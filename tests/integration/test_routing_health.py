"""The circuit breaker shared by every instance, against DynamoDB Local (AWS's engine): it opens
after consecutive not-sent calls, lets exactly one probe through across instances after the
cool-down, and closes on success. Time is a clock the test moves: nothing sleeps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest

from local_runner.dynamodb_local import repair_stream_record
from sms_gateway.models import BalanceIn
from sms_gateway.routing.choose import AccountHealth
from sms_gateway.routing.events import (
    CIRCUIT_OPENED_METRIC,
    ROUTE_HEALTH_METRIC,
    CircuitState,
    HealthChange,
    change_from_images,
    health_metrics,
    route_health_detail,
)
from sms_gateway.routing.failover import Verdict
from sms_gateway.routing.health import Breaker, HealthReader
from sms_gateway.routing.settings import RoutingSettings
from sms_gateway.store.facade import Store
from sms_gateway.store.table import deserialize
from tests.support.routing import Clock, Table, routing_table

pytestmark = pytest.mark.integration


@pytest.fixture
def table(dynamodb_endpoint: str | None) -> Iterator[Table]:
    yield from routing_table(dynamodb_endpoint)


def needs_dynamodb_local(table: Table) -> None:
    # Conditional writes are atomic on DynamoDB (and DynamoDB Local, its engine); moto's
    # in-process backend does not lock between threads, so a race there proves nothing.
    if table.endpoint is None:
        pytest.skip("concurrent conditional writes need DynamoDB Local (make dynamodb-local, Java 17)")


def fail(breaker: Breaker, times: int, account: str = "cn-a") -> list[HealthChange]:
    changes = [
        breaker.record(account, "action_v1", Verdict.FAILURE, "connection refused") for _ in range(times)
    ]
    return [c for c in changes if c is not None]


def test_the_circuit_opens_after_consecutive_not_sent_calls_and_a_success_resets_the_count(
    table: Table,
) -> None:
    clock = Clock()
    breaker = table.breaker(clock)
    # Given two failures, then a success: the count starts again
    assert fail(breaker, 2) == []
    assert breaker.record("cn-a", "action_v1", Verdict.SUCCESS, "accepted") is None
    assert fail(breaker, 2) == [] and breaker.acquire("cn-a").allowed
    # When a third consecutive failure comes
    changes = fail(breaker, 1)
    # Then the circuit opens once, with its event detail and metrics, and calls are refused
    assert [(c.previous, c.state, c.consecutive_failures) for c in changes] == [
        (CircuitState.CLOSED, CircuitState.OPEN, 3)
    ]
    detail = route_health_detail(changes[0])
    assert detail["account"] == "cn-a" and detail["vendor"] == "action_v1"
    assert detail["state"] == "open" and detail["previous_state"] == "closed"
    assert detail["reason"] == "connection refused" and detail["retry_at"] == "2027-01-15T08:01:00.000Z"
    assert health_metrics(changes[0]) == [ROUTE_HEALTH_METRIC, CIRCUIT_OPENED_METRIC]
    gate = breaker.acquire("cn-a")
    assert not gate.allowed and gate.reason == "circuit open"
    # And later failures while open change nothing
    assert fail(breaker, 3) == []


def test_after_the_cool_down_exactly_one_of_many_concurrent_probers_wins(table: Table) -> None:
    needs_dynamodb_local(table)
    clock = Clock()
    fail(table.breaker(clock), 3)
    clock.now += 60
    # Given eight instances, each with its own client, asking at the same moment
    instances = [table.breaker(clock) for _ in range(8)]
    start = threading.Barrier(len(instances))
    gates: list[Any] = [None] * len(instances)

    def ask(index: int) -> None:
        start.wait(timeout=30)
        gates[index] = instances[index].acquire("cn-a")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(instances))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then exactly one holds the probe (and reports the half-open change); the others wait
    assert all(g is not None for g in gates)
    probes = [g for g in gates if g.probe is not None]
    assert len(probes) == 1 and probes[0].allowed
    assert probes[0].change is not None and probes[0].change.state is CircuitState.HALF_OPEN
    assert sum(g.allowed for g in gates) == 1
    # When the probe succeeds, the circuit closes and every instance may call again
    closed = instances[0].record("cn-a", "action_v1", Verdict.SUCCESS, "accepted", probe=probes[0].probe)
    assert closed is not None and (closed.previous, closed.state) == (
        CircuitState.HALF_OPEN,
        CircuitState.CLOSED,
    )
    assert all(i.acquire("cn-a").allowed for i in instances)


def test_two_instances_crossing_the_threshold_together_open_the_circuit_once(table: Table) -> None:
    needs_dynamodb_local(table)
    clock = Clock()
    first, second = table.breaker(clock), table.breaker(clock)
    start = threading.Barrier(2)
    found: list[HealthChange] = []

    def failures(breaker: Breaker) -> None:
        start.wait(timeout=30)
        found.extend(fail(breaker, 5))

    threads = [threading.Thread(target=failures, args=(b,)) for b in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [c.state for c in found] == [CircuitState.OPEN]


def test_a_failed_probe_opens_the_circuit_again_for_a_new_cool_down(table: Table) -> None:
    clock = Clock()
    breaker = table.breaker(clock)
    fail(breaker, 3)
    clock.now += 61
    gate = breaker.acquire("cn-a")
    assert gate.probe is not None
    reopened = breaker.record("cn-a", "action_v1", Verdict.FAILURE, "HTTP 503", probe=gate.probe)
    assert reopened is not None and (reopened.previous, reopened.state) == (
        CircuitState.HALF_OPEN,
        CircuitState.OPEN,
    )
    clock.now += 59
    assert not breaker.acquire("cn-a").allowed
    clock.now += 1
    assert breaker.acquire("cn-a").probe is not None


def test_a_probe_that_never_reports_frees_the_circuit_after_its_lease(table: Table) -> None:
    clock = Clock()
    fail(table.breaker(clock), 3)
    clock.now += 60
    assert table.breaker(clock).acquire("cn-a").probe is not None  # this instance then dies
    other = table.breaker(clock)
    assert not other.acquire("cn-a").allowed
    clock.now += 30
    taken_over = other.acquire("cn-a")
    assert taken_over.probe is not None and taken_over.change is None  # still half-open: no new event


def test_a_probe_with_nothing_to_tell_frees_the_circuit_for_the_next_probe(table: Table) -> None:
    clock = Clock()
    breaker = table.breaker(clock)
    fail(breaker, 3)
    clock.now += 60
    gate = breaker.acquire("cn-a")
    assert breaker.record("cn-a", "action_v1", Verdict.NEUTRAL, "read timeout", probe=gate.probe) is None
    assert breaker.acquire("cn-a").probe is not None


def test_the_table_stream_carries_exactly_the_health_changes(table: Table) -> None:
    # Given a circuit that opens, half-opens and closes, with failures counted in between
    clock = Clock()
    breaker = table.breaker(clock)
    returned = fail(breaker, 4)
    clock.now += 60
    gate = breaker.acquire("cn-a")
    returned += [c for c in [gate.change] if c]
    returned += [
        c for c in [breaker.record("cn-a", "action_v1", Verdict.SUCCESS, "ok", probe=gate.probe)] if c
    ]
    # When the stream's records are read as the publisher would read them
    streams = boto3.client("dynamodbstreams", endpoint_url=table.endpoint)
    arn = table.client().describe_table(TableName=table.name)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        answer = streams.get_records(ShardIterator=iterator)
        records += [repair_stream_record(r)["dynamodb"] for r in answer["Records"]]
    changes = [
        change_from_images(
            deserialize(r["NewImage"]), deserialize(r["OldImage"]) if "OldImage" in r else None
        )
        for r in records
    ]
    # Then the changes it carries are the breaker's, one each, with the same details
    from_stream = [route_health_detail(c) for c in changes if c is not None]
    assert [(d["previous_state"], d["state"]) for d in from_stream] == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]
    assert from_stream == [route_health_detail(c) for c in returned]


def test_the_health_view_for_choose(table: Table) -> None:
    clock = Clock()
    settings = RoutingSettings(
        breaker_failures=3, skip_low_balance=True, delivery_rate_threshold=0.5, delivery_min_finals=10
    )
    reader = HealthReader(table.name, settings, table.client(), clock)
    # Given cn-a open, cn-b polled below its threshold, cn-c delivering 3 in 10, cn-d healthy
    fail(table.breaker(clock, settings), 3)
    Store(table.name, dynamodb=table.client()).record_balance(
        "cn-b", "paasw_v1", BalanceIn(Decimal(5), "CNY"), low=True, threshold=100
    )
    for n in range(10):
        reader.record_final("cn-c", delivered=n < 3)
    # When the view is read
    view = reader.view(["cn-a", "cn-b", "cn-c", "cn-d"])
    # Then each account's state is as routing needs it, and a healthy account is left out
    assert view == {
        "cn-a": AccountHealth(available=False, reason="circuit open"),
        "cn-b": AccountHealth(low_balance=True),
        "cn-c": AccountHealth(weight_factor=0.25),
    }
    # And after the window the old reports no longer count; after the cool-down cn-a may probe
    clock.now += settings.delivery_window_seconds + 600
    assert reader.view(["cn-a", "cn-c"]) == {}
