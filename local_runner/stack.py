"""template.yaml -> a CloudFormation stack in the embedded AWS, and what the runner must play.

Why it exists: the runner must run the project's REAL template, so nothing here names a
resource of it. The ``sam build`` template is translated with aws-sam-translator (the code
locations become S3 objects in the embedded AWS, one dummy zip per function and layer, and
the S3 key carries the logical id back to the ``sam build`` directory), and moto's
CloudFormation creates the stack. Everything the runner needs afterwards is read back from
the stack: physical names from the stack's resources, each function's configuration
(handler, timeout, memory, resolved environment) from moto's Lambda, the event source
mappings (queue or stream ARN, batch size and window, filters, response types) from moto's
Lambda as the stack created them. The few things moto's CloudFormation does not create are
read from the translated template instead: the HTTP API's routes (AWS::ApiGatewayV2::Api
Body), the schedules (AWS::Scheduler::Schedule, or AWS::Events::Rule with a
ScheduleExpression) and each function's layers.

moto's limits, and what is done about them:

* types moto's CloudFormation does not implement are skipped by moto itself (it warns); they
  are listed in one log line. A type that makes create_stack FAIL is stripped from the
  template (logged) and the stack created again on a reset moto: the type moto's error names,
  else the one whose removal lets the stack be created (found by trial, since moto's errors
  rarely name the resource). No resource list is written by hand.
* moto gives some resources no physical id (an event bus): a Ref to them does not resolve,
  and a warning names where the template uses one (the template uses !GetAtt EventBus.Name).
* moto would run the stack's event source mappings itself, in Docker, on every SQS send and
  DynamoDB write (and, for a stream, drop the records on success). They are disabled in
  moto, and their hooks on the queue/table removed (moto's streams ignore ``Enabled``): the
  runner's pollers play them (triggers/sqs.py, triggers/streams.py).
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from local_runner.embedded_aws import EmbeddedAws

log = logging.getLogger("local_runner.stack")

CODE_BUCKET = "local-runner-code"
# A placeholder for each function's and layer's code in S3: the runner runs the sam build
# directories, never this.
_PLACEHOLDER = io.BytesIO()
with zipfile.ZipFile(_PLACEHOLDER, "w") as _zip:
    _zip.writestr("README.txt", "local_runner runs the sam build output directly; this zip is a placeholder.")

# Resource property that holds local code, per type (in a sam build template: a directory
# relative to the build directory).
_CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Lambda::Function": "Code",
    "AWS::Lambda::LayerVersion": "Content",
}
_UNSUPPORTED_WARNING = re.compile(r"Tried to parse (\S+) but it's not supported")
_FUNCTION_ARN_IN_SUB = re.compile(r"\$\{([A-Za-z0-9]+)\.Arn\}")


def _drop_not_supported(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("No Moto CloudFormation support for ")


class StackError(RuntimeError):
    """The template cannot be turned into a running stack."""


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function as the stack configured it, plus where its code is on disk."""

    logical_id: str
    name: str
    arn: str
    handler: str
    runtime: str
    timeout: int
    memory: int
    environment: dict[str, str]
    code_dir: Path
    layer_dirs: tuple[Path, ...]


@dataclass(frozen=True)
class EventSourceMapping:
    """An SQS queue or a DynamoDB/Kinesis stream feeding a function, as moto's Lambda holds it."""

    logical_id: str
    function: str  # logical id
    source_arn: str
    batch_size: int
    batching_window: float
    filters: tuple[dict[str, Any], ...]
    response_types: tuple[str, ...]
    starting_position: str | None
    bisect_on_error: bool
    config: dict[str, Any]
    enabled: bool = True  # as the template has it (the runner disables it in moto either way)

    @property
    def service(self) -> str:
        return self.source_arn.split(":")[2]


@dataclass(frozen=True)
class HttpRoute:
    api: str  # logical id of the API
    method: str  # upper case, ANY for x-amazon-apigateway-any-method
    path: str  # OpenAPI path, e.g. /callbacks/{account}/{kind}, or $default
    function: str  # logical id
    payload_version: str

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class Schedule:
    logical_id: str
    function: str  # logical id
    expression: str
    enabled: bool
    input: str | None  # the target's Input (a JSON text) when the template sets one
    source_type: str  # AWS::Scheduler::Schedule or AWS::Events::Rule


