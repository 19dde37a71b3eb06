"""What a report and a message cost, counted at the handlers' boto3 client (botocore event hooks,
tests/support/dynamodb_calls.py) against moto, each figure against its reference in the same run
(issue 11.4, 11.5, 11.7). The real Send and Callback functions run in process; the action_v1
stand-in answers the vendor calls.

- writes and calls per single-report push, against one write (and the 3 writes, 4 calls before);
- DynamoDB calls per one-recipient message, against 3 (and ~6 before), and the orphan-adoption
  reads of a 10,000-recipient message, against 300 BatchGetItem calls before;
- CPU per single-report push, against a minimal handler (parse, one put, one put_events);
- send time of 10,000 recipients against 10x that of 1,000 (linear);
- vendor calls against ceil(n / limit) for every vendor at 10, 1,000, 10,000 recipients, in one
  and in ten messages (planning with the real adapters: no vendor is called).

    python bench/costs.py
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "sms-gateway",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

import warnings  # noqa: E402

import pytest  # noqa: E402
from botocore.awsrequest import AWSResponse, HTTPHeaders  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core.models import botocore_stubber  # noqa: E402

from sms_gateway import runtime  # noqa: E402
from sms_gateway.accounts import Account  # noqa: E402
from sms_gateway.http import VendorHttp  # noqa: E402
from sms_gateway.models import OutboundItem, SendRequest  # noqa: E402
from sms_gateway.sending.plan import Work, plan_calls  # noqa: E402
from sms_gateway.vendors.base import adapter_class  # noqa: E402
from tests.support import pushes  # noqa: E402
from tests.support.action_v1_vendor import ActionV1Vendor  # noqa: E402
from tests.support.aws import (  # noqa: E402
    BUS,
    CALLBACK_TOKEN,
    TABLE,
    AwsEnv,
    FakeContext,
    action_v1_account,
    load_event,
    load_handler,
)
from tests.support.dynamodb_calls import Calls, counted  # noqa: E402
from tests.support.handlers import sqs_event  # noqa: E402
from tests.support.iam import use_roles  # noqa: E402
from tests.support.vendor_server import VendorServer  # noqa: E402

PUSHES = 200  # single-report pushes timed for the CPU figure


def row(name: str, value: float, reference: float, unit: str = "") -> None:
    print(f"  {name:<58}{value:>10,.2f}{unit:<3} vs {reference:>9,.2f}{unit:<3} = {value / reference:>6.2f}x")


def quiet(fn: Callable[[], Any]) -> Any:
    """The handlers print their EMF metrics to stdout: kept out of the figures."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn()


def send(message_id: str, numbers: list[str]) -> None:
    body = {"id": message_id, "to": numbers, "content": "bench"}
    answer = quiet(lambda: load_handler("send")(sqs_event(body), FakeContext(remaining_ms=900_000)))
    assert answer["batchItemFailures"] == [], answer


def push(body: Any) -> dict[str, Any]:
    event = load_event("callback/action_v1-push.json")
    event["queryStringParameters"] = {"token": CALLBACK_TOKEN}
    event["rawQueryString"] = f"token={CALLBACK_TOKEN}"
    event["body"] = json.dumps(body)
    return quiet(lambda: load_handler("callback")(event, FakeContext()))  # type: ignore[no-any-return]


def numbers(count: int, first: int = 0) -> list[str]:
    return [f"1390{n:07d}" for n in range(first, first + count)]


def counted_calls(fn: Callable[[], Any]) -> Calls:
    with counted(runtime.current().client("dynamodb")) as calls:
        fn()
    return calls


def per_report(aws: AwsEnv, vendor: ActionV1Vendor, monkeypatch: pytest.MonkeyPatch) -> None:
    send("bench-report", numbers(PUSHES))
    reports = [vendor.report_for(n, "DELIVRD") for n in numbers(PUSHES)]
    calls = counted_calls(lambda: push([reports[0]]))
    print("single-report push (action_v1, pushes again until acked); before: 3 writes, 4 calls")
    row("DynamoDB writes per push", calls.writes, 1.0)
    row("DynamoDB calls per push", calls.calls, 2.0)
    once = json.loads(pushes.sample_body("pwd_v1", "report"))
    pushes.submitted("pwd_v1", "bench-once", "+8613512349831", once["sendId"])
    pusher = pushes.Pusher()
    calls = counted_calls(lambda: quiet(lambda: pusher("pwd_v1", "report", once)))
    print("single-report push (pwd_v1, pushes once only: raw body kept before the ack)")
    row("DynamoDB writes per push", calls.writes, 1.0)
    cpu_per_report(aws, monkeypatch, reports[1:])


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


# What AWS answers each call of a single-report push and of the minimal handler, in process:
# the CPU measured is ours (and botocore's), not a mock's. botocore calls every before-send
# handler and takes the first answer, so moto's stubber is taken off these clients meanwhile:
# left on, it would still emulate each call (its DynamoDB parses every update expression) and
# its answer would merely be dropped.
_CANNED = {
    "GetItem": {"Item": {"pk": {"S": "VID#x"}, "sk": {"S": "RCPT#x"}, "message_id": {"S": "bench-report"}}},
    "UpdateItem": {},
    "PutItem": {},
    "PutEvents": {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]},
}


def _canned(request: Any, **_: Any) -> AWSResponse:
    operation = str(request.headers.get("X-Amz-Target", b"")).split(".")[-1].rstrip("'")
    body = json.dumps(_CANNED[operation]).encode()
    headers = HTTPHeaders()
    headers["x-amzn-requestid"] = "bench"
    return AWSResponse(request.url, 200, headers, _Body(body))


