"""The local runner's parts, each against the real thing it plays with and without the full stack:
worker sandboxes (real subprocesses), the SQS and stream pollers (a real moto server, scripted
function answers), the HTTP API's event and answer mapping, FilterCriteria matching.

Fast (a few seconds): they pin down the Lambda semantics the e2e flow only passes through once.
"""

from __future__ import annotations

import base64
import json
import shutil
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runner.embedded_aws import EmbeddedAws
from local_runner.stack import EventSourceMapping, FunctionSpec, HttpRoute
from local_runner.testing import wait_for
from local_runner.triggers import filters
from local_runner.triggers.http_api import build_event, compile_route, http_answer, match
from local_runner.triggers.sqs import SqsPoller, failed_ids
from local_runner.triggers.streams import StreamPoller, retry_from
from local_runner.workers import FunctionPool, FunctionWorker, InvocationResult, OutputSink, make_runtime_dir

pytestmark = pytest.mark.e2e

TEMPLATE_FILTER = json.loads(
    '{"dynamodb": {"NewImage": {"type": {"S": ["recipient", "inbound", "balance"]}}}}'
)


# --------------------------------------------------------------------------- filters


def _stream_record(kind: str | None) -> dict[str, Any]:
    image = {"pk": {"S": "MSG#1"}} | ({"type": {"S": kind}} if kind else {})
    return {"eventName": "INSERT", "dynamodb": {"NewImage": image}}


@pytest.mark.parametrize(
    ("kind", "kept"), [("recipient", True), ("balance", True), ("inbox", False), (None, False)]
)
def test_the_templates_stream_filter_keeps_only_the_items_that_become_events(
    kind: str | None, kept: bool
) -> None:
    assert filters.matches_any([TEMPLATE_FILTER], _stream_record(kind)) is kept


def test_filter_operators_and_refusals() -> None:
    record = {"body": {"n": 5, "tags": ["a", "b"], "name": "alpha"}}
    assert filters.matches({"body": {"n": [{"numeric": [">", 1, "<=", 5]}]}}, record)
    assert filters.matches({"body": {"tags": ["b"]}}, record)  # any element of a list
    assert filters.matches({"body": {"name": [{"prefix": "al"}]}}, record)
    assert filters.matches({"body": {"missing": [{"exists": False}]}}, record)
    assert not filters.matches({"body": {"name": [{"anything-but": ["alpha"]}]}}, record)
    assert filters.matches_any([], record)  # no filters: everything
    with pytest.raises(filters.UnsupportedPattern):
        filters.validate({"body": {"name": [{"wildcard": "a*"}]}})


# --------------------------------------------------------------------------- HTTP API

ROUTE = HttpRoute("CallbackApi", "POST", "/callbacks/{account}/{kind}", "CallbackFunction", "2.0")


def test_routes_match_with_decoded_path_parameters_and_the_most_specific_first() -> None:
    greedy = HttpRoute("Api", "ANY", "/{proxy+}", "Other", "2.0")
    routes = [compile_route(greedy), compile_route(ROUTE)]
    assert match(routes, "POST", "/callbacks/cn-main/report") == (
        ROUTE,
        {"account": "cn-main", "kind": "report"},
    )
    assert match(routes, "GET", "/callbacks/cn-main/report") == (
        greedy,
        {"proxy": "callbacks/cn-main/report"},
    )
    assert match([compile_route(ROUTE)], "POST", "/callbacks/a%20b/report") == (
        ROUTE,
        {"account": "a b", "kind": "report"},
    )
    assert match([compile_route(ROUTE)], "POST", "/callbacks/only-one") is None


def _event(body: bytes, content_type: str) -> dict[str, Any]:
    return build_event(
        ROUTE,
        {"account": "cn-main", "kind": "report"},
        method="POST",
        raw_path="/callbacks/cn-main/report",
        raw_query="token=abc&x=1&x=2",
        headers=[("Content-Type", content_type), ("X-Custom", "A"), ("Cookie", "a=1; b=2")],
        body=body,
        source_ip="127.0.0.1",
        protocol="HTTP/1.1",
        api_id="callbackap",
        account_id="123456789012",
        host="127.0.0.1:3000",
    )


