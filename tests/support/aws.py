"""The AWS side of integration tests under moto: the template's table, queue, bus and accounts
parameter, the real handlers loaded from functions/, and a pump that feeds the table stream
through the real PublishFunction so tests read events back from a queue subscribed to the bus."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import boto3

from local_runner.dynamodb_local import repair_stream_record
from sms_gateway import runtime
from sms_gateway.runtime import Runtime
from tests.support import iam
from tests.support.events_contract import validate_event
from tests.support.template import ROOT, stream_filter_types, table_definition

TABLE = "sms-gateway-test"
BUS = "sms-gateway-test-sms"
ACCOUNTS_PARAMETER = "/sms-gateway/test/accounts"
SOURCE = "sms.gateway"
CALLBACK_TOKEN = "local-callback-token-0123456789"  # the token in events/callback/*.json


@dataclass
class FakeContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def load_handler(function: str) -> Callable[[dict[str, Any], Any], Any]:
    """functions/<function>/app.py as Lambda would import it: its folder first on sys.path.

    Its AWS calls are checked against that function's role (tests/support/iam.py)."""
    folder = ROOT / "functions" / function
    for name in ("app", "routes"):
        sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"app_{function}", folder / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    handler = module.lambda_handler
    logical_id = iam.function_of(function)

    @functools.wraps(handler)
    def as_the_function(event: dict[str, Any], context: Any) -> Any:
        with iam.acting_as(logical_id):
            return handler(event, context)

    return as_the_function


def load_event(relative: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads((ROOT / "events" / relative).read_text()))


class AwsEnv:
    """Created inside mock_aws(): the resources the handlers expect, named in their environment."""

    def __init__(self, monkeypatch: Any, stack: contextlib.ExitStack) -> None:
        self.db = boto3.client("dynamodb")
        self.sqs = boto3.client("sqs")
        self.ssm = boto3.client("ssm")
        self.events_client = boto3.client("events")
        # DynamoDB Local outlives a test (one JVM per process): each test starts on a new table.
        with contextlib.suppress(self.db.exceptions.ResourceNotFoundException):
            self.db.delete_table(TableName=TABLE)
        self.db.create_table(**table_definition(TABLE))
        self.stream_arn = self.db.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
        self.send_queue_url = self.sqs.create_queue(QueueName="send")["QueueUrl"]
        self.events_client.create_event_bus(Name=BUS)
        self.events_queue_url = self.sqs.create_queue(QueueName="events")["QueueUrl"]
        events_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.events_queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.events_client.put_rule(
            Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": [SOURCE]})
        )
        self.events_client.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": events_arn}])
        for key, value in {
            "TABLE_NAME": TABLE,
            "ACCOUNTS_PARAMETER_NAME": ACCOUNTS_PARAMETER,
            "ACCOUNTS_CACHE_SECONDS": "0",
            "SEND_QUEUE_URL": self.send_queue_url,
            "EVENT_BUS_NAME": BUS,
            "EVENT_SOURCE": SOURCE,
            "HTTP_READ_TIMEOUT_SECONDS": "2",
            "SEND_TIME_RESERVE_SECONDS": "5",
            # moto's in-process backend is not thread-safe (a query iterates the table unlocked).
            "STORE_WRITE_THREADS": "1",
        }.items():
            monkeypatch.setenv(key, value)
        # The template's roles, with these resources' names, checked on the handlers' calls.
        self.roles = iam.Roles(
            {"Table": TABLE, "EventBus": BUS, "SendQueue": "send"},
            {"AccountsParameterName": ACCOUNTS_PARAMETER},
        )
        iam.use_roles(self.roles)
        self._stack = stack
        self.runtime = self.new_instance()
        self._iterators: dict[str, str] = {}
        self._publish = load_handler("publish")
        self.published: list[dict[str, Any]] = []

    def new_instance(self, clients: Callable[[str], Any] | None = None) -> Runtime:
        """A new Lambda instance from here on: the handlers get a composition root of their own,
        built from this environment, cold (no token, accounts or client of the last one), its
        boto3 clients made by ``clients`` if given."""
        self.runtime = self._stack.enter_context(runtime.use(Runtime.from_environment(clients)))
        return self.runtime

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.db.delete_table(TableName=TABLE)

    # ------------------------------------------------------------------ accounts
    def put_accounts(self, *accounts: dict[str, Any]) -> None:
        self.ssm.put_parameter(
            Name=ACCOUNTS_PARAMETER,
            Type="SecureString",
            Value=json.dumps({"accounts": list(accounts)}, ensure_ascii=False),
            Overwrite=True,
        )

    # ------------------------------------------------------------------ table
    def record(self, message_id: str, recipient: str) -> dict[str, Any] | None:
        from sms_gateway.store.facade import Store

        return Store(TABLE).recipient(message_id, recipient)

    def items(self, prefix: str) -> list[dict[str, Any]]:
        from sms_gateway.store.table import deserialize

        pages = self.db.get_paginator("scan").paginate(TableName=TABLE)
        found = [deserialize(i) for page in pages for i in page["Items"]]
        return [i for i in found if i["pk"].startswith(prefix)]

    # ------------------------------------------------------------------ events (the outbox)
    def _stream_records(self) -> list[dict[str, Any]]:
        streams = boto3.client("dynamodbstreams")
        records: list[dict[str, Any]] = []
        for shard in streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            iterator = (
                self._iterators.get(shard_id)
                or streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            )
            while True:
                answer = streams.get_records(ShardIterator=iterator)
                records.extend(repair_stream_record(r) for r in answer["Records"])
                iterator = answer["NextShardIterator"]
                if not answer["Records"]:
                    break
            self._iterators[shard_id] = iterator
        return records

    def pump(self) -> None:
        """Feed new stream records, filtered as the template filters them, to the PublishFunction
        in batches of the template's size, reading the published events after each batch."""
        wanted = stream_filter_types()
        records = [
            {**r, "eventSourceARN": self.stream_arn}
            for r in self._stream_records()
            if r["dynamodb"].get("NewImage", {}).get("type", {}).get("S") in wanted
        ]
        for start in range(0, len(records), 100):
            answer = self._publish({"Records": records[start : start + 100]}, FakeContext())
            assert answer["batchItemFailures"] == [], answer
            self._drain()

    def events(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        """Every event published so far (pumping the stream first), optionally of one detail-type."""
        self.pump()
        return [e for e in self.published if detail_type is None or e["detail-type"] == detail_type]

    def _drain(self) -> None:
        # Small reads often: moto's receive_message costs time in proportion to the queue's length.
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                break
            for message in messages:
                # Every event of every integration test is checked against the shipped schemas.
                self.published.append(validate_event(json.loads(message["Body"])))
                self.sqs.delete_message(
                    QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


def action_v1_account(base_url: str, **overrides: Any) -> dict[str, Any]:
    account = {
        "name": "cn-main",
        "vendor": "action_v1",
        "base_url": base_url,
        "credentials": {"account": "922011", "password": "s3cret-pass"},
        "options": {"extno": "106900", "md5_password": True},
        "sign": "圆通快递",
        "callback_token": CALLBACK_TOKEN,
        "timezone": "Asia/Shanghai",
        "balance_low_threshold": 100,
        "default": True,
    }
    account.update(overrides)
    return account


__all__ = ["Path"]