def cpu_per_report(aws: AwsEnv, monkeypatch: pytest.MonkeyPatch, reports: list[dict[str, Any]]) -> None:
    # A warm instance as Lambda keeps one: the accounts document cached for its default time (the
    # tests' environment reads it again at every call, a GetParameter per push).
    monkeypatch.delenv("ACCOUNTS_CACHE_SECONDS")
    aws.new_instance()
    handler = load_handler("callback")
    event = load_event("callback/action_v1-push.json")
    event["queryStringParameters"] = {"token": CALLBACK_TOKEN}
    events = [dict(event, body=json.dumps([r])) for r in reports]
    db, bus = runtime.current().client("dynamodb"), runtime.current().client("events")

    def minimal(one: dict[str, Any]) -> None:
        record = json.loads(one["body"])[0]
        db.put_item(TableName=TABLE, Item={"pk": {"S": f"MIN#{record['mid']}"}, "sk": {"S": "R"}})
        bus.put_events(
            Entries=[{"Source": "bench", "DetailType": "r", "Detail": one["body"], "EventBusName": BUS}]
        )

    def cpu(fn: Callable[[dict[str, Any]], Any]) -> float:
        fn(events[0])  # warm
        start = time.process_time()
        for one in events:
            fn(one)
        return (time.process_time() - start) / len(events)

    use_roles(None)  # the role check is the tests', not Lambda's
    for each in (db, bus):
        each.meta.events.register_first("before-send", _canned, unique_id="bench-canned")
        each.meta.events.unregister("before-send", botocore_stubber)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            ours = cpu(lambda one: handler(one, FakeContext()))
            floor = cpu(minimal)
    finally:
        for each in (db, bus):
            each.meta.events.unregister("before-send", unique_id="bench-canned")
            each.meta.events.register("before-send", botocore_stubber)
    print("CPU per single-report push, AWS answered in process; before: 2.7x")
    row("CPU ms per push (vs parse + one put + one put_events)", ours * 1000, floor * 1000, "ms")


def per_message() -> None:
    calls = counted_calls(lambda: send("bench-one", numbers(1, 500_000)))
    print("one-recipient message; before: ~6 calls (claim, query, mark, clear, finish, put) + lookups")
    row("DynamoDB calls per message", calls.calls, 3.0)
    timings: dict[int, float] = {}
    for count in (1_000, 10_000):
        start = time.perf_counter()
        calls = counted_calls(lambda count=count: send(f"bench-{count}", numbers(count, 600_000)))  # type: ignore[misc]
        timings[count] = time.perf_counter() - start
        gets = calls.operations.count("BatchGetItem")
        print(f"  {count:>6,} recipients: {calls.calls:,} DynamoDB calls, {gets} BatchGetItem (orphan reads)")
    print("send time (moto in process), 10,000 recipients against 10x 1,000 (linear)")
    row("seconds for 10,000 recipients", timings[10_000], 10 * timings[1_000], "s")


def vendor_calls() -> None:
    print("vendor calls against ceil(n / limit), planned with the real adapters")
    accounts = json.loads((ROOT / "local_runner" / "accounts.sample.json").read_text())["accounts"]
    worst = 1.0
    for document in accounts:
        account = Account(**document)
        adapter = adapter_class(account.vendor)(account, VendorHttp())
        country, digits = ("+234803", 7) if account.vendor == "intl_v1" else ("+86139", 8)
        for total in (10, 1_000, 10_000):
            for messages in (1, 10):
                works = []
                for m in range(messages):
                    share = range(m * total // messages, (m + 1) * total // messages)
                    request = SendRequest(
                        id=f"v{m}", to=[f"{country}{n:0{digits}d}" for n in share], content="x"
                    )
                    items = tuple(OutboundItem(f"v{m}", number, None) for number in request.to)
                    works.append(
                        Work(
                            sqs_id=f"s{m}",
                            message_id=f"v{m}",
                            request=request,
                            account=account,
                            adapter=adapter,
                            items=items,
                        )
                    )
                calls = len(plan_calls(works, datetime.now(UTC)))
                width = len(adapter.vendor_number(f"{country}{0:0{digits}d}")) + 1
                limit = adapter.max_recipients_per_call
                if adapter.max_numbers_chars:
                    limit = min(limit, (adapter.max_numbers_chars + 1) // width)
                floor = math.ceil(total / limit)
                worst = max(worst, calls / floor)
                print(
                    f"  {account.vendor:<9}{total:>7,} recipients in {messages:>2} message(s): "
                    f"{calls:>4} calls vs ceil(n/{limit}) = {floor:>4} -> {calls / floor:.2f}x"
                )
    print(f"  worst vendor-call ratio: {worst:.2f}x")


def main() -> None:
    warnings.simplefilter("ignore")
    vendor_calls()
    server = VendorServer().start()
    monkeypatch = pytest.MonkeyPatch()
    try:
        # AwsEnv installs a composition root of its own: nothing cached under moto outlives it.
        with mock_aws(), contextlib.ExitStack() as stack:
            aws = AwsEnv(monkeypatch, stack)
            aws.put_accounts(action_v1_account(server.url), pushes.account("pwd_v1"))
            vendor = ActionV1Vendor(server)
            per_report(aws, vendor, monkeypatch)
            per_message()
    finally:
        monkeypatch.undo()
        server.stop()


if __name__ == "__main__":
    main()
