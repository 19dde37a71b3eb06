"""Which committed changes become which events (publishing.events_for), from the sample stream event."""

import copy

import pytest

from sms_gateway.publishing import events_for
from tests.support.aws import load_event

pytestmark = pytest.mark.unit


def sample() -> dict:
    return copy.deepcopy(load_event("publish/dynamodb-stream.json")["Records"][0])


def test_a_status_change_is_one_delivery_report_with_the_contract_fields() -> None:
    ((detail_type, detail),) = events_for(sample())
    assert detail_type == "SMS Delivery Report"
    assert detail == {
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