@dataclass
class DeployedStack:
    name: str
    region: str
    account_id: str
    parameters: dict[str, str]
    outputs: dict[str, str]
    resources: dict[str, tuple[str, str | None]]  # logical id -> (type, physical id)
    functions: dict[str, FunctionSpec]
    mappings: list[EventSourceMapping]
    routes: list[HttpRoute]
    schedules: list[Schedule]
    not_created: dict[str, list[str]] = field(default_factory=dict)  # type -> logical ids
    stripped: dict[str, list[str]] = field(default_factory=dict)
    translated: dict[str, Any] = field(default_factory=dict)

    def physical(self, logical_id: str) -> str | None:
        return self.resources.get(logical_id, ("", None))[1]

    def of_type(self, resource_type: str) -> dict[str, str | None]:
        return {lid: phys for lid, (rtype, phys) in self.resources.items() if rtype == resource_type}


# --------------------------------------------------------------------------- template


def load_build_template(build_dir: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse  # noqa: PLC0415 - slow import, only here

    path = build_dir / "template.yaml"
    if not path.is_file():
        raise StackError(f"{path} does not exist: run `make build` (sam build) first")
    template = yaml_parse(path.read_text(encoding="utf-8"))
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise StackError(f"{path} is not a template with Resources")
    return template


def resolve_parameters(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    """Every template parameter's value: the override, else the default."""
    values: dict[str, str] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        if name in overrides:
            values[name] = str(overrides[name])
        elif isinstance(spec, dict) and "Default" in spec:
            default = spec["Default"]
            values[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
    unknown = set(overrides) - set(values)
    if unknown:
        raise StackError(f"parameter overrides for parameters the template does not have: {sorted(unknown)}")
    return values


def _localise_code(template: dict[str, Any], build_dir: Path) -> dict[str, Path]:
    """Point every local code location at a placeholder S3 object; S3 key -> local directory."""
    local: dict[str, Path] = {}
    for logical_id, resource in template["Resources"].items():
        prop = _CODE_PROPERTIES.get(resource.get("Type", ""))
        properties = resource.get("Properties") or {}
        if prop is None or not isinstance(properties.get(prop), str) or properties[prop].startswith("s3://"):
            continue
        directory = (build_dir / properties[prop]).resolve()
        if not directory.is_dir():
            raise StackError(
                f"{logical_id}: {prop} {properties[prop]!r} is not a directory under {build_dir}"
            )
        key = f"{logical_id}.zip"
        local[key] = directory
        if resource["Type"].startswith("AWS::Serverless::"):
            properties[prop] = {"Bucket": CODE_BUCKET, "Key": key}
        else:
            properties[prop] = {"S3Bucket": CODE_BUCKET, "S3Key": key}
    return local


def _upload_placeholders(aws: EmbeddedAws, keys: list[str]) -> None:
    s3 = aws.client("s3")
    if aws.region == "us-east-1":
        s3.create_bucket(Bucket=CODE_BUCKET)
    else:
        s3.create_bucket(Bucket=CODE_BUCKET, CreateBucketConfiguration={"LocationConstraint": aws.region})
    for key in keys:
        s3.put_object(Bucket=CODE_BUCKET, Key=key, Body=_PLACEHOLDER.getvalue())


class _NoManagedPolicyLookups:
    """The translator's fallback for managed policy names it does not bundle: none here (offline)."""

    def load(self) -> dict[str, str]:
        return {}


def translate(template: dict[str, Any], parameters: dict[str, str], aws: EmbeddedAws) -> dict[str, Any]:
    """aws-sam-translator's transform(), with the region of the embedded AWS (not the laptop's)."""
    import boto3  # noqa: PLC0415
    from samtranslator.parser.parser import Parser  # noqa: PLC0415
    from samtranslator.translator.translator import Translator  # noqa: PLC0415
    from samtranslator.utils.py27hash_fix import (  # noqa: PLC0415
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    if "Transform" not in template:
        return template  # plain CloudFormation already
    values: dict[str, Any] = dict(parameters)
    try:
        to_py27_compatible_template(template, values)
        translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=aws.region))
        translated = translator.translate(
            template, parameter_values=values, get_managed_policy_map=_NoManagedPolicyLookups().load
        )
        return undo_mark_unicode_str_in_template(translated)  # type: ignore[no-any-return]
    except Exception as exc:
        raise StackError(f"aws-sam-translator could not translate the template: {exc}") from exc


# --------------------------------------------------------------------------- stack


def _create_stack(
    aws: EmbeddedAws, name: str, template: dict[str, Any], parameters: dict[str, str]
) -> list[str]:
    """create_stack; returns the resource types moto skipped (it warns about each)."""
    cfn = aws.client("cloudformation")
    declared = set(template.get("Parameters") or {})
    # moto says "not supported" for each skipped resource, again on every describe call: the
    # deploy summary says it once instead.
    logging.getLogger("moto").addFilter(_drop_not_supported)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cfn.create_stack(
            StackName=name,
            TemplateBody=json.dumps(template),
            Parameters=[
                {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items() if k in declared
            ],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
    warnings.filterwarnings("ignore", message=r"Tried to parse .* not supported", category=UserWarning)
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise StackError(f"stack {name} is {stack['StackStatus']}: {stack.get('StackStatusReason', '')}")
    skipped = set()
    for warning in caught:
        match = _UNSUPPORTED_WARNING.search(str(warning.message))
        if match:
            skipped.add(match.group(1))
    return sorted(skipped)


def _failing_type(error: str, template: dict[str, Any]) -> str | None:
    """The resource type an error message names, through a logical id or the type itself."""
    resources = template.get("Resources") or {}
    types = {r.get("Type") for r in resources.values()}
    for rtype in sorted(types, key=lambda t: -len(t or "")):
        if rtype and rtype in error:
            return str(rtype)
    for logical_id in sorted(resources, key=len, reverse=True):
        if re.search(rf"\b{re.escape(logical_id)}\b", error):
            return str(resources[logical_id].get("Type"))
    return None


def _reset_moto(aws: EmbeddedAws, keys: list[str]) -> None:
    """Back to an empty moto (a failed create_stack leaves what it created), code placeholders again."""
    import urllib.request  # noqa: PLC0415

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    opener.open(urllib.request.Request(f"{aws.endpoint}/moto-api/reset", method="POST"), timeout=30).close()
    _upload_placeholders(aws, keys)


def _find_failing_type(
    aws: EmbeddedAws, name: str, template: dict[str, Any], parameters: dict[str, str], keys: list[str]
) -> str | None:
    """The error did not name it: the type whose removal lets moto create the stack, by trial."""
    resources = template["Resources"]
    counts: dict[str, int] = {}
    for resource in resources.values():
        counts[resource.get("Type", "")] = counts.get(resource.get("Type", ""), 0) + 1
    for candidate in sorted(counts, key=lambda t: (counts[t], t)):
        # Outputs may name the removed resources, and do not change what gets created.
        trial = {k: v for k, v in template.items() if k != "Outputs"}
        trial["Resources"] = {k: r for k, r in resources.items() if r.get("Type") != candidate}
        _reset_moto(aws, keys)
        try:
            _create_stack(aws, name, trial, parameters)
        except (BotoCoreError, ClientError, StackError):
            continue
        return candidate
    return None


def create_stack_stripping_failures(
    aws: EmbeddedAws, name: str, template: dict[str, Any], parameters: dict[str, str], keys: list[str]
) -> tuple[list[str], dict[str, list[str]]]:
    """Create the stack; a resource type that makes moto fail is stripped (and logged), then again.

    The failing type is the one the error names, else found by trial (moto's errors rarely name
    the resource); moto is reset before every new attempt.
    """
    stripped: dict[str, list[str]] = {}
    while True:
        try:
            return _create_stack(aws, name, template, parameters), stripped
        except (BotoCoreError, ClientError, StackError) as exc:
            error = str(exc).splitlines()[0][:300]
            log.warning("moto could not create the stack (%s); looking for the resource type", error)
            failing = _failing_type(error, template) or _find_failing_type(
                aws, name, template, parameters, keys
            )
            if failing is None or failing in stripped:
                raise StackError(f"moto could not create the stack: {error}") from exc
            ids = [lid for lid, r in template["Resources"].items() if r.get("Type") == failing]
            stripped[failing] = ids
            for lid in ids:
                del template["Resources"][lid]
            log.warning("moto cannot create %s: stripped %s from the local stack", failing, ", ".join(ids))
            _reset_moto(aws, keys)


def _stack_resources(aws: EmbeddedAws, name: str) -> dict[str, tuple[str, str | None]]:
    answer = aws.client("cloudformation").describe_stack_resources(StackName=name)
    resources: dict[str, tuple[str, str | None]] = {}
    for resource in answer.get("StackResources", []):
        logical_id = resource.get("LogicalResourceId")
        if logical_id:  # moto lists the types it skipped without ids
            resources[logical_id] = (resource.get("ResourceType", ""), resource.get("PhysicalResourceId"))
    return resources


# --------------------------------------------------------------------------- read back


def _refs_to(value: Any, logical_id: str, where: str = "") -> list[str]:
    """Where (as dotted paths) a template fragment holds {"Ref": logical_id}."""
    if isinstance(value, dict):
        if value.get("Ref") == logical_id:
            return [where]
        return [p for k, v in value.items() for p in _refs_to(v, logical_id, f"{where}.{k}" if where else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _refs_to(v, logical_id, f"{where}[{i}]")]
    return []


def _warn_unresolvable_refs(
    translated: dict[str, Any], resources: dict[str, tuple[str, str | None]], not_created: set[str]
) -> None:
    """moto creates some resources without a physical id (an event bus): a Ref to them is garbage."""
    for logical_id, (rtype, physical) in resources.items():
        # Layers are resolved by the runner itself, from the translated template.
        if physical or rtype in not_created or rtype == "AWS::Lambda::LayerVersion":
            continue
        places = [
            f"{lid}.{path}"
            for lid, resource in translated["Resources"].items()
            if rtype not in {"AWS::Lambda::Permission"}
            for path in _refs_to(resource.get("Properties") or {}, logical_id)
        ]
        if places:
            hint = f" (use !GetAtt {logical_id}.Name)" if rtype == "AWS::Events::EventBus" else ""
            log.warning(
                "moto gives %s (%s) no physical id, so Ref %s does not resolve here: %s%s",
                logical_id,
                rtype,
                logical_id,
                ", ".join(places[:5]),
                hint,
            )


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        getatt = value.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt:
            return str(getatt[0])
        if isinstance(getatt, str):
            return getatt.split(".", 1)[0]
    return None


def _functions(
    aws: EmbeddedAws,
    translated: dict[str, Any],
    resources: dict[str, tuple[str, str | None]],
    local_code: dict[str, Path],
) -> dict[str, FunctionSpec]:
    lam = aws.client("lambda")
    tresources = translated["Resources"]
    functions: dict[str, FunctionSpec] = {}
    for logical_id, resource in tresources.items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        properties = resource.get("Properties") or {}
        physical = resources.get(logical_id, ("", None))[1]
        if not physical:
            log.warning("%s: moto created no function; it will not run locally", logical_id)
            continue
        code_key = (properties.get("Code") or {}).get("S3Key")
        if code_key not in local_code:
            log.warning("%s: its code is not a sam build directory (inline or image?); not run", logical_id)
            continue
        try:
            config = lam.get_function_configuration(FunctionName=physical)
        except ClientError as exc:
            raise StackError(
                f"moto cannot describe {logical_id} ({str(exc).splitlines()[0][:160]}); a Ref moto cannot "
                "resolve in its properties (see the warnings above) is the usual cause"
            ) from exc
        runtime = str(config.get("Runtime", ""))
        if not runtime.startswith("python3"):
            log.warning("%s: runtime %s is not Python; not run", logical_id, runtime)
            continue
        layer_dirs = []
        for layer in properties.get("Layers") or []:
            layer_id = _ref(layer)
            key = (((tresources.get(layer_id) or {}).get("Properties") or {}).get("Content") or {}).get(
                "S3Key"
            )
            if key in local_code:
                layer_dirs.append(local_code[key])
            else:
                log.warning("%s: layer %s is not built locally; it is left out", logical_id, layer)
        environment = {
            str(k): "" if v is None else str(v)
            for k, v in ((config.get("Environment") or {}).get("Variables") or {}).items()
        }
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=str(config["FunctionName"]),
            arn=str(config["FunctionArn"]),
            handler=str(config["Handler"]),
            runtime=runtime,
            timeout=int(config.get("Timeout") or 3),
            memory=int(config.get("MemorySize") or 128),
            environment=environment,
            code_dir=local_code[code_key],
            layer_dirs=tuple(layer_dirs),
        )
    return functions


def _unhook_from_moto(aws: EmbeddedAws, account_id: str, mapping: dict[str, Any]) -> None:
    """moto attaches a mapping to its queue or table and invokes it (in Docker) on writes."""
    from moto.backends import get_backend  # noqa: PLC0415

    source = mapping["EventSourceArn"]
    function_arn = mapping["FunctionArn"]
    service = source.split(":")[2]
    if service == "sqs":
        queue = get_backend("sqs")[account_id][aws.region].queues.get(source.rsplit(":", 1)[1])
        if queue is not None:
            queue.lambda_event_source_mappings.pop(function_arn, None)
    elif service == "dynamodb":
        table = get_backend("dynamodb")[account_id][aws.region].get_table(
            source.split(":", 5)[5].split("/")[1]
        )
        table.lambda_event_source_mappings.pop(function_arn, None)


def _mappings(
    aws: EmbeddedAws,
    account_id: str,
    resources: dict[str, tuple[str, str | None]],
    functions: dict[str, FunctionSpec],
) -> list[EventSourceMapping]:
    lam = aws.client("lambda")
    logical_by_uuid = {
        phys: lid for lid, (rtype, phys) in resources.items() if rtype == "AWS::Lambda::EventSourceMapping"
    }
    function_by_arn = {f.arn: f.logical_id for f in functions.values()}
    mappings = []
    for config in lam.list_event_source_mappings().get("EventSourceMappings", []):
        uuid = config["UUID"]
        function = function_by_arn.get(config["FunctionArn"])
        try:
            lam.update_event_source_mapping(UUID=uuid, Enabled=False)
            _unhook_from_moto(aws, account_id, config)
        except Exception as exc:  # moto's internals moved: say what will happen
            log.warning(
                "could not detach mapping %s from moto (%s): moto may try Docker on writes", uuid, exc
            )
        if function is None:
            continue
        filters = tuple(
            json.loads(f["Pattern"])
            for f in ((config.get("FilterCriteria") or {}).get("Filters") or [])
            if f.get("Pattern")
        )
        mappings.append(
            EventSourceMapping(
                logical_id=logical_by_uuid.get(uuid, uuid),
                function=function,
                source_arn=config["EventSourceArn"],
                batch_size=int(config.get("BatchSize") or 10),
                batching_window=float(config.get("MaximumBatchingWindowInSeconds") or 0),
                filters=filters,
                response_types=tuple(config.get("FunctionResponseTypes") or ()),
                starting_position=config.get("StartingPosition"),
                bisect_on_error=bool(config.get("BisectBatchOnFunctionError")),
                config={k: v for k, v in config.items() if k not in {"LastModified", "ResponseMetadata"}},
                enabled=config.get("State") != "Disabled",
            )
        )
    return mappings


def _routes(translated: dict[str, Any], functions: dict[str, FunctionSpec]) -> list[HttpRoute]:
    routes = []
    for logical_id, resource in translated["Resources"].items():
        rtype = resource.get("Type")
        if rtype == "AWS::ApiGateway::RestApi":
            log.warning("%s: REST APIs (Api events) are not emulated; only HTTP APIs are", logical_id)
            continue
        if rtype != "AWS::ApiGatewayV2::Api":
            continue
        body = (resource.get("Properties") or {}).get("Body")
        if not isinstance(body, dict):
            log.warning("%s: an HTTP API without an inline OpenAPI Body is not emulated", logical_id)
            continue
        for path, operations in (body.get("paths") or {}).items():
            for method, operation in (operations or {}).items():
                integration = (
                    (operation or {}).get("x-amazon-apigateway-integration")
                    if isinstance(operation, dict)
                    else None
                )
                if not integration:
                    continue
                match = _FUNCTION_ARN_IN_SUB.search(json.dumps(integration.get("uri")))
                function = match.group(1) if match else _ref(integration.get("uri"))
                if function not in functions:
                    log.warning(
                        "%s %s %s: integration %s is not a local function", logical_id, method, path, function
                    )
                    continue
                routes.append(
                    HttpRoute(
                        api=logical_id,
                        method="ANY" if method == "x-amazon-apigateway-any-method" else method.upper(),
                        path=path,
                        function=function,
                        payload_version=str(integration.get("payloadFormatVersion") or "2.0"),
                    )
                )
    return routes


def _resolve(value: Any, parameters: dict[str, str], stack: str, region: str, account: str) -> Any:
    """Enough of Ref/Fn::Sub to show a schedule's expression (parameters and pseudo parameters)."""
    pseudo = {
        "AWS::StackName": stack,
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": "aws",
    }
    if isinstance(value, dict) and "Ref" in value:
        return parameters.get(value["Ref"], pseudo.get(value["Ref"], json.dumps(value)))
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return re.sub(
            r"\$\{([^}]+)\}",
            lambda m: parameters.get(m.group(1), pseudo.get(m.group(1), m.group(0))),
            value["Fn::Sub"],
        )
    return value


def _schedules(
    translated: dict[str, Any],
    functions: dict[str, FunctionSpec],
    parameters: dict[str, str],
    *,
    stack: str,
    region: str,
    account: str,
) -> list[Schedule]:
    schedules = []
    for logical_id, resource in translated["Resources"].items():
        rtype = resource.get("Type")
        properties = resource.get("Properties") or {}
        if rtype == "AWS::Scheduler::Schedule":
            targets = [properties.get("Target") or {}]
        elif rtype == "AWS::Events::Rule" and properties.get("ScheduleExpression"):
            targets = properties.get("Targets") or []
        else:
            continue
        state = str(_resolve(properties.get("State", "ENABLED"), parameters, stack, region, account))
        expression = str(_resolve(properties.get("ScheduleExpression"), parameters, stack, region, account))
        for target in targets:
            function = _ref(target.get("Arn"))
            if function not in functions:
                log.warning(
                    "%s: target %s is not a local function; not scheduled", logical_id, target.get("Arn")
                )
                continue
            raw_input = _resolve(target.get("Input"), parameters, stack, region, account)
            schedules.append(
                Schedule(
                    logical_id=logical_id,
                    function=function,
                    expression=expression,
                    enabled=state.upper() != "DISABLED",
                    input=raw_input if isinstance(raw_input, str) else None,
                    source_type=str(rtype),
                )
            )
    return schedules


# --------------------------------------------------------------------------- entry point


def deploy(
    aws: EmbeddedAws, build_dir: Path, stack_name: str, overrides: dict[str, str] | None = None
) -> DeployedStack:
    started = time.monotonic()
    template = load_build_template(build_dir)
    parameters = resolve_parameters(template, overrides or {})
    local_code = _localise_code(template, build_dir)
    _upload_placeholders(aws, sorted(local_code))
    translated = translate(template, parameters, aws)
    skipped, stripped = create_stack_stripping_failures(
        aws, stack_name, translated, parameters, sorted(local_code)
    )
    account_id = aws.account_id
    resources = _stack_resources(aws, stack_name)
    cfn = aws.client("cloudformation")
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: str(o.get("OutputValue", "")) for o in stack.get("Outputs") or []}

    not_created: dict[str, list[str]] = {}
    for logical_id, resource in translated["Resources"].items():
        if resource.get("Type") in skipped:
            not_created.setdefault(resource["Type"], []).append(logical_id)
    _warn_unresolvable_refs(translated, resources, set(skipped))
    functions = _functions(aws, translated, resources, local_code)
    mappings = _mappings(aws, account_id, resources, functions)
    routes = _routes(translated, functions)
    schedules = _schedules(
        translated, functions, parameters, stack=stack_name, region=aws.region, account=account_id
    )
    deployed = DeployedStack(
        name=stack_name,
        region=aws.region,
        account_id=account_id,
        parameters=parameters,
        outputs=outputs,
        resources=resources,
        functions=functions,
        mappings=mappings,
        routes=routes,
        schedules=schedules,
        not_created=not_created,
        stripped=stripped,
        translated=translated,
    )
    log.info(
        "stack %s created from %s in %.1f s: %d resources, %d functions",
        stack_name,
        build_dir / "template.yaml",
        time.monotonic() - started,
        len(resources),
        len(functions),
    )
    if not_created:
        log.info(
            "moto's CloudFormation does not create %s; the runner plays the HTTP API routes and the "
            "schedules itself, the rest is not emulated",
            ", ".join(f"{t} ({', '.join(ids)})" for t, ids in sorted(not_created.items())),
        )
    if mappings:
        log.info(
            "event source mappings disabled in moto and played by the runner: %s",
            ", ".join(f"{m.logical_id} ({m.service} -> {m.function})" for m in mappings),
        )
    return deployed


def translate_source(template: dict[str, Any], parameters: dict[str, str], region: str) -> dict[str, Any]:
    """The translation of a template whose code locations are local folders, without a build
    (e.g. to read the functions' roles): every local code location becomes a placeholder."""
    for resource in template.get("Resources", {}).values():
        prop = _CODE_PROPERTIES.get(resource.get("Type", ""))
        properties = resource.get("Properties") or {}
        if prop and isinstance(properties.get(prop), str) and not properties[prop].startswith("s3://"):
            properties[prop] = f"s3://{CODE_BUCKET}/placeholder.zip"
    return translate(template, parameters, _Region(region))  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Region:
    region: str
