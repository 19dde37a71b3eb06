"""Per-account counts of recent outcomes, for GET /accounts/{name}: "the last hour's submitted,
delivered and failed".

Why counters and not a query: nothing indexes recipients by account and time, and counting a busy
account's hour from the records would read thousands of items per request. Instead the publish
function, which sees every committed change of a recipient on the stream, adds each batch's
outcomes to one small item per (account, 5-minute bucket): one UpdateItem ADD per bucket touched
by the batch, however many records it holds. The status API reads the last hour's 12 buckets in
one BatchGetItem.

The counts are approximate by design: a batch the stream delivers again (a retry after a
PutEvents failure) is counted again. Counter items are not events (the stream filter drops their
type) and expire after two days.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sms_gateway.observability import logger

COUNTER = "counter"
BUCKET_SECONDS = 300
WINDOW_BUCKETS = 12  # the last hour: the current (partial) bucket and the 11 before it
KEEP_SECONDS = 2 * 86400
OUTCOMES = ("submitted", "delivered", "failed")
# Final statuses that count as failed; `delivered` is counted apart.
FAILED = frozenset({"failed", "undelivered", "expired", "rejected", "unknown"})


def bucket_of(moment: datetime) -> str:
    """The bucket's start as text (UTC, minutes), sortable: 2026-12-01T23:55."""
    utc = moment.astimezone(UTC)
    start = utc.replace(minute=utc.minute - utc.minute % (BUCKET_SECONDS // 60), second=0, microsecond=0)
    return start.strftime("%Y-%m-%dT%H:%M")


def counter_key(account: str, bucket: str) -> dict[str, Any]:
    # Not under ACCOUNT#: readers of an account's balance and token items never meet counters.
    return {"pk": {"S": f"COUNTS#{account}"}, "sk": {"S": bucket}}


def outcome_of(record: dict[str, Any]) -> tuple[str, str] | None:
    """(account, outcome) a stream record of a recipient adds to, or None."""
    change = record.get("dynamodb") or {}
    new, old = change.get("NewImage") or {}, change.get("OldImage") or {}
    if new.get("type", {}).get("S") != "recipient":
        return None
    account = new.get("account", {}).get("S")
    status = new.get("status", {}).get("S")
    if not account or not status or status == old.get("status", {}).get("S"):
        return None
    if status == "submitted":
        return account, "submitted"
    if status == "delivered":
        return account, "delivered"
    return (account, "failed") if status in FAILED else None


def _moment(record: dict[str, Any]) -> datetime:
    created = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
    if isinstance(created, int | float):
        return datetime.fromtimestamp(float(created), tz=UTC)
    return datetime.now(UTC)


@dataclass(frozen=True)
class RecentCounts:
    since: str  # the oldest bucket's start
    submitted: int
    delivered: int
    failed: int


class OutcomeCounters:
    def __init__(self, table: str, dynamodb: Any, *, keep_seconds: int = KEEP_SECONDS) -> None:
        self.table = table
        self._db = dynamodb
        self._keep = keep_seconds

    def count(self, records: list[dict[str, Any]]) -> None:
        """Add a stream batch's outcomes. Never fails the batch: the counts are a convenience, and
        a failure here must not hold events back."""
        totals: Counter[tuple[str, str, str]] = Counter()
        for record in records:
            found = outcome_of(record)
            if found:
                totals[(found[0], bucket_of(_moment(record)), found[1])] += 1
        per_bucket: dict[tuple[str, str], dict[str, int]] = {}
        for (account, bucket, outcome), n in totals.items():
            per_bucket.setdefault((account, bucket), {})[outcome] = n
        expires = int(datetime.now(UTC).timestamp()) + self._keep
        for (account, bucket), counts in per_bucket.items():
            try:
                self._add(account, bucket, counts, expires)
            except (ClientError, BotoCoreError) as exc:
                logger.warning(
                    "outcome counts not added", extra={"account": account, "error": type(exc).__name__}
                )

    def _add(self, account: str, bucket: str, counts: dict[str, int], expires: int) -> None:
        names = {f"#{o}": o for o in counts}
        values: dict[str, Any] = {f":{o}": {"N": str(n)} for o, n in counts.items()}
        values.update({":type": {"S": COUNTER}, ":account": {"S": account}, ":expires": {"N": str(expires)}})
        self._db.update_item(
            TableName=self.table,
            Key=counter_key(account, bucket),
            UpdateExpression="SET #type = :type, account = :account, expires_at = :expires ADD "
            + ", ".join(f"#{o} :{o}" for o in counts),
            ExpressionAttributeNames={**names, "#type": "type"},
            ExpressionAttributeValues=values,
        )

    def recent(self, account: str, now: datetime | None = None) -> RecentCounts:
        """The last hour's counts (12 buckets, the current one partial): one BatchGetItem."""
        moment = now or datetime.now(UTC)
        buckets = [bucket_of(moment - timedelta(seconds=BUCKET_SECONDS * i)) for i in range(WINDOW_BUCKETS)]
        keys = [counter_key(account, b) for b in buckets]
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        for _ in range(5):
            answer = self._db.batch_get_item(RequestItems=request)
            found += answer.get("Responses", {}).get(self.table, [])
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        totals = {o: sum(int(i.get(o, {}).get("N", "0")) for i in found) for o in OUTCOMES}
        return RecentCounts(since=buckets[-1], **totals)