def test_a_request_becomes_an_http_api_v2_event() -> None:
    event = _event(b'[{"stat":"DELIVRD"}]', "application/json")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /callbacks/{account}/{kind}"
    assert event["rawPath"] == "/callbacks/cn-main/report"
    assert event["rawQueryString"] == "token=abc&x=1&x=2"
    assert event["queryStringParameters"] == {"token": "abc", "x": "1,2"}
    assert event["pathParameters"] == {"account": "cn-main", "kind": "report"}
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["x-custom"] == "A"
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["http"] == {
        "method": "POST",
        "path": "/callbacks/cn-main/report",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "",
    }
    assert event["requestContext"]["routeKey"] == event["routeKey"]
    assert event["body"] == '[{"stat":"DELIVRD"}]' and event["isBase64Encoded"] is False


def test_a_binary_body_is_base64_encoded() -> None:
    event = _event(b"\x00\xffGIF", "application/octet-stream")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xffGIF"


def test_function_answers_become_http_as_api_gateway_does() -> None:
    structured = InvocationResult(
        True, {"statusCode": 201, "headers": {"Content-Type": "text/plain"}, "body": "OK", "cookies": ["c=1"]}
    )
    assert http_answer(structured) == (201, {"content-type": "text/plain"}, b"OK", ["c=1"])
    binary = InvocationResult(
        True, {"statusCode": 200, "body": base64.b64encode(b"\x01").decode(), "isBase64Encoded": True}
    )
    assert http_answer(binary)[2] == b"\x01"
    assert http_answer(InvocationResult(True, "hello")) == (
        200,
        {"content-type": "application/json"},
        b"hello",
        [],
    )
    assert http_answer(InvocationResult(True, {"a": 1}))[2] == b'{"a": 1}'
    crash = InvocationResult(
        False, error={"errorType": "KeyError", "errorMessage": "x", "stackTrace": ["line 1"]}
    )
    status, _, body, _ = http_answer(crash)
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})
    assert http_answer(InvocationResult(True, {"statusCode": "teapot"}))[0] == 500


# --------------------------------------------------------------------------- batch outcomes


def test_sqs_batch_item_failures_follow_lambdas_rules() -> None:
    ids = ["m1", "m2", "m3"]
    ok = InvocationResult(True, {"batchItemFailures": [{"itemIdentifier": "m2"}]})
    assert failed_ids(ok, ids, report_failures=True) == {"m2"}
    assert failed_ids(ok, ids, report_failures=False) == set()  # not enabled: success
    assert failed_ids(InvocationResult(True, {"batchItemFailures": []}), ids, True) == set()
    assert failed_ids(
        InvocationResult(True, {"batchItemFailures": [{"itemIdentifier": "zz"}]}), ids, True
    ) == set(ids)
    assert failed_ids(InvocationResult(False, error={}), ids, True) == set(ids)


def test_stream_retries_start_at_the_lowest_failed_sequence_number() -> None:
    batch = [{"dynamodb": {"SequenceNumber": s}} for s in ("100", "101", "102")]
    failures = {"batchItemFailures": [{"itemIdentifier": "102"}, {"itemIdentifier": "101"}]}
    assert retry_from(InvocationResult(True, failures), batch, True) == "101"
    assert retry_from(InvocationResult(True, {"batchItemFailures": []}), batch, True) is None
    assert (
        retry_from(InvocationResult(True, {"batchItemFailures": [{"itemIdentifier": ""}]}), batch, True)
        == "100"
    )
    assert retry_from(InvocationResult(False, error={}), batch, True) == "100"


# --------------------------------------------------------------------------- worker sandboxes

APP = textwrap.dedent(
    """
    import os, time
    STATE = {"count": 0}

    def handler(event, context):
        STATE["count"] += 1
        action = event.get("action")
        print("a log line from the function", flush=True)
        if action == "raise":
            raise ValueError("boom")
        if action == "exit":
            os._exit(3)
        if action == "sleep":
            time.sleep(10)
        if action == "pid":
            time.sleep(0.5)
            return os.getpid()
        if action == "import":
            __import__(event["module"])
            return "imported"
        if action == "decimal":
            from decimal import Decimal
            return {"x": Decimal("1")}
        import layer_module
        names = ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME",
                 "POWERTOOLS_TRACE_DISABLED", "FROM_TEMPLATE", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        return {
            "env": {n: os.environ.get(n) for n in names},
            "count": STATE["count"],
            "remaining": context.get_remaining_time_in_millis(),
            "name": context.function_name,
            "arn": context.invoked_function_arn,
            "memory": context.memory_limit_in_mb,
            "request_id": context.aws_request_id,
            "cwd": os.getcwd(),
            "layer": layer_module.VALUE,
        }
    """
)


