"""DynamoDB stream event source mappings, played as Lambda's stream poller plays them.

Why it exists: the table's stream is the application's outbox (PublishFunction turns committed
changes into events), and neither SAM nor moto (without Docker) runs it locally.

Per mapping (stream ARN, StartingPosition, BatchSize, MaximumBatchingWindowInSeconds,
FilterCriteria, FunctionResponseTypes, BisectBatchOnFunctionError, as the stack created them),
one thread reads the stream through moto's DynamoDB Streams API (describe_stream,
get_shard_iterator, get_records) from a checkpoint, and:

* drops the records no filter matches (they count as processed, as in Lambda);
* batches up to BatchSize matching records, waiting at most the batching window (capped like
  SQS's) for a batch to fill;
* invokes with Lambda's DynamoDB event: ``Records[]`` with eventID, eventName, eventVersion,
  eventSource ``aws:dynamodb``, awsRegion, dynamodb{Keys, NewImage, OldImage, SequenceNumber,
  SizeBytes, StreamViewType, ApproximateCreationDateTime (epoch seconds)}, eventSourceARN;
* on success moves the checkpoint past the batch; on ``batchItemFailures`` moves it to just
  before the lowest failed sequence number, so that record and everything after it is
  retried; if the invocation raised or timed out the whole batch is retried (halved first
  when BisectBatchOnFunctionError). Retries back off up to 10 s and NEVER skip a record:
  MaximumRetryAttempts, MaximumRecordAgeInSeconds and the on-failure destination are not
  emulated, deliberately (locally a stuck record should be seen, not discarded).

A fresh shard iterator is taken from the checkpoint for every read (moto replaces a table's
stream object when it rolls a transaction back, and an old iterator would not see new records).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local_runner.dynamodb_local import repair_stream_record
from local_runner.embedded_aws import EmbeddedAws
from local_runner.stack import EventSourceMapping
from local_runner.triggers.filters import matches_any
from local_runner.workers import Functions, InvocationResult

log = logging.getLogger("local_runner.streams")
READ_LIMIT = 1000  # DynamoDB Streams' own maximum per GetRecords
IDLE_POLL_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 10.0


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime):
        return int(value.timestamp())  # AWS rounds down to the second
    return value


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One GetRecords record in the shape Lambda puts in ``Records[]``."""
    dynamodb = _jsonable(repair_stream_record(record).get("dynamodb") or {})
    return {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": record.get("eventSource", "aws:dynamodb"),
        "awsRegion": region,  # moto writes us-east-1 whatever the region
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def retry_from(result: InvocationResult, batch: list[dict[str, Any]], report_failures: bool) -> str | None:
    """The sequence number to retry from, or None when the whole batch succeeded."""
    if not result.ok:
        return sequence(batch[0])
    if not report_failures or not isinstance(result.payload, dict):
        return None
    failures = result.payload.get("batchItemFailures")
    if not failures:
        return None
    in_batch = {sequence(r) for r in batch}
    failed = []
    for failure in failures if isinstance(failures, list) else [None]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in in_batch:
            return sequence(batch[0])  # an invalid report fails the whole batch
        failed.append(identifier)
    return min(failed, key=int)


class StreamPoller:
    def __init__(
        self,
        mapping: EventSourceMapping,
        functions: Functions,
        aws: EmbeddedAws,
        stop: threading.Event,
        max_window: float = 1.0,
    ) -> None:
        self.mapping = mapping
        self._functions = functions
        self._stop = stop
        self._region = aws.region
        # One attempt per call: this loop retries itself, from its checkpoint.
        self._streams = aws.new_client("dynamodbstreams", retries={"mode": "standard", "max_attempts": 1})
        self.window = min(mapping.batching_window, max_window)
        self.report_failures = "ReportBatchItemFailures" in mapping.response_types
        self.table = mapping.source_arn.split(":", 5)[5].split("/")[1]
        self._checkpoints: dict[str, str | None] = {}  # shard -> last processed sequence number
        self._limit = mapping.batch_size
        self._backoff = 0.0
        self._pending_since: float | None = None
        if self.window < mapping.batching_window:
            log.info(
                "%s: batching window %.0f s capped to %.1f s locally",
                mapping.logical_id,
                mapping.batching_window,
                self.window,
            )
        self._thread = threading.Thread(target=self._run, name=f"stream-{mapping.logical_id}", daemon=True)

    def describe(self) -> str:
        return (
            f"{self.mapping.function} <- dynamodb stream of {self.table} (batch {self.mapping.batch_size}, "
            f"window {self.window:g} s, {len(self.mapping.filters)} filter(s), "
            f"from {self.mapping.starting_position})"
        )

    def start(self) -> None:
        for shard in self._shards():
            self._checkpoints[shard] = None
            if self.mapping.starting_position == "LATEST":
                records = self._read(shard)
                if records:
                    self._checkpoints[shard] = sequence(records[-1])
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    # ------------------------------------------------------------------ stream access
    def _shards(self) -> list[str]:
        description = self._streams.describe_stream(StreamArn=self.mapping.source_arn)["StreamDescription"]
        return [s["ShardId"] for s in description.get("Shards", [])]

    def _read(self, shard: str) -> list[dict[str, Any]]:
        checkpoint = self._checkpoints.get(shard)
        if checkpoint is None:
            kwargs: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        else:
            kwargs = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": checkpoint}
        iterator = self._streams.get_shard_iterator(
            StreamArn=self.mapping.source_arn, ShardId=shard, **kwargs
        )["ShardIterator"]
        answer = self._streams.get_records(ShardIterator=iterator, Limit=READ_LIMIT)
        return [lambda_record(r, self.mapping.source_arn, self._region) for r in answer.get("Records", [])]

    # ------------------------------------------------------------------ loop
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = False
                for shard in list(self._checkpoints) or self._shards():
                    self._checkpoints.setdefault(shard, None)
                    busy = self._poll(shard) or busy
                if not busy:
                    self._stop.wait(IDLE_POLL_SECONDS)
            except (ClientError, BotoCoreError) as exc:
                if self._stop.is_set():
                    return
                log.debug("%s: stream read failed (%s); again", self.mapping.logical_id, exc)
                self._stop.wait(IDLE_POLL_SECONDS)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("%s: stream poller failed; again in 1 s", self.mapping.logical_id)
                self._stop.wait(1.0)

    def _poll(self, shard: str) -> bool:
        """One read and at most one invocation; True when there may be more to do at once."""
        records = self._read(shard)
        if not records:
            return False
        batch: list[dict[str, Any]] = []
        last_scanned: str | None = None
        previous: dict[str, str | None] = {}  # sequence -> the sequence scanned just before it
        before = self._checkpoints[shard]
        for record in records:
            previous[sequence(record)] = before
            before = sequence(record)
            if matches_any(self.mapping.filters, record):
                batch.append(record)
            last_scanned = sequence(record)
            if len(batch) >= self._limit:
                break
        if not batch:
            self._checkpoints[shard] = last_scanned  # nothing matched: all of it is processed
            self._pending_since = None
            return True
        if len(batch) < self._limit and len(records) < READ_LIMIT:
            now = time.monotonic()
            if self._pending_since is None:
                self._pending_since = now
            if now - self._pending_since < self.window:
                self._stop.wait(min(IDLE_POLL_SECONDS, self.window))
                return False
        self._pending_since = None
        self._invoke(shard, batch, last_scanned, previous)
        return True

    def _invoke(
        self,
        shard: str,
        batch: list[dict[str, Any]],
        last_scanned: str | None,
        previous: dict[str, str | None],
    ) -> None:
        def outcome(result: InvocationResult) -> str:
            failed_from = retry_from(result, batch, self.report_failures)
            if not result.ok:
                return f"error ({result.error_text}); batch retried from {failed_from}"
            if failed_from is not None:
                return f"partial (retry from sequence number {failed_from})"
            return "ok"

        result = self._functions.invoke(
            self.mapping.function,
            {"Records": batch},
            trigger=f"dynamodb-stream:{self.table}",
            records=len(batch),
            outcome=outcome,
        )
        failed_from = retry_from(result, batch, self.report_failures)
        if failed_from is None:
            self._checkpoints[shard] = last_scanned
            self._limit = self.mapping.batch_size
            self._backoff = 0.0
            return
        # Retry from the failed record on: the checkpoint is the record scanned just before it.
        self._checkpoints[shard] = previous[failed_from]
        if not result.ok and self.mapping.bisect_on_error and len(batch) > 1:
            self._limit = max(1, len(batch) // 2)
        self._backoff = min(MAX_BACKOFF_SECONDS, max(0.5, self._backoff * 2))
        self._stop.wait(self._backoff)
