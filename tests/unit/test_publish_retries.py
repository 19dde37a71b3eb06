"""PutEvents partial failures: only refused entries are put again; what cannot be put is parked
with the item's keys and new image, or handed back to the stream from its first record."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sms_gateway.publishing import Publisher
from tests.support.aws import load_event
from tests.support.faulty_events import FaultyEvents, MemoryBus

pytestmark = pytest.mark.unit

NOW = 1_800_000_000.0


def stream_records(count: int, created: float = NOW) -> list[dict[str, Any]]:
    template = load_event("publish/dynamodb-stream.json")["Records"][0]
    records = []
    for n in range(count):
        record = copy.deepcopy(template)
        record["eventID"] = f"e{n}"
        record["dynamodb"]["NewImage"]["message_id"] = {"S": f"m{n}"}
        record["dynamodb"]["Keys"]["pk"] = {"S": f"MSG#m{n}"}
        record["dynamodb"]["ApproximateCreationDateTime"] = created
        records.append(record)
    return records


class Queue:
    def __init__(self, fail: bool = False) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail = fail

    def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, Any]:  # noqa: N803
        if self.fail:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")
        self.bodies.append(json.loads(MessageBody))
        return {"MessageId": "q"}


def publisher(events: Any, queue: Queue | None = None, **kwargs: Any) -> tuple[Publisher, list[float]]:
    sleeps: list[float] = []
    return (
        Publisher(
            "bus",
            "sms.gateway",
            events,
            failure_queue_url="https://sqs/failures" if queue else None,
            sqs_client=queue,
            sleep=sleeps.append,
            clock=lambda: NOW + 60,
            **kwargs,
        ),
        sleeps,
    )


def test_entries_refused_once_are_put_again_alone_and_each_event_lands_once() -> None:
    # Given EventBridge refusing every third entry on its first attempt
    bus = MemoryBus()
    refused_first: set[str] = set()

    def refuse(detail: str, attempt: int) -> bool:
        if attempt == 1 and len(refused_first) % 3 == 0 and detail not in refused_first:
            refused_first.add(detail)
            return True
        refused_first.add(detail)
        return False

    events = FaultyEvents(bus, refuse)
    pub, sleeps = publisher(events)
    # When 25 records are published
    assert pub.publish_records(stream_records(25)) == set()
    # Then each event was put exactly once, the retries carried only the refused entries,
    # and they waited a bounded, jittered back-off
    assert sorted(bus.counts().values()) == [1] * 25
    refused = [detail for detail, attempts in events.attempts.items() if attempts == 2]
    assert refused and set(events.attempts.values()) == {1, 2}
    assert sum(events.calls) == 25 + len(refused)
    assert all(0 <= s <= 2.0 for s in sleeps) and sleeps


def test_an_entry_refused_on_every_attempt_hands_back_its_record_and_the_later_ones() -> None:
    # Given EventBridge throttling the event of record 13 on every attempt
    bus = MemoryBus()
    records = stream_records(25)
    target = json.dumps({"message_id": "m13"})[1:-1]
    events = FaultyEvents(bus, lambda detail, _attempt: target in detail)
    pub, _ = publisher(events, Queue(), attempts=3)
    # When the batch is published
    retry = pub.publish_records(records)
    # Then record 13 and every later record go back to the stream; nothing is parked (it is young);
    # records 0-12 and the later records of its call were put once, records 20-24 not at all
    assert retry == {f"e{n}" for n in range(13, 25)}
    assert events.attempts[next(d for d in events.attempts if target in d)] == 3
    assert len(bus.put) == 19
    assert max(bus.counts().values()) == 1


def test_a_refusal_that_cannot_heal_is_parked_with_keys_and_new_image_and_not_retried() -> None:
    # Given EventBridge refusing one detail as malformed
    bus = MemoryBus()
    records = stream_records(3)
    target = json.dumps({"message_id": "m1"})[1:-1]
    events = FaultyEvents(bus, lambda detail, _attempt: target in detail, code="MalformedDetail")
    queue = Queue()
    pub, _ = publisher(events, queue)
    # When the batch is published
    assert pub.publish_records(records) == set()
    # Then it was tried once, and the failure queue holds what republishing it needs
    assert events.attempts[next(d for d in events.attempts if target in d)] == 1
    (parked,) = queue.bodies
    assert parked["reason"] == "MalformedDetail" and parked["event_id"] == "e1"
    assert parked["keys"] == records[1]["dynamodb"]["Keys"]
    assert parked["new_image"] == records[1]["dynamodb"]["NewImage"]
    assert [e["DetailType"] for e in parked["entries"]] == ["SMS Delivery Report"]
    assert len(bus.put) == 2
    # And once EventBridge accepts it, republishing puts exactly that event
    assert Publisher("bus", "sms.gateway", bus).republish(parked)
    assert len(bus.put) == 3 and json.loads(bus.put[-1]["Detail"])["message_id"] == "m1"


def test_a_change_failing_for_longer_than_the_park_delay_is_parked_not_handed_back() -> None:
    # Given a record created 20 minutes ago whose event keeps being throttled
    bus = MemoryBus()
    records = stream_records(2, created=NOW + 60 - 1200)
    events = FaultyEvents(bus, lambda detail, _attempt: '"m0"' in detail)
    queue = Queue()
    pub, _ = publisher(events, queue, park_after_seconds=900)
    # When it is published once more
    assert pub.publish_records(records) == set()
    # Then it is parked and the stream moves on
    assert [b["event_id"] for b in queue.bodies] == ["e0"]
    assert queue.bodies[0]["reason"] == "ThrottlingException"


def test_a_change_that_cannot_be_parked_either_goes_back_to_the_stream() -> None:
    bus = MemoryBus()
    events = FaultyEvents(bus, lambda detail, _attempt: '"m0"' in detail, code="MalformedDetail")
    pub, _ = publisher(events, Queue(fail=True))
    assert pub.publish_records(stream_records(2)) == {"e0", "e1"}


def test_a_call_that_raises_is_put_again_whole() -> None:
    # Given EventBridge failing the first call outright, then accepting
    bus = MemoryBus()

    class Flaky:
        calls = 0

        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise ClientError({"Error": {"Code": "InternalException", "Message": "x"}}, "PutEvents")
            return bus.put_events(Entries=Entries)

    pub, _ = publisher(Flaky())
    # When a batch is published
    assert pub.publish_records(stream_records(4)) == set()
    # Then every event landed once
    assert sorted(bus.counts().values()) == [1] * 4


def test_a_change_the_publisher_cannot_read_is_parked_with_its_keys_and_new_image() -> None:
    # Given a recipient change whose image lacks the message id (no event can be built from it),
    # between two good ones
    records = stream_records(3)
    del records[1]["dynamodb"]["NewImage"]["message_id"]
    bus, queue = MemoryBus(), Queue()
    pub, _ = publisher(bus, queue)
    # When the batch is published
    not_published = pub.publish_records(records)
    # Then nothing goes back to the stream (a retry would fail the same way, until the stream
    # dropped it with its metadata only), the good ones are put, and the unreadable one is
    # parked with what republish needs
    assert not_published == set()
    assert len(bus.put) == 2
    (parked,) = queue.bodies
    assert parked["reason"] == "UnreadableChange"
    assert parked["keys"] == records[1]["dynamodb"]["Keys"]
    assert parked["new_image"] == records[1]["dynamodb"]["NewImage"]
