"""The whole local stack in one object: embedded AWS, the template's stack, workers, triggers.

Why it exists: ``__main__`` (the CLI) and anything that wants the runner in-process share one
start/stop sequence. Start: moto -> stack from the template -> accounts document in SSM ->
events tap queue -> one worker per function (cold starts in parallel) -> triggers -> ready.
Stop: triggers first (no new invocations), then the workers, then moto.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_runner import dynamodb_local
from local_runner.embedded_aws import EmbeddedAws
from local_runner.iam import Principal, decide
from local_runner.roles import stack_principals
from local_runner.stack import DeployedStack, StackError, deploy
from local_runner.triggers import filters
from local_runner.triggers.http_api import HttpApiServer
from local_runner.triggers.schedules import SchedulePlayer
from local_runner.triggers.sqs import SqsPoller
from local_runner.triggers.streams import StreamPoller
from local_runner.workers import Functions

log = logging.getLogger("local_runner")

DEFAULT_BUILD_DIR = Path(".aws-sam/build")


@dataclass
class RunnerConfig:
    accounts: dict[str, Any]  # the accounts document, stored as an SSM SecureString
    api_port: int = 3000
    aws_port: int = 5000
    poll_seconds: float = 5.0
    build_dir: Path = DEFAULT_BUILD_DIR
    stack_name: str = "sms-gateway-local"
    region: str = "us-east-1"
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    max_batch_window: float = 1.0
    function_log: str | None = None
    max_sandboxes: int = 4  # per function, started on demand when all are busy
    # The template parameters that name the SSM parameter and the events' source.
    accounts_parameter: str = "AccountsParameterName"
    event_source_parameter: str = "EventSource"
    # Every function's AWS calls checked against its role from the template (local_runner/iam.py).
    enforce_iam: bool = True
    # The tables and streams on DynamoDB Local (local_runner/dynamodb_local.py) when it can run.
    dynamodb_local: bool = True


#: event source service -> the poller that plays it
_POLLERS: dict[str, type[SqsPoller] | type[StreamPoller]] = {"sqs": SqsPoller, "dynamodb": StreamPoller}


class LocalRunner:
    def __init__(self, config: RunnerConfig) -> None:
        self.config = config
        self.aws = EmbeddedAws(config.aws_port, config.region)
        self.stack: DeployedStack | None = None
        self.functions: Functions | None = None
        self.http: HttpApiServer | None = None
        self.pollers: list[SqsPoller | StreamPoller] = []
        self.schedules: list[SchedulePlayer] = []
        self.info: dict[str, Any] = {}
        self._stop = threading.Event()
        self._started = False
        self._local_tables: list[str] = []  # created on DynamoDB Local, deleted on stop

    def __enter__(self) -> LocalRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ start
    def start(self) -> dict[str, Any]:
        started = time.monotonic()
        self._started = True
        try:
            self.aws.start()
            log.info("embedded AWS (moto %s) on %s", _moto_version(), self.aws.endpoint)
            stack = self.stack = deploy(
                self.aws, self.config.build_dir, self.config.stack_name, self.config.parameter_overrides
            )
            self._dynamodb_local(stack)
            _store_accounts(self.aws, self.config, stack)
            buses = _event_buses(self.aws, stack)
            events_queue_url = _events_tap(self.aws, self.config, stack, buses)
            principals = stack_principals(stack, self.aws) if self.config.enforce_iam else {}
            _check_mapping_roles(stack, principals)
            log.info(
                "IAM: %s",
                f"each function's calls are checked against its role ({len(principals)} roles)"
                if self.config.enforce_iam
                else "not enforced (--no-iam)",
            )
            self.functions = Functions(
                stack.functions,
                region=self.aws.region,
                endpoint=self.aws.endpoint,
                function_log=self.config.function_log,
                max_sandboxes=self.config.max_sandboxes,
                principals=principals,
                extra_environment=self._dynamodb_environment(),
            )
            cold = self.functions.start_all()
            log.info(
                "workers ready: %s",
                ", ".join(f"{lid} ({ms:.0f} ms)" for lid, ms in sorted(cold.items())),
            )
            self._start_triggers(stack)
        except BaseException:
            self.stop()
            raise
        self.info = {
            "ready": True,
            "aws_endpoint": self.aws.endpoint,
            "api_url": self.http.url if self.http else None,
            "send_queue_url": self._send_queue_url(),
            "events_queue_url": events_queue_url,
            "table_name": self._table_name(stack),
            "event_bus_name": buses[0] if buses else None,
            "region": self.aws.region,
            "dynamodb_endpoint": self.aws.dynamodb_endpoint or self.aws.endpoint,
            "account_id": stack.account_id,
            "stack_name": stack.name,
            "functions": {lid: spec.name for lid, spec in sorted(stack.functions.items())},
            "outputs": stack.outputs,
        }
        log.info("ready in %.1f s", time.monotonic() - started)
        return self.info

    def _dynamodb_local(self, stack: DeployedStack) -> None:
        """The stack's tables on DynamoDB Local (as moto created them), their streams feeding the
        stream mappings; nothing changes when DynamoDB Local is not used (moto serves them)."""
        endpoint = dynamodb_local.shared() if self.config.dynamodb_local else None
        if endpoint is None:
            log.info("DynamoDB: moto's (served one request at a time)")
            return
        moto, local = (
            self.aws.moto_client("dynamodb"),
            self.aws.session.client("dynamodb", endpoint_url=endpoint),
        )
        streams: dict[str, str] = {}  # moto's stream ARN -> DynamoDB Local's
        for name in (p for p in stack.of_type("AWS::DynamoDB::Table").values() if p):
            described = moto.describe_table(TableName=name)["Table"]
            local.create_table(**dynamodb_local.create_table_arguments(described))
            ttl = moto.describe_time_to_live(TableName=name).get("TimeToLiveDescription") or {}
            if ttl.get("TimeToLiveStatus") == "ENABLED":
                local.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
            self._local_tables.append(name)
            if described.get("LatestStreamArn"):
                streams[described["LatestStreamArn"]] = local.describe_table(TableName=name)["Table"][
                    "LatestStreamArn"
                ]
        stack.mappings = [
            dataclasses.replace(m, source_arn=streams.get(m.source_arn, m.source_arn)) for m in stack.mappings
        ]
        self.aws.use_dynamodb(endpoint)
        log.info("DynamoDB: DynamoDB Local on %s (%s)", endpoint, ", ".join(self._local_tables))

    def _dynamodb_environment(self) -> dict[str, str]:
        if not self.aws.dynamodb_endpoint:
            return {}
        # boto3 honours a service's own endpoint variable over AWS_ENDPOINT_URL.
        return {
            "AWS_ENDPOINT_URL_DYNAMODB": self.aws.dynamodb_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.aws.dynamodb_endpoint,
        }

    def _start_triggers(self, stack: DeployedStack) -> None:
        assert self.functions is not None
        self._add_pollers(stack)
        if stack.routes:
            self.http = HttpApiServer(
                stack.routes, self.functions, port=self.config.api_port, account_id=stack.account_id
            )
        self.schedules = [
            SchedulePlayer(
                s,
                self.functions,
                self._stop,
                every_seconds=self.config.poll_seconds,
                region=self.aws.region,
                account_id=stack.account_id,
            )
            for s in stack.schedules
        ]
        for poller in self.pollers:
            poller.start()
            log.info("trigger: %s", poller.describe())
        if self.http:
            self.http.start()
            for line in self.http.describe():
                log.info("trigger: %s on %s", line, self.http.url)
        for schedule in self.schedules:
            schedule.start()
            log.info("trigger: %s", schedule.describe())

    def _add_pollers(self, stack: DeployedStack) -> None:
        assert self.functions is not None
        for mapping in stack.mappings:
            if not mapping.enabled:
                log.info("%s: disabled in the template; not played", mapping.logical_id)
                continue
            for pattern in mapping.filters:
                filters.validate(pattern, f"{mapping.logical_id} FilterCriteria")
            poller_class = _POLLERS.get(mapping.service)
            if poller_class is None:
                log.warning("%s: %s event sources are not emulated", mapping.logical_id, mapping.service)
                continue
            self.pollers.append(
                poller_class(mapping, self.functions, self.aws, self._stop, self.config.max_batch_window)
            )

    def _send_queue_url(self) -> str | None:
        for poller in self.pollers:
            if isinstance(poller, SqsPoller):
                return str(poller.queue_url)
        return None

    @staticmethod
    def _table_name(stack: DeployedStack) -> str | None:
        for mapping in stack.mappings:
            if mapping.service == "dynamodb":
                return mapping.source_arn.split(":", 5)[5].split("/")[1]
        tables = [p for p in stack.of_type("AWS::DynamoDB::Table").values() if p]
        return tables[0] if tables else None

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        started = time.monotonic()
        self._stop.set()
        if self.http:
            self.http.stop()
        for trigger in [*self.pollers, *self.schedules]:
            trigger.join(5)
        if self.functions:
            self.functions.stop()
        for table in self._local_tables:  # DynamoDB Local may be shared with other runners
            with contextlib.suppress(Exception):
                self.aws.client("dynamodb").delete_table(TableName=table)
        self.aws.stop()
        log.info("stopped in %.1f s", time.monotonic() - started)


# What Lambda itself calls with the function's role to play a mapping (it refuses to create one
# whose role lacks them: "The function execution role does not have permissions to call ...").
_MAPPING_ACTIONS = {
    "sqs": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
    "dynamodb": (
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ),
}


def _store_accounts(aws: EmbeddedAws, config: RunnerConfig, stack: DeployedStack) -> None:
    name = stack.parameters.get(config.accounts_parameter)
    if not name:
        raise StackError(
            f"the template has no {config.accounts_parameter} parameter naming the accounts document"
        )
    aws.client("ssm").put_parameter(
        Name=name,
        Value=json.dumps(config.accounts, ensure_ascii=False),
        Type="SecureString",
        Overwrite=True,
    )
    accounts = config.accounts.get("accounts") if isinstance(config.accounts, dict) else None
    log.info(
        "accounts document stored as SecureString %s (%s)",
        name,
        ", ".join(
            f"{a.get('name')}: {a.get('vendor')} at {a.get('base_url')}"
            for a in accounts or []
            if isinstance(a, dict)
        ),
    )


def _event_buses(aws: EmbeddedAws, stack: DeployedStack) -> list[str]:
    buses = [phys for phys in stack.of_type("AWS::Events::EventBus").values() if phys]
    if not buses and stack.of_type("AWS::Events::EventBus"):
        # moto gives an event bus no physical id; the stack's are the only custom buses here.
        listed = aws.client("events").list_event_buses().get("EventBuses", [])
        buses = sorted(b["Name"] for b in listed if b["Name"] != "default")
    return buses


def _events_tap(aws: EmbeddedAws, config: RunnerConfig, stack: DeployedStack, buses: list[str]) -> str | None:
    """A queue subscribed to every event of the template's source on the stack's buses."""
    if not buses:
        return None
    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName=f"{stack.name}-events-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = stack.parameters.get(config.event_source_parameter)
    pattern = {"source": [source]} if source else {"source": [{"prefix": ""}]}
    for bus in buses:
        rule = f"{stack.name}-events-tap"
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "events-tap", "Arn": arn}])
    log.info("events tap: %s -> %s (pattern %s)", ", ".join(buses), url, json.dumps(pattern))
    return str(url)


def _check_mapping_roles(stack: DeployedStack, principals: dict[str, Principal]) -> None:
    for mapping in stack.mappings:
        principal = principals.get(mapping.function)
        if principal is None:
            continue
        for action in _MAPPING_ACTIONS.get(mapping.service, ()):
            if decide(principal.documents, action, mapping.source_arn) != "allow":
                raise StackError(
                    f"{mapping.logical_id}: the function execution role of {mapping.function} does not have "
                    f"permissions to call {action.split(':', 1)[1]} on {mapping.source_arn} (AWS refuses "
                    "to create this event source mapping)"
                )


def _moto_version() -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return version("moto")
