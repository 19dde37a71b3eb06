"""Which committed changes become which events (publishing.events_for), from the sample stream event."""

import copy
from typing import Any

import pytest

from sms_gateway.publishing import events_for
from tests.support.aws import load_event

pytestmark = pytest.mark.unit


def sample() -> dict[str, Any]:
    return copy.deepcopy(load_event("publish/dynamodb-stream.json")["Records"][0])


def test_a_status_change_is_one_delivery_report_with_the_contract_fields() -> None:
    ((detail_type, detail),) = events_for(sample())
    assert detail_type == "SMS Delivery Report"
    assert detail == {
        "version": 1,
        "message_id": "order-1001",
        "recipient": "+8613800138000",
        "account": "cn-main",
        "vendor": "action_v1",
        "vendor_message_id": "4C2CA88382720003",
        "status": "delivered",
        "final": True,
        "vendor_status": "DELIVRD",
        "description": "短信投递成功",
        "occurred_at": "2026-11-23T04:00:03.000Z",
        "submitted_at": "2026-11-23T03:59:58.120Z",
        "vendor_time": "2026-11-23 12:00:03",
        "kind": "notification",
        "tags": {"order": "1001"},
    }


def test_a_change_that_keeps_the_status_publishes_nothing() -> None:
    record = sample()
    record["dynamodb"]["OldImage"] = copy.deepcopy(record["dynamodb"]["NewImage"])
    assert events_for(record) == []


def test_inserts_are_submitted_or_submit_failed() -> None:
    record = sample()
    record["eventName"] = "INSERT"
    record["dynamodb"].pop("OldImage")
    record["dynamodb"]["NewImage"]["status"] = {"S": "submitted"}
    assert [t for t, _ in events_for(record)] == ["SMS Submitted"]
    record["dynamodb"]["NewImage"]["status"] = {"S": "failed"}
    assert [t for t, _ in events_for(record)] == ["SMS Submit Failed"]


def test_removals_and_other_items_publish_nothing() -> None:
    record = sample()
    record["eventName"] = "REMOVE"
    assert events_for(record) == []
    record = sample()
    record["dynamodb"]["NewImage"]["type"] = {"S": "lookup"}
    assert events_for(record) == []


def test_a_low_balance_adds_balance_low() -> None:
    record = sample()
    record["eventName"] = "MODIFY"
    record["dynamodb"]["NewImage"] = {
        "type": {"S": "balance"},
        "account": {"S": "cn-main"},
        "vendor": {"S": "action_v1"},
        "amount": {"N": "95.5"},
        "currency": {"S": "CNY"},
        "low": {"BOOL": True},
        "threshold": {"N": "100"},
        "polled_at": {"S": "2026-11-23T04:00:00.000Z"},
        "raw": {"M": {}},
    }
    assert [t for t, _ in events_for(record)] == ["SMS Balance", "SMS Balance Low"]


class EventsStandIn:
    """EventBridge refusing the entries whose detail-type is listed."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.refuse = refuse or set()

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's parameter name
        self.calls.append(Entries)
        results = [
            {"ErrorCode": "Throttled"} if e["DetailType"] in self.refuse else {"EventId": "x"}
            for e in Entries
        ]
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def stream_records(count: int) -> list[dict[str, Any]]:
    records = []
    for n in range(count):
        record = sample()
        record["eventID"] = f"e{n}"
        records.append(record)
    return records


def test_events_of_many_records_share_put_events_calls() -> None:
    from sms_gateway.publishing import Publisher

    events = EventsStandIn()
    assert Publisher("bus", "sms.gateway", events).publish_records(stream_records(25)) == set()
    assert [len(c) for c in events.calls] == [10, 10, 5]
    assert {e["EventBusName"] for c in events.calls for e in c} == {"bus"}


def test_a_refused_event_returns_its_record_and_every_later_one_for_retry() -> None:
    from sms_gateway.publishing import Publisher

    records = stream_records(12)
    records[3]["eventName"] = "INSERT"
    records[3]["dynamodb"]["NewImage"]["status"] = {"S": "failed"}
    events = EventsStandIn(refuse={"SMS Submit Failed"})
    assert Publisher("bus", "sms.gateway", events).publish_records(records) == {f"e{n}" for n in range(3, 12)}
    assert len(events.calls) == 1
