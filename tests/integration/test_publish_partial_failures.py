"""The PublishFunction under PutEvents partial failures (injected at its EventBridge client): each
event reaches the bus exactly once, the stream being played as Lambda plays it (retry from the
lowest reported sequence number)."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from typing import Any

import pytest

from tests.support.action_v1_vendor import ActionV1Vendor
from tests.support.aws import AwsEnv, FakeContext, action_v1_account, load_handler
from tests.support.faulty_events import FaultyEvents
from tests.support.handlers import send, sqs_event
from tests.support.template import stream_filter_types
from tests.support.vendor_server import VendorServer

pytestmark = pytest.mark.integration

MAX_INVOCATIONS = 50  # bounds the stream loop; a few are needed


def refuse_half_on_first_attempt(detail: str, attempt: int) -> bool:
    return attempt == 1 and zlib.crc32(detail.encode()) % 2 == 0


@pytest.fixture
def faulty_bus(aws: AwsEnv) -> FaultyEvents:
    """The functions' EventBridge client refuses about half the entries the first time it sees them."""
    from sms_gateway.aws import new_client

    faulty = FaultyEvents(new_client("events"), refuse_half_on_first_attempt)

    def client(service: str) -> Any:
        return faulty if service == "events" else new_client(service)

    aws.new_instance(client)
    return faulty


def play_stream(aws: AwsEnv, records: list[dict[str, Any]]) -> int:
    """Lambda's stream mapping: batches of 100, retried from the lowest failed sequence number."""
    publish = load_handler("publish")
    position, invocations = 0, 0
    while position < len(records):
        invocations += 1
        assert invocations <= MAX_INVOCATIONS, "the stream did not get past its records"
        batch = records[position : position + 100]
        answer = publish({"Records": batch}, FakeContext())
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        sequences = [r["dynamodb"]["SequenceNumber"] for r in batch]
        position += min((sequences.index(s) for s in failed), default=len(batch))
    return invocations


def test_each_event_is_put_exactly_once_under_partial_put_events_failures(
    aws: AwsEnv, vendor: VendorServer, faulty_bus: FaultyEvents
) -> None:
    # Given 30 recipients submitted to action_v1 (30 committed changes on the stream)
    aws.put_accounts(action_v1_account(vendor.url))
    ActionV1Vendor(vendor)
    numbers = [f"1390000{n:04d}" for n in range(30)]
    assert send(sqs_event({"id": "burst-1", "to": numbers, "content": "通知"})) == []
    wanted = stream_filter_types()
    records = [
        {**r, "eventSourceARN": aws.stream_arn}
        for r in aws._stream_records()
        if r["dynamodb"].get("NewImage", {}).get("type", {}).get("S") in wanted
    ]
    # When the PublishFunction publishes them while EventBridge refuses about half of the entries
    # of every call the first time it sees them
    assert len(records) == 30
    play_stream(aws, records)
    # Then some entries were refused, yet every event reached the bus exactly once
    assert any(attempts > 1 for attempts in faulty_bus.attempts.values())
    aws._drain()
    events = [e for e in aws.published if e["detail-type"] == "SMS Submitted"]
    counts = Counter(
        (e["detail"]["message_id"], e["detail"]["recipient"], e["detail"]["status"]) for e in events
    )
    assert len(counts) == 30
    assert set(counts.values()) == {1}, json.dumps({str(k): v for k, v in counts.items() if v > 1})