def _eventually(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """True as soon as ``condition`` holds; False only if it still does not after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class _Lines(OutputSink):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def write(self, source: str, line: str) -> None:
        self.lines.append(f"[{source}] {line.rstrip()}")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[FunctionWorker, _Lines]]:
    code, layer = tmp_path / "code", tmp_path / "layer" / "python"
    code.mkdir()
    layer.mkdir(parents=True)
    (code / "app.py").write_text(APP)
    (layer / "layer_module.py").write_text("VALUE = 'from the layer'\n")
    spec = FunctionSpec(
        logical_id="TestFunction",
        name="test-function",
        arn="arn:aws:lambda:eu-west-1:123456789012:function:test-function",
        handler="app.handler",
        runtime="python3.11",
        timeout=2,
        memory=128,
        environment={"FROM_TEMPLATE": "yes"},
        code_dir=code,
        layer_dirs=(tmp_path / "layer",),
    )
    lines = _Lines()
    runtime = make_runtime_dir()
    worker = FunctionWorker(
        spec, region="eu-west-1", endpoint="http://127.0.0.1:9", runtime_dir=runtime, sink=lines
    )
    yield worker, lines
    worker.stop()
    shutil.rmtree(runtime.parent, ignore_errors=True)


def test_a_sandbox_runs_the_handler_warm_with_lambdas_environment_and_context(
    sandbox: tuple[FunctionWorker, _Lines],
) -> None:
    worker, lines = sandbox
    first = worker.invoke({})
    second = worker.invoke({})
    assert first.ok and second.ok, (first.error, second.error)
    assert first.init_ms is not None and second.init_ms is None  # one cold start, then warm
    assert second.payload["count"] == 2  # module state survives between invocations
    payload = first.payload
    assert payload["env"] == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_LAMBDA_FUNCTION_NAME": "test-function",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "FROM_TEMPLATE": "yes",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    }
    assert 0 < payload["remaining"] <= 2000
    assert payload["name"] == "test-function" and payload["memory"] == 128
    assert payload["arn"].endswith(":function:test-function")
    assert payload["request_id"] == first.request_id
    assert payload["cwd"] == str(worker.spec.code_dir)
    assert payload["layer"] == "from the layer"
    # Its output is forwarded (by a reader thread, so perhaps after the answer), not mixed in
    assert _eventually(lambda: "[TestFunction] a log line from the function" in lines.lines)


def test_a_sandbox_sees_the_runtimes_boto3_but_not_the_runners_packages(
    sandbox: tuple[FunctionWorker, _Lines],
) -> None:
    worker, _ = sandbox
    assert worker.invoke({"action": "import", "module": "boto3"}).payload == "imported"
    missing = worker.invoke({"action": "import", "module": "pytest"})
    assert not missing.ok and missing.error and missing.error["errorType"] == "ModuleNotFoundError"


def test_handler_errors_come_back_in_lambdas_shape(sandbox: tuple[FunctionWorker, _Lines]) -> None:
    worker, lines = sandbox
    raised = worker.invoke({"action": "raise"})
    assert not raised.ok and raised.error is not None
    assert (raised.error["errorType"], raised.error["errorMessage"]) == ("ValueError", "boom")
    assert _eventually(lambda: any("Traceback" in line for line in lines.lines))
    unserialisable = worker.invoke({"action": "decimal"})
    assert unserialisable.error and unserialisable.error["errorType"] == "Runtime.MarshalError"
    assert worker.invoke({}).ok  # the sandbox survived both


def test_a_crashed_or_timed_out_sandbox_is_replaced_by_a_cold_one(
    sandbox: tuple[FunctionWorker, _Lines],
) -> None:
    worker, _ = sandbox
    crashed = worker.invoke({"action": "exit"})
    assert crashed.error and crashed.error["errorType"] == "Runtime.ExitError"
    again = worker.invoke({})
    assert again.ok and again.init_ms is not None and again.payload["count"] == 1
    started = time.monotonic()
    slow = worker.invoke({"action": "sleep"})
    assert slow.error and slow.error["errorType"] == "Sandbox.Timedout"
    assert time.monotonic() - started < 9  # the function's Timeout (2 s), not the handler's 10 s
    assert worker.invoke({}).ok


@pytest.mark.parametrize("max_sandboxes", [2, 1])
def test_a_busy_function_scales_out_to_another_sandbox_up_to_the_cap(
    sandbox: tuple[FunctionWorker, _Lines], max_sandboxes: int
) -> None:
    first, lines = sandbox
    made: list[FunctionWorker] = []

    def make(label: str) -> FunctionWorker:
        if not made:
            made.append(first)
            return first
        worker = FunctionWorker(
            first.spec,
            region="eu-west-1",
            endpoint="http://127.0.0.1:9",
            runtime_dir=first._runtime_dir,
            sink=lines,
            label=label,
        )
        made.append(worker)
        return worker

    pool = FunctionPool(first.spec, max_sandboxes, make)
    pool.start()
    answers: list[tuple[InvocationResult, float]] = []
    threads = [
        threading.Thread(target=lambda: answers.append(pool.invoke({"action": "pid"}))) for _ in range(2)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    finally:
        pool.stop()
    pids = {result.payload for result, _ in answers}
    if max_sandboxes == 2:
        assert len(pids) == 2 and [w.label for w in made] == ["TestFunction", "TestFunction#2"]
    else:
        assert len(pids) == 1 and max(waited for _, waited in answers) >= 300


# --------------------------------------------------------------------------- pollers on moto


class ScriptedFunctions:
    """Stands in for Functions: records each event, answers from a script (then success)."""

    def __init__(self, script: list[Callable[[dict[str, Any]], InvocationResult]]) -> None:
        self.script = list(script)
        self.events: list[dict[str, Any]] = []

    def invoke(
        self,
        logical_id: str,
        event: Any,
        *,
        trigger: str,
        records: int | None = None,
        outcome: Callable[[InvocationResult], str] | None = None,
    ) -> InvocationResult:
        self.events.append(event)
        result = self.script.pop(0)(event) if self.script else InvocationResult(True, None)
        if outcome:
            outcome(result)
        return result


@pytest.fixture(scope="module")
def moto_server() -> Iterator[EmbeddedAws]:
    aws = EmbeddedAws(0, "us-east-1").start()
    yield aws
    aws.stop()


def _mapping(source_arn: str, **kw: Any) -> EventSourceMapping:
    values: dict[str, Any] = {
        "logical_id": "Mapping",
        "function": "Fn",
        "source_arn": source_arn,
        "batch_size": 10,
        "batching_window": 0.0,
        "filters": (),
        "response_types": ("ReportBatchItemFailures",),
        "starting_position": "TRIM_HORIZON",
        "bisect_on_error": False,
        "config": {},
    } | kw
    return EventSourceMapping(**values)


def _queue(aws: EmbeddedAws, name: str, bodies: list[str]) -> tuple[str, str]:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    for body in bodies:
        sqs.send_message(
            QueueUrl=url,
            MessageBody=body,
            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
        )
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _counts(aws: EmbeddedAws, url: str) -> tuple[int, int]:
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _run(poller: SqsPoller | StreamPoller, stop: threading.Event, until: Callable[[], Any]) -> None:
    poller.start()
    try:
        wait_for(until, 15, interval=0.05, what="the poller")
    finally:
        stop.set()
        poller.join(5)


def test_sqs_poller_deletes_what_succeeded_and_leaves_reported_failures(moto_server: EmbeddedAws) -> None:
    url, arn = _queue(moto_server, "parts-partial", ["one", "two", "three"])

    def fail_two(event: dict[str, Any]) -> InvocationResult:
        failed = [r["messageId"] for r in event["Records"] if r["body"] == "two"]
        return InvocationResult(True, {"batchItemFailures": [{"itemIdentifier": i} for i in failed]})

    functions = ScriptedFunctions([fail_two])
    stop = threading.Event()
    poller = SqsPoller(_mapping(arn, batching_window=0.5), functions, moto_server, stop)  # type: ignore[arg-type]
    _run(poller, stop, lambda: sum(len(e["Records"]) for e in functions.events) >= 3)

    records = [r for e in functions.events for r in e["Records"]]
    record = records[0]
    assert set(record) >= {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["k"] == {
        "stringValue": "v",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert _counts(moto_server, url) == (0, 1)  # "two" waits for its visibility timeout


def test_sqs_poller_deletes_nothing_when_the_function_fails(moto_server: EmbeddedAws) -> None:
    url, arn = _queue(moto_server, "parts-error", ["a", "b"])
    functions = ScriptedFunctions([lambda e: InvocationResult(False, error={"errorType": "Boom"})])
    stop = threading.Event()
    poller = SqsPoller(_mapping(arn, batching_window=0.5), functions, moto_server, stop)  # type: ignore[arg-type]
    _run(poller, stop, lambda: sum(len(e["Records"]) for e in functions.events) >= 2)
    assert _counts(moto_server, url) == (0, 2)


def _table(aws: EmbeddedAws, name: str) -> str:
    dynamodb = aws.client("dynamodb")
    answer = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return str(answer["TableDescription"]["LatestStreamArn"])


def _put(aws: EmbeddedAws, table: str, pk: str, kind: str) -> None:
    aws.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": pk}, "type": {"S": kind}})


def _pks(event: dict[str, Any]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]


def test_stream_poller_filters_then_retries_from_the_failed_record_and_never_skips(
    moto_server: EmbeddedAws,
) -> None:
    stream = _table(moto_server, "parts-stream")
    for pk, kind in [("A", "recipient"), ("B", "inbox"), ("C", "recipient"), ("D", "balance")]:
        _put(moto_server, "parts-stream", pk, kind)
    moto_server.client("dynamodb").update_item(
        TableName="parts-stream",
        Key={"pk": {"S": "A"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "delivered"}},
    )

    def fail_c(event: dict[str, Any]) -> InvocationResult:
        c = next(r for r in event["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == "C")
        return InvocationResult(
            True, {"batchItemFailures": [{"itemIdentifier": c["dynamodb"]["SequenceNumber"]}]}
        )

    functions = ScriptedFunctions([fail_c, lambda e: InvocationResult(False, error={"errorType": "Boom"})])
    stop = threading.Event()
    mapping = _mapping(stream, filters=(TEMPLATE_FILTER,))
    poller = StreamPoller(mapping, functions, moto_server, stop)  # type: ignore[arg-type]
    _run(poller, stop, lambda: len(functions.events) >= 3)

    first, second, third = functions.events[:3]
    assert _pks(first) == ["A", "C", "D", "A"]  # B filtered out; the MODIFY of A is a record too
    assert _pks(second) == ["C", "D", "A"]  # from the failed record on
    assert _pks(third) == ["C", "D", "A"]  # the function raised: the same batch again
    record = first["Records"][0]
    assert record["eventSource"] == "aws:dynamodb" and record["eventSourceARN"] == stream
    assert record["eventName"] == "INSERT" and record["awsRegion"] == "us-east-1"
    assert set(record["dynamodb"]) >= {
        "Keys",
        "NewImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
        "ApproximateCreationDateTime",
    }
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    modify = first["Records"][3]
    assert modify["eventName"] == "MODIFY"
    assert modify["dynamodb"]["OldImage"]["type"] == {"S": "recipient"}
    assert modify["dynamodb"]["NewImage"]["status"] == {"S": "delivered"}
    time.sleep(0.5)
    assert len(functions.events) == 3  # the third invocation succeeded: nothing is left to retry


def test_stream_poller_halves_the_batch_on_errors_when_bisect_is_on(moto_server: EmbeddedAws) -> None:
    stream = _table(moto_server, "parts-bisect")
    for pk in "EFGH":
        _put(moto_server, "parts-bisect", pk, "recipient")
    functions = ScriptedFunctions([lambda e: InvocationResult(False, error={"errorType": "Boom"})])
    stop = threading.Event()
    poller = StreamPoller(_mapping(stream, bisect_on_error=True), functions, moto_server, stop)  # type: ignore[arg-type]
    _run(poller, stop, lambda: sum(len(e["Records"]) for e in functions.events[1:]) >= 4)
    assert _pks(functions.events[0]) == ["E", "F", "G", "H"]
    assert _pks(functions.events[1]) == ["E", "F"]
    assert _pks(functions.events[2]) == ["G", "H"]


# --------------------------------------------------------------------------- moto's DynamoDB


def test_a_failed_transaction_leaves_no_item_and_no_stream_record_behind(moto_server: EmbeddedAws) -> None:
    dynamodb = moto_server.client("dynamodb")
    stream = _table(moto_server, "parts-transactions")
    _put(moto_server, "parts-transactions", "EXISTING", "recipient")
    _put(moto_server, "parts-transactions", "GUARD", "inbox")
    streams = moto_server.client("dynamodbstreams")

    def records() -> list[dict[str, Any]]:
        shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(
            StreamArn=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )
        return list(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"])

    # Given a transaction whose first write succeeds in moto before its last condition fails
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "parts-transactions",
                        "Item": {"pk": {"S": "NEW"}, "type": {"S": "recipient"}},
                    }
                },
                {
                    "Update": {
                        "TableName": "parts-transactions",
                        "Key": {"pk": {"S": "EXISTING"}},
                        "UpdateExpression": "SET #t = :t",
                        "ExpressionAttributeNames": {"#t": "type"},
                        "ExpressionAttributeValues": {":t": {"S": "changed"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "parts-transactions",
                        "Key": {"pk": {"S": "GUARD"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    # Then nothing of it is visible: neither the items nor their stream records
    assert "Item" not in dynamodb.get_item(TableName="parts-transactions", Key={"pk": {"S": "NEW"}})
    existing = dynamodb.get_item(TableName="parts-transactions", Key={"pk": {"S": "EXISTING"}})["Item"]
    assert existing["type"] == {"S": "recipient"}
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records()] == ["EXISTING", "GUARD"]

    # And a transaction that succeeds afterwards is recorded once, in order
    dynamodb.transact_write_items(
        TransactItems=[{"Put": {"TableName": "parts-transactions", "Item": {"pk": {"S": "LATER"}}}}]
    )
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records()] == ["EXISTING", "GUARD", "LATER"]
    sequence_numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records()]
    assert sequence_numbers == sorted(set(sequence_numbers))


# --------------------------------------------------------------------------- the HTTP API server


def test_the_http_api_server_invokes_the_route_and_hides_crashes(moto_server: EmbeddedAws) -> None:
    import requests

    from local_runner.triggers.http_api import HttpApiServer

    crash = InvocationResult(
        False, error={"errorType": "KeyError", "errorMessage": "'x'", "stackTrace": ["a"]}
    )
    answer = InvocationResult(
        True, {"statusCode": 202, "headers": {"content-type": "text/plain"}, "body": "OK"}
    )
    functions = ScriptedFunctions([lambda e: answer, lambda e: crash])
    server = HttpApiServer([ROUTE], functions, port=0, account_id="123456789012")  # type: ignore[arg-type]
    server.start()
    try:
        url = f"{server.url}/callbacks/cn-main/report?token=t"
        ok = requests.post(url, data=b"\x89PNG\x00", headers={"Content-Type": "image/png"}, timeout=10)
        crashed = requests.post(url, json=[{"flag": 1}], timeout=10)
        missing = requests.post(f"{server.url}/callbacks/cn-main", timeout=10)
    finally:
        server.stop()
    assert (ok.status_code, ok.text, ok.headers["content-type"]) == (202, "OK", "text/plain")
    event = functions.events[0]
    assert event["routeKey"] == "POST /callbacks/{account}/{kind}"
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x89PNG\x00"
    assert event["queryStringParameters"] == {"token": "t"}
    assert crashed.status_code == 500 and crashed.json() == {"message": "Internal Server Error"}
    assert "KeyError" not in crashed.text
    assert missing.status_code == 404 and len(functions.events) == 2  # no route: no invocation
