"""The status API's first page of a 10,000-recipient message, on DynamoDB Local (issue 12.1's
"under 1 s" target). Prints figures; not a test, and not timed.

The message's 10,000 recipient records are written as the send path writes them (Store), then
GET /messages/{id} is answered by the real StatusFunction handler in process (its resolver, the
reader, JSON), and measured against references taken in the same run on the same table: one
GetItem round trip, and a bare Query of the same page size. The ratio says what the API adds to
the reads it cannot avoid; the absolute time is compared with the 1 s target.

    python bench/status_first_page.py [recipients]
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import statistics
import sys
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

import boto3  # noqa: E402

from local_runner import dynamodb_local  # noqa: E402
from sms_gateway.models import RecipientRecord, Status  # noqa: E402
from sms_gateway.status.reader import DEFAULT_PAGE  # noqa: E402
from sms_gateway.store.facade import Store  # noqa: E402
from tests.support.template import table_definition  # noqa: E402

RUNS = 7
TARGET_SECONDS = 1.0
MESSAGE = "bench-10k"


def timed(fn: Any, runs: int = RUNS) -> float:
    """The median of ``runs`` calls, after one warm-up call."""
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def write_message(store: Store, recipients: int) -> None:
    store.claim_request(MESSAGE, "cn-main", 60)
    records = [
        RecipientRecord(
            message_id=MESSAGE,
            recipient=f"+86139{n:08d}",
            account="cn-main",
            vendor="action_v1",
            status=Status.SUBMITTED,
            vendor_message_id=f"{0x4C2CA88382720003 + n:X}",
            vendor_status="0",
            description="submitted",
            tags={"order": "bench"},
            kind="notification",
        )
        for n in range(recipients)
    ]
    for start in range(0, len(records), 500):
        store.record_submissions(records[start : start + 500])
    store.finish_request(MESSAGE)


def load_status_handler() -> Any:
    folder = ROOT / "functions" / "status"
    for name in ("app", "routes"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location("app_status", folder / "app.py")
        assert spec
        assert spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module.lambda_handler


class _Context:
    function_name = "bench-status"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-status"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def main(recipients: int = 10_000) -> None:
    endpoint = dynamodb_local.shared()
    if endpoint is None:
        print("status first page: skipped (DynamoDB Local unavailable: make dynamodb-local, Java 17)")
        return
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    # Powertools warns at every invocation that the handler emitted no metric: noise here.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    table = f"bench-status-{uuid.uuid4().hex[:8]}"
    os.environ["TABLE_NAME"] = table
    db = boto3.client("dynamodb", endpoint_url=endpoint)
    db.create_table(**table_definition(table))
    try:
        write_message(Store(table, dynamodb=db, write_threads=8), recipients)
        handler = load_status_handler()
        event = json.loads((ROOT / "events" / "status" / "get-message.json").read_text())
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/messages/{MESSAGE}"
        event["pathParameters"] = {"id": MESSAGE}
        answer = handler(event, _Context())
        page = json.loads(answer["body"])
        assert answer["statusCode"] == 200, answer["statusCode"]
        assert len(page["recipients"]) == DEFAULT_PAGE

        def get_item() -> None:
            db.get_item(TableName=table, Key={"pk": {"S": f"MSG#{MESSAGE}"}, "sk": {"S": "REQUEST"}})

        def bare_query() -> None:
            db.query(
                TableName=table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :r)",
                ExpressionAttributeValues={":pk": {"S": f"MSG#{MESSAGE}"}, ":r": {"S": "RCPT#"}},
                Limit=DEFAULT_PAGE,
            )

        reference_get, reference_query = timed(get_item), timed(bare_query)
        first_page = timed(lambda: handler(event, _Context()))
        print(
            f"status first page: GET /messages/{{id}} of a {recipients:,}-recipient message, "
            f"{DEFAULT_PAGE} recipients, {len(answer['body']) / 1024:.0f} KB: {first_page * 1000:.1f} ms "
            f"(median of {RUNS}) = {first_page / reference_query:.1f}x a bare Query of the same page "
            f"({reference_query * 1000:.1f} ms), {first_page / reference_get:.1f}x one GetItem "
            f"({reference_get * 1000:.1f} ms); target {TARGET_SECONDS:.0f} s: "
            f"{'met' if first_page < TARGET_SECONDS else 'MISSED'} ({first_page / TARGET_SECONDS:.0%} of it)"
        )
    finally:
        with contextlib.suppress(Exception):
            db.delete_table(TableName=table)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
