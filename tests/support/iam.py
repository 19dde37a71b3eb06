"""The functions' IAM roles enforced in in-process tests, as the local runner enforces them.

The handlers run in the test process under moto, which checks no permission. Every botocore
client is hooked (local_runner/iam.py); a call is checked while a handler loaded with
``tests.support.aws.load_handler`` runs on the calling thread, against the role the SAM
translator makes for THAT function from template.yaml, with the names of the resources the
``aws`` fixture creates. The test's own calls (set-up, reading records) are not checked.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from local_runner.iam import Enforcer, Principal, install
from local_runner.roles import function_principals
from local_runner.stack import resolve_parameters, translate_source
from tests.support.template import ROOT

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
STACK = "sms-gateway-test"

_active = threading.local()


def _current() -> Principal | None:
    return getattr(_active, "principal", None)


def _report(line: str) -> None:
    import logging

    logging.getLogger("tests.iam").warning("%s", line)


install(Enforcer(_current, _report))


def function_of(folder: str) -> str:
    """The logical id of the function whose CodeUri is functions/<folder>."""
    resources = _source_template(None)["Resources"]
    for logical_id, resource in resources.items():
        code = str((resource.get("Properties") or {}).get("CodeUri", "")).rstrip("/")
        if resource.get("Type") == "AWS::Serverless::Function" and code == f"functions/{folder}":
            return str(logical_id)
    raise KeyError(f"no function of the template has CodeUri functions/{folder}")


@cache
def _source_template(text: str | None) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(text if text is not None else (ROOT / "template.yaml").read_text())  # type: ignore[no-any-return]


def _attributes(names: dict[str, str]) -> Any:
    def attributes(logical_id: str, attribute: str) -> str | None:
        table, bus = names["Table"], names["EventBus"]
        queues = {"SendQueue": names["SendQueue"], "PublishFailureQueue": "publish-failures"}
        if logical_id == "Table":
            arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
            return {"Ref": table, "Arn": arn, "StreamArn": f"{arn}/stream/*"}.get(attribute)
        if logical_id == "EventBus":
            return {"Ref": bus, "Name": bus, "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"}.get(
                attribute
            )
        if logical_id in queues:
            name = queues[logical_id]
            return {
                "Ref": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
                "QueueName": name,
                "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            }.get(attribute)
        if attribute == "Ref":
            return f"{STACK}-{logical_id}"
        return None

    return attributes


@cache
def _principals(
    text: str | None, names: tuple[tuple[str, str], ...], overrides: tuple[tuple[str, str], ...]
) -> dict[str, Principal]:
    template = copy.deepcopy(_source_template(text))
    parameters = resolve_parameters(template, dict(overrides))
    translated = translate_source(template, parameters, REGION)
    return function_principals(
        translated,
        parameters,
        _attributes(dict(names)),
        region=REGION,
        account=ACCOUNT,
        stack_name=STACK,
        function_names={},
    )


class Roles:
    """Which template (the project's, or a variant's text) and parameters the roles come from."""

    def __init__(self, names: dict[str, str], overrides: dict[str, str]) -> None:
        self.names = names
        self.overrides = overrides
        self.template_text: str | None = None  # None: template.yaml

    def principal(self, logical_id: str) -> Principal | None:
        principals = _principals(
            self.template_text, tuple(sorted(self.names.items())), tuple(sorted(self.overrides.items()))
        )
        return principals.get(logical_id)


_roles: list[Roles] = []


def use_roles(roles: Roles | None) -> None:
    """The roles of the current test (the ``aws`` fixture sets them; None: nothing checked)."""
    _roles[:] = [roles] if roles else []


@contextmanager
def acting_as(logical_id: str) -> Iterator[None]:
    """The calls made on this thread inside the block are the function's (checked by its role)."""
    principal = _roles[0].principal(logical_id) if _roles else None
    previous = _current()
    _active.principal = principal
    try:
        yield
    finally:
        _active.principal = previous
