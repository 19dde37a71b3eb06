"""Each function's IAM role, as the SAM translator produced it from template.yaml, resolved.

Why it exists: iam.py checks calls against policy documents with concrete ARNs, but the
translated template holds them with intrinsics (``!GetAtt Table.Arn``, the policy templates'
``Fn::Sub``, ``Fn::If`` on a condition). This resolves, for every AWS::Lambda::Function, its
``Role`` (an AWS::IAM::Role of the template): the inline ``Policies``, the ``ManagedPolicyArns``
(AWS managed ones from the copy moto bundles, which is AWS's own list; customer managed ones
from the template's AWS::IAM::ManagedPolicy resources) and the ``Conditions`` they use.

The physical names and attributes come from the caller (``Attributes``): the runner reads them
from the stack it created, the in-process tests give the names of the resources they created.
A value that cannot be resolved is left as an impossible ARN, so a statement using it grants
nothing (and a warning says which), never more than the template would on AWS.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from local_runner.iam import Principal

if TYPE_CHECKING:
    from local_runner.embedded_aws import EmbeddedAws
    from local_runner.stack import DeployedStack

log = logging.getLogger("local_runner.roles")

# logical id, attribute ("Ref" for a Ref) -> the value, or None when unknown.
Attributes = Callable[[str, str], str | None]
UNRESOLVED = "arn:unresolved"
_NO_VALUE = object()


@cache
def aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # noqa: PLC0415

    return json.loads(aws_managed_policies_data)  # type: ignore[no-any-return]


class Resolver:
    def __init__(
        self,
        template: dict[str, Any],
        parameters: dict[str, str],
        attributes: Attributes,
        *,
        region: str,
        account: str,
        stack_name: str,
    ) -> None:
        self.template = template
        self.values: dict[str, str] = {
            **parameters,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws-cn" if region.startswith("cn-") else "aws",
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.attributes = attributes
        self.unresolved: set[str] = set()

    def _lookup(self, logical_id: str, attribute: str) -> str:
        if attribute == "Ref" and logical_id in self.values:
            return self.values[logical_id]
        value = self.attributes(logical_id, attribute)
        if value is None:
            self.unresolved.add(f"{logical_id}.{attribute}")
            return UNRESOLVED
        return value

    def condition(self, name: str) -> bool:
        return bool(self.resolve((self.template.get("Conditions") or {})[name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(i) for i in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            intrinsic = self._INTRINSICS.get(key)
            if intrinsic is not None:
                return intrinsic(self, arg)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not _NO_VALUE}

    def _ref(self, arg: Any) -> Any:
        return _NO_VALUE if arg == "AWS::NoValue" else self._lookup(str(arg), "Ref")

    def _get_att(self, arg: Any) -> Any:
        logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
        return self._lookup(str(logical_id), str(attribute))

    def _fn_sub(self, arg: Any) -> Any:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
        return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub(m.group(1), variables), text)

    def _fn_equals(self, arg: Any) -> Any:
        left, right = self.resolve(arg)
        return str(left) == str(right)

    #: one entry per intrinsic function the templates use
    _INTRINSICS: ClassVar[dict[str, Callable[[Resolver, Any], Any]]] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _fn_sub,
        "Fn::Join": lambda self, arg: str(arg[0]).join(str(v) for v in self.resolve(arg[1])),
        "Fn::If": lambda self, arg: self.resolve(arg[1] if self.condition(str(arg[0])) else arg[2]),
        "Fn::Equals": _fn_equals,
        "Fn::Not": lambda self, arg: not self.resolve(arg[0]),
        "Fn::And": lambda self, arg: all(self.resolve(arg)),
        "Fn::Or": lambda self, arg: any(self.resolve(arg)),
        "Condition": lambda self, arg: self.condition(str(arg)),
        "Fn::Select": lambda self, arg: self.resolve(arg[1])[int(self.resolve(arg[0]))],
        "Fn::Split": lambda self, arg: str(self.resolve(arg[1])).split(str(arg[0])),
    }

    def _sub(self, name: str, variables: dict[str, Any]) -> str:
        if name in variables:
            return str(variables[name])
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self._lookup(logical_id, attribute)
        return self._lookup(name, "Ref")


def _role_documents(resolver: Resolver, role_id: str, role: dict[str, Any]) -> list[dict[str, Any]]:
    resources = resolver.template["Resources"]
    properties = role.get("Properties") or {}
    documents = [resolver.resolve(p.get("PolicyDocument") or {}) for p in properties.get("Policies") or []]
    # AWS::IAM::Policy resources that attach themselves to the role (when their Condition holds).
    for resource in resources.values():
        if resource.get("Type") != "AWS::IAM::Policy":
            continue
        if resource.get("Condition") and not resolver.condition(str(resource["Condition"])):
            continue
        policy = resource.get("Properties") or {}
        if {"Ref": role_id} in (policy.get("Roles") or []):
            documents.append(resolver.resolve(policy.get("PolicyDocument") or {}))
    for entry in properties.get("ManagedPolicyArns") or []:
        target = entry.get("Ref") if isinstance(entry, dict) else None
        if target in resources and resources[target].get("Type") == "AWS::IAM::ManagedPolicy":
            documents.append(resolver.resolve(resources[target]["Properties"]["PolicyDocument"]))
            continue
        arn = str(resolver.resolve(entry))
        name = arn.rsplit("/", 1)[-1]
        managed = aws_managed_policies().get(name) if ":iam::aws:policy/" in arn else None
        if managed is None:
            log.warning("managed policy %s is not known here: it grants nothing locally", arn)
            continue
        documents.append(managed["Document"])
    return documents


def function_principals(
    translated: dict[str, Any],
    parameters: dict[str, str],
    attributes: Attributes,
    *,
    region: str,
    account: str,
    stack_name: str,
    function_names: dict[str, str],
) -> dict[str, Principal]:
    """logical id of every function whose Role is a role of the template -> its Principal.

    ``function_names`` maps logical ids to the function names (the sessions' names in the
    AccessDenied messages)."""
    resolver = Resolver(
        translated, parameters, attributes, region=region, account=account, stack_name=stack_name
    )
    resources = translated["Resources"]
    principals: dict[str, Principal] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        role_ref = (resource.get("Properties") or {}).get("Role")
        role_id = role_ref.get("Fn::GetAtt", [None])[0] if isinstance(role_ref, dict) else None
        if isinstance(role_id, str) and "." in role_id:
            role_id = role_id.split(".", 1)[0]
        role = resources.get(role_id) if isinstance(role_id, str) else None
        if role is None or role.get("Type") != "AWS::IAM::Role":
            log.warning("%s: its role is not a role of the template; its calls are not checked", logical_id)
            continue
        role_name = attributes(str(role_id), "Ref") or f"{stack_name}-{role_id}"
        principals[logical_id] = Principal(
            function=function_names.get(logical_id, logical_id),
            role_arn=f"arn:{resolver.values['AWS::Partition']}:iam::{account}:role/{role_name}",
            account=account,
            documents=tuple(_role_documents(resolver, str(role_id), role)),
        )
    if resolver.unresolved:
        log.warning(
            "IAM check: %s could not be resolved; statements naming them grant nothing locally",
            ", ".join(sorted(resolver.unresolved)),
        )
    return principals


def stack_principals(stack: DeployedStack, aws: EmbeddedAws) -> dict[str, Principal]:
    """The principals of a stack the runner created: attributes read from the created resources."""
    buses = [b["Name"] for b in aws.client("events").list_event_buses().get("EventBuses", [])]

    def attributes(logical_id: str, attribute: str) -> str | None:
        rtype, physical = stack.resources.get(logical_id, ("", None))
        if rtype == "AWS::Events::EventBus":
            # moto gives a bus no physical id: the stack's bus is the one named after the stack.
            name = physical or next((b for b in buses if b.startswith(f"{stack.name}-")), None)
            if name is None:
                return None
            return (
                name
                if attribute in {"Ref", "Name"}
                else f"arn:aws:events:{stack.region}:{stack.account_id}:event-bus/{name}"
            )
        if physical is None:
            return None
        if attribute == "Ref":
            return physical
        return _resource_attribute(stack, aws, rtype, physical, attribute)

    return function_principals(
        stack.translated,
        stack.parameters,
        attributes,
        region=stack.region,
        account=stack.account_id,
        stack_name=stack.name,
        function_names={lid: spec.name for lid, spec in stack.functions.items()},
    )


def _resource_attribute(
    stack: DeployedStack, aws: EmbeddedAws, rtype: str, physical: str, attribute: str
) -> str | None:
    """An attribute other than Ref of a created resource, from its type and physical id."""
    region, account = stack.region, stack.account_id
    if rtype == "AWS::DynamoDB::Table":
        if attribute == "Arn":
            return f"arn:aws:dynamodb:{region}:{account}:table/{physical}"
        if attribute == "StreamArn":
            return str(aws.client("dynamodb").describe_table(TableName=physical)["Table"]["LatestStreamArn"])
    if rtype == "AWS::SQS::Queue":
        name = physical.rstrip("/").rsplit("/", 1)[-1]
        return name if attribute == "QueueName" else f"arn:aws:sqs:{region}:{account}:{name}"
    if rtype == "AWS::Lambda::Function" and attribute == "Arn":
        return f"arn:aws:lambda:{region}:{account}:function:{physical}"
    if rtype == "AWS::IAM::Role" and attribute == "Arn":
        return f"arn:aws:iam::{account}:role/{physical}"
    return None
