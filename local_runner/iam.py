"""IAM enforced on a function's own AWS calls: a policy evaluator and a botocore hook.

Why it exists: moto checks no permission, so a role that lacks an action the code calls passes
every local test and fails on its first real invocation on AWS. Here every call a function makes
is checked, before it leaves the process, against the identity-based policies of THAT function's
role as the template defines it (local_runner/roles.py resolves them), and a call the role does
not allow fails the way AWS fails it: a ``ClientError`` with ``AccessDeniedException`` (JSON
protocols) or ``AccessDenied`` (query and XML protocols), plus one ``[IAM] denied ...`` line on
stderr, which the runner forwards into its log.

What is evaluated, as IAM does for a same-account call without resource policies: an explicit
Deny wins, else any Allow grants, else the implicit deny. Action, NotAction, Resource and
NotResource take IAM's ``*``/``?`` wildcards (actions case-insensitively). Conditions are not
evaluated: an Allow with a Condition grants nothing here and a Deny with one always applies, the
stricter reading, so the local check can only be stricter than AWS, never looser.

Which IAM action and resource ARN(s) a call needs is mapped per service below (DynamoDB tables
and their indexes, DynamoDB Streams, SQS queues, SSM parameters, EventBridge buses, KMS keys);
other services are checked against resource ``*``. STS GetCallerIdentity needs no permission.

This module imports only the standard library at import time: the runner's workers load it by
file path into the function's own interpreter (worker.py), whose ``sys.path`` is Lambda's.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# Protocols whose errors carry the query-style code (AccessDenied, HTTP 403).
_QUERY_PROTOCOLS = {"query", "ec2", "rest-xml"}
_NO_PERMISSION_NEEDED = {("sts", "GetCallerIdentity")}


@dataclass(frozen=True)
class Principal:
    """One function's identity: its role and that role's identity-based policy documents."""

    function: str
    role_arn: str
    account: str
    documents: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def session_arn(self) -> str:
        partition = self.role_arn.split(":")[1] if self.role_arn.startswith("arn:") else "aws"
        role_name = self.role_arn.rsplit("/", 1)[-1]
        return f"arn:{partition}:sts::{self.account}:assumed-role/{role_name}/{self.function}"


# --------------------------------------------------------------------------- evaluation


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@functools.lru_cache(maxsize=4096)
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(text), re.IGNORECASE if ignore_case else 0)


def _matches(patterns: Iterable[Any], value: str, *, ignore_case: bool) -> bool:
    return any(_pattern(str(p), ignore_case).match(value) for p in patterns)


def _statement_applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        if not _matches(_as_list(statement["Action"]), action, ignore_case=True):
            return False
    elif "NotAction" in statement:
        if _matches(_as_list(statement["NotAction"]), action, ignore_case=True):
            return False
    else:
        return False
    if "Resource" in statement:
        return _matches(_as_list(statement["Resource"]), resource, ignore_case=False)
    if "NotResource" in statement:
        return not _matches(_as_list(statement["NotResource"]), resource, ignore_case=False)
    return False


def decide(documents: Iterable[dict[str, Any]], action: str, resource: str) -> str:
    """``allow``, ``deny`` (an explicit Deny) or ``implicit`` (nothing allows it)."""
    allowed = False
    for document in documents:
        for statement in _as_list(document.get("Statement")):
            if not isinstance(statement, dict) or not _statement_applies(statement, action, resource):
                continue
            effect = str(statement.get("Effect", ""))
            if effect == "Deny":
                return "deny"  # a Deny's Condition is not evaluated: it always applies here
            if effect == "Allow" and "Condition" not in statement:
                allowed = True
    return "allow" if allowed else "implicit"


# --------------------------------------------------------------------------- what a call needs


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _table_arn(name: str, region: str, account: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:{_partition(region)}:dynamodb:{region}:{account}:table/{name}"


def _dynamodb(operation: str, params: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    if operation in {"BatchWriteItem", "BatchGetItem"}:
        return [(operation, _table_arn(t, region, account)) for t in (params.get("RequestItems") or {})]
    if operation == "TransactWriteItems":
        needed = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
        }
        return [
            (needed[kind], _table_arn(str(op.get("TableName", "")), region, account))
            for item in params.get("TransactItems") or []
            for kind, op in item.items()
            if kind in needed
        ]
    if operation == "TransactGetItems":
        return [
            ("GetItem", _table_arn(str(item["Get"].get("TableName", "")), region, account))
            for item in params.get("TransactItems") or []
            if "Get" in item
        ]
    table = params.get("TableName") or params.get("TableArn") or params.get("ResourceArn")
    if not table:
        return [(operation, "*")]
    arn = _table_arn(str(table), region, account)
    if operation in {"Query", "Scan"} and params.get("IndexName"):
        arn = f"{arn}/index/{params['IndexName']}"
    return [(operation, arn)]


def _ssm_arn(name: str, region: str, account: str) -> str:
    if name.startswith("arn:"):
        return name
    separator = "" if name.startswith("/") else "/"
    return f"arn:{_partition(region)}:ssm:{region}:{account}:parameter{separator}{name}"


def _ssm(operation: str, params: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    names = _as_list(params.get("Names")) or _as_list(params.get("Name")) or _as_list(params.get("Path"))
    if not names:
        return [(operation, "*")]
    return [(operation, _ssm_arn(str(n), region, account)) for n in names]


def _sqs(operation: str, params: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    url = params.get("QueueUrl")
    if url:
        path = [p for p in urlsplit(str(url)).path.split("/") if p]
        owner, name = (path[-2], path[-1]) if len(path) >= 2 else (account, path[-1] if path else "")
        return [(operation, f"arn:{_partition(region)}:sqs:{region}:{owner}:{name}")]
    if params.get("QueueName"):
        return [(operation, f"arn:{_partition(region)}:sqs:{region}:{account}:{params['QueueName']}")]
    return [(operation, "*")]


def _bus_arn(name: str, region: str, account: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:{_partition(region)}:events:{region}:{account}:event-bus/{name}"


def _events(operation: str, params: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    if operation == "PutEvents":
        buses = {str(e.get("EventBusName") or "default") for e in params.get("Entries") or []}
        return [(operation, _bus_arn(b, region, account)) for b in sorted(buses or {"default"})]
    if params.get("EventBusName"):
        return [(operation, _bus_arn(str(params["EventBusName"]), region, account))]
    return [(operation, "*")]


def _kms(operation: str, params: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    key = str(params.get("KeyId") or "")
    if not key:
        return [(operation, "*")]
    if key.startswith("arn:"):
        return [(operation, key)]
    kind = "" if key.startswith("alias/") else "key/"
    return [(operation, f"arn:{_partition(region)}:kms:{region}:{account}:{kind}{key}")]


def _streams(operation: str, params: dict[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    return [(operation, str(params.get("StreamArn") or "*"))]


_RESOURCES: dict[str, Callable[[str, dict[str, Any], str, str], list[tuple[str, str]]]] = {
    "dynamodb": _dynamodb,
    "dynamodbstreams": _streams,
    "ssm": _ssm,
    "sqs": _sqs,
    "events": _events,
    "kms": _kms,
}


def required(
    service: str, prefix: str, operation: str, params: dict[str, Any], *, region: str, account: str
) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) pairs a call needs; ``service`` is the boto3 name, ``prefix``
    the IAM service prefix (botocore's signing name: ``dynamodb`` for DynamoDB Streams too)."""
    if (service, operation) in _NO_PERMISSION_NEEDED:
        return []
    mapper = _RESOURCES.get(service)
    pairs = mapper(operation, params, region, account) if mapper else [(operation, "*")]
    return [(f"{prefix}:{action}", resource) for action, resource in pairs]


