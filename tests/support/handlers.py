"""Invoking the real handlers the way their triggers would, with the sample events as templates."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.support.aws import FakeContext, load_event, load_handler


def sqs_event(*bodies: Any, first_id: int = 1) -> dict[str, Any]:
    """An SQS batch (the shape of events/send/sqs-batch.json) carrying these send-request bodies."""
    template = load_event("send/sqs-batch.json")["Records"][0]
    records = []
    for index, body in enumerate(bodies, start=first_id):
        record = copy.deepcopy(template)
        record["messageId"] = f"00000000-0000-4000-8000-{index:012d}"
        record["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        records.append(record)
    return {"Records": records}


def send(event: dict[str, Any], remaining_ms: int = 60_000) -> list[str]:
    """The SendFunction on a batch; returns the batch item failures (records SQS will redeliver)."""
    answer = load_handler("send")(event, FakeContext(remaining_ms=remaining_ms))
    return [f["itemIdentifier"] for f in answer["batchItemFailures"]]


def poll(job: str) -> dict[str, Any]:
    """One scheduled run of the reports, inbound or balance poller; returns its per-account summary."""
    return load_handler(f"poll_{job}")(load_event("poll/scheduled.json"), FakeContext())  # type: ignore[no-any-return]
