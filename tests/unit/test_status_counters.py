"""The per-account outcome counts the publish function adds from the stream, and the cursors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sms_gateway.status import cursor
from sms_gateway.status.counters import OutcomeCounters, bucket_of, outcome_of
from sms_gateway.status.cursor import InvalidQuery

pytestmark = pytest.mark.unit


def change(new: str | None, old: str | None = None, account: str = "cn-main", kind: str = "recipient") -> Any:
    def image(status: str | None) -> dict[str, Any]:
        return {
            "type": {"S": kind},
            "account": {"S": account},
            **({"status": {"S": status}} if status else {}),
        }

    record: dict[str, Any] = {"dynamodb": {"NewImage": image(new), "ApproximateCreationDateTime": 1796169600}}
    if old:
        record["dynamodb"]["OldImage"] = image(old)
    return record


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (change("submitted"), ("cn-main", "submitted")),
        (change("delivered", "submitted"), ("cn-main", "delivered")),
        (change("undelivered", "submitted"), ("cn-main", "failed")),
        (change("rejected"), ("cn-main", "failed")),  # refused at submission
        (change("unknown"), ("cn-main", "failed")),
        (change("delivered", "delivered"), None),  # another attribute of the record changed
        (change("submitted", kind="balance"), None),
    ],
)
def test_each_change_of_a_recipient_counts_once_as_its_outcome(record: Any, expected: Any) -> None:
    assert outcome_of(record) == expected


class RecordingDb:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def update_item(self, **kwargs: Any) -> None:
        self.updates.append(kwargs)


def test_a_batch_costs_one_update_per_account_and_bucket() -> None:
    # Given a batch of 3 submissions and a delivery of one account, and one submission of another
    db = RecordingDb()
    records = [change("submitted")] * 3 + [
        change("delivered", "submitted"),
        change("submitted", account="intl"),
    ]
    # When it is counted
    OutcomeCounters("t", db).count(records)
    # Then one ADD per (account, bucket) carries the batch's totals
    assert len(db.updates) == 2
    main = next(u for u in db.updates if u["Key"]["pk"]["S"] == "COUNTS#cn-main")
    values = main["ExpressionAttributeValues"]
    assert (values[":submitted"], values[":delivered"]) == ({"N": "3"}, {"N": "1"})
    assert main["Key"]["sk"]["S"] == bucket_of(datetime.fromtimestamp(1796169600, tz=UTC))


def test_buckets_are_five_minutes_of_utc() -> None:
    assert bucket_of(datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC)) == "2026-12-01T23:55"


def test_a_cursor_round_trips_and_is_refused_for_another_query() -> None:
    key = {"pk": {"S": "MSG#a"}, "sk": {"S": "RCPT#+8613800138000"}}
    token = cursor.encode("msg:a", key)
    assert cursor.decode("msg:a", token, frozenset({"pk", "sk"}), {"pk": "MSG#a"}) == key
    with pytest.raises(InvalidQuery):
        cursor.decode("msg:b", token, frozenset({"pk", "sk"}), {"pk": "MSG#b"})