# --------------------------------------------------------------------------- the hook


def access_denied(
    principal: Principal, action: str, resource: str, *, explicit: bool, protocol: str, operation: str
) -> Exception:
    from botocore.exceptions import ClientError  # noqa: PLC0415 - botocore is the function's

    why = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else f"because no identity-based policy allows the {action} action"
    )
    query = protocol in _QUERY_PROTOCOLS
    # botocore's stubs want every ResponseMetadata key of a real answer; this one is made up.
    answer: Any = {
        "Error": {
            "Code": "AccessDenied" if query else "AccessDeniedException",
            "Message": f"User: {principal.session_arn} is not authorized to perform: {action} "
            f"on resource: {resource} {why}",
        },
        "ResponseMetadata": {"HTTPStatusCode": 403 if query else 400},
    }
    return ClientError(answer, operation)


class Enforcer:
    """Checks every botocore call of the process against the principal ``current()`` returns
    (None: not a function's call, not checked)."""

    def __init__(self, current: Callable[[], Principal | None], report: Callable[[str], None]) -> None:
        self.current = current
        self.report = report

    def check(self, region: str, params: dict[str, Any], model: Any, **_: Any) -> None:
        principal = self.current()
        if principal is None:
            return
        service_model = model.service_model
        service = service_model.service_name
        prefix = service_model.signing_name or service_model.endpoint_prefix
        for action, resource in required(
            service, prefix, model.name, params, region=region, account=principal.account
        ):
            verdict = decide(principal.documents, action, resource)
            if verdict != "allow":
                self.report(
                    f"[IAM] denied {action} on {resource} for {principal.function} "
                    f"(role {principal.role_arn.rsplit('/', 1)[-1]}, "
                    f"{'explicit deny' if verdict == 'deny' else 'no statement allows it'})"
                )
                raise access_denied(
                    principal,
                    action,
                    resource,
                    explicit=verdict == "deny",
                    protocol=service_model.protocol,
                    operation=model.name,
                )


_installed: list[Enforcer] = []
_install_lock = threading.Lock()


def install(enforcer: Enforcer) -> Enforcer:
    """Register the check on every botocore client created from now on, in this process.

    botocore copies a session's handlers into each client it creates, so the hook is added to
    each new client's own event system (``before-parameter-build``: the call's parameters as the
    caller passed them, before anything is sent). Installing twice keeps the first enforcer.
    """
    import botocore.session  # noqa: PLC0415

    with _install_lock:
        if _installed:
            return _installed[0]
        _installed.append(enforcer)
        original = botocore.session.Session.create_client

        @functools.wraps(original)
        def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(self, *args, **kwargs)
            region = client.meta.region_name or "us-east-1"
            client.meta.events.register(
                "before-parameter-build",
                functools.partial(enforcer.check, region),
                unique_id="local-iam-check",
            )
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]
    return enforcer


def to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
