"""SQS event source mappings, played as Lambda's poller plays them.

Why it exists: moto does not run mappings without Docker, and SAM has no local SQS trigger.
Per mapping (queue ARN, BatchSize, MaximumBatchingWindowInSeconds, FilterCriteria,
FunctionResponseTypes, all as the stack created them), one thread:

1. long-polls the queue (1 s waits, so stopping is prompt); once a message arrived, keeps
   receiving until BatchSize messages or the batching window has passed since the first;
2. drops (deletes) messages no filter matches, as Lambda does;
3. invokes the function with the Lambda SQS event (``Records[]``: messageId, receiptHandle,
   body, attributes incl. ApproximateReceiveCount, messageAttributes in Lambda's camelCase,
   md5OfBody, eventSource ``aws:sqs``, eventSourceARN, awsRegion);
4. deletes what succeeded: with ReportBatchItemFailures, everything but the reported
   ``batchItemFailures`` (a malformed report fails the whole batch, as in Lambda); if the
   invocation raised or timed out, nothing. What is not deleted comes back after the queue's
   visibility timeout, and moves to the dead-letter queue after maxReceiveCount (moto
   implements the redrive policy).

The batching window is capped (``--max-batch-window``, 1 s by default) so a laptop does not
wait minutes for a batch; the cap is logged when it changes the template's value.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any

from local_runner.embedded_aws import EmbeddedAws
from local_runner.stack import EventSourceMapping
from local_runner.triggers.filters import matches_any, sqs_filter_view
from local_runner.workers import Functions, InvocationResult

log = logging.getLogger("local_runner.sqs")
RECEIVE_WAIT_SECONDS = 1
SQS_RECEIVE_LIMIT = 10


def lambda_record(message: dict[str, Any], source_arn: str, region: str) -> dict[str, Any]:
    """One received SQS message in the shape Lambda puts in ``Records[]``."""
    attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        entry: dict[str, Any] = {
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType"),
        }
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            binary = value["BinaryValue"]
            entry["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
        attributes[name] = entry
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": source_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_ids(result: InvocationResult, batch_ids: list[str], report_failures: bool) -> set[str]:
    """The message ids to leave on the queue after an invocation (Lambda's rules)."""
    if not result.ok:
        return set(batch_ids)
    if not report_failures or not isinstance(result.payload, dict):
        return set()
    failures = result.payload.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            return set(batch_ids)  # an invalid report fails the whole batch
        failed.add(identifier)
    return failed


class SqsPoller:
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
        self._sqs = aws.new_client("sqs", read_timeout=RECEIVE_WAIT_SECONDS + 20)
        queue_name, owner = mapping.source_arn.rsplit(":", 1)[1], mapping.source_arn.split(":")[4]
        self.queue_url = self._sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=owner)[
            "QueueUrl"
        ]
        self.queue_name = queue_name
        self.window = min(mapping.batching_window, max_window)
        self.report_failures = "ReportBatchItemFailures" in mapping.response_types
        if self.window < mapping.batching_window:
            log.info(
                "%s: batching window %.0f s capped to %.1f s locally",
                mapping.logical_id,
                mapping.batching_window,
                self.window,
            )
        self._thread = threading.Thread(target=self._run, name=f"sqs-{mapping.logical_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def describe(self) -> str:
        return (
            f"{self.mapping.function} <- sqs {self.queue_name} (batch {self.mapping.batch_size}, "
            f"window {self.window:g} s{', partial failures' if self.report_failures else ''})"
        )

    # ------------------------------------------------------------------ loop
    def _receive(self, limit: int, wait: int) -> list[dict[str, Any]]:
        answer = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(SQS_RECEIVE_LIMIT, limit)),
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(answer.get("Messages", []))

    def _gather(self) -> list[dict[str, Any]]:
        batch = self._receive(self.mapping.batch_size, RECEIVE_WAIT_SECONDS)
        if not batch:
            return []
        first = time.monotonic()
        seen = {m["MessageId"] for m in batch}
        while len(batch) < self.mapping.batch_size and time.monotonic() - first < self.window:
            more = self._receive(self.mapping.batch_size - len(batch), 0)
            fresh = [m for m in more if m["MessageId"] not in seen]
            seen.update(m["MessageId"] for m in fresh)
            batch += fresh
            if not more:
                self._stop.wait(min(0.05, max(0.0, self.window - (time.monotonic() - first))))
        return batch

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._gather()
                if messages:
                    self._deliver(messages)
            except Exception:
                if self._stop.is_set():
                    return
                log.exception(
                    "%s: polling %s failed; retrying in 1 s", self.mapping.logical_id, self.queue_name
                )
                self._stop.wait(1.0)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        records = [lambda_record(m, self.mapping.source_arn, self._region) for m in messages]
        kept = [r for r in records if matches_any(self.mapping.filters, sqs_filter_view(r))]
        dropped = [r for r in records if r not in kept]
        if dropped:
            self._delete(dropped)
            log.info(
                "%s: %d message(s) matched no filter and were deleted", self.mapping.logical_id, len(dropped)
            )
        if not kept:
            return
        ids = [r["messageId"] for r in kept]

        def outcome(result: InvocationResult) -> str:
            failed = failed_ids(result, ids, self.report_failures)
            if not result.ok:
                return f"error ({result.error_text}); {len(ids)} message(s) left for redelivery"
            if failed:
                return f"partial ({len(failed)} of {len(ids)} reported failed, left for redelivery)"
            return "ok"

        result = self._functions.invoke(
            self.mapping.function,
            {"Records": kept},
            trigger=f"sqs:{self.queue_name}",
            records=len(kept),
            outcome=outcome,
        )
        failed = failed_ids(result, ids, self.report_failures)
        self._delete([r for r in kept if r["messageId"] not in failed])

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            answer = self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )
            for failure in answer.get("Failed", []):
                log.warning("%s: could not delete a message: %s", self.mapping.logical_id, failure)
