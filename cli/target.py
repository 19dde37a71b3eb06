"""Where the CLI points: a deployed stack (its CloudFormation outputs) or the local runner (the
state file it writes with ``--state-file``: its ready line). Status questions go through the
status API, SigV4-signed as its IAM authorizer requires; operations use the AWS APIs directly."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

ApiGet = Callable[[str, dict[str, str]], tuple[int, Any]]


class TargetError(Exception):
    """The stack or the runner cannot be reached or lacks an output the command needs."""


class CommandRefused(Exception):
    """The command cannot do what was asked (an unknown account, a bad period): exit code 1."""


@dataclass
class Target:
    region: str
    outputs: dict[str, str]
    endpoint: str | None = None  # the local runner's embedded AWS
    dynamodb_endpoint: str | None = None
    api_get: ApiGet | None = None
    _session: Any = field(default=None, repr=False)

    def output(self, name: str) -> str:
        value = self.outputs.get(name)
        if not value:
            raise TargetError(f"the stack has no output {name}")
        return value

    def client(self, service: str) -> Any:
        endpoint = (
            self.dynamodb_endpoint if service == "dynamodb" and self.dynamodb_endpoint else self.endpoint
        )
        session = self._session or boto3.session.Session(region_name=self.region)
        self._session = session
        return session.client(service, region_name=self.region, endpoint_url=endpoint)  # type: ignore[call-overload]

    def get(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if self.api_get is not None:
            return self.api_get(path, query)
        return signed_get(self.output("StatusApiUrl"), path, query, self.region, self._credentials())

    def _credentials(self) -> Any:
        session = self._session or boto3.session.Session(region_name=self.region)
        self._session = session
        credentials = session.get_credentials()
        if credentials is None:
            raise TargetError("no AWS credentials: the status API needs IAM-signed requests")
        return credentials


def signed_get(base: str, path: str, query: dict[str, str], region: str, credentials: Any) -> tuple[int, Any]:
    """GET on the status API, signed with SigV4 for execute-api; (status, JSON body)."""
    quoted = "/".join(quote(part, safe="") for part in path.split("/"))
    url = base.rstrip("/") + quoted + (f"?{urlencode(query)}" if query else "")
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    prepared = Request(url, headers=dict(request.headers.items()), method="GET")  # noqa: S310 - our API's URL
    try:
        with urlopen(prepared, timeout=30) as answer:  # noqa: S310
            return int(answer.status), json.loads(answer.read() or b"null")
    except HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"null")
        except ValueError:
            body = {"error": exc.reason}
        return int(exc.code), body
    except URLError as exc:
        raise TargetError(f"cannot reach the status API: {exc.reason}") from exc


def from_stack(name: str, region: str) -> Target:
    cloudformation = boto3.client("cloudformation", region_name=region)
    try:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except Exception as exc:
        raise TargetError(f"cannot read stack {name}: {type(exc).__name__}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return Target(region=region, outputs=outputs)


def from_state_file(path: Path) -> Target:
    """The local runner's ready line, as ``--state-file`` writes it."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TargetError(f"cannot read the runner's state file {path}: {type(exc).__name__}") from exc
    outputs = {str(k): str(v) for k, v in (info.get("outputs") or {}).items()}
    # The runner serves every HTTP API of the template on its one port, the status API's too.
    outputs["StatusApiUrl"] = str(info.get("api_url") or "")
    for output, key in (("TableName", "table_name"), ("SendQueueUrl", "send_queue_url")):
        outputs.setdefault(output, str(info.get(key) or ""))
    return Target(
        region=str(info.get("region") or "us-east-1"),
        outputs=outputs,
        endpoint=info.get("aws_endpoint"),
        dynamodb_endpoint=info.get("dynamodb_endpoint"),
    )
