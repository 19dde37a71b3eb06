"""Deploy hygiene on the embedded AWS: what the README tells a user to do is what the stacks read,
and the dev and prod environments of samconfig.toml live side by side in one account and region."""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_runner.embedded_aws import EmbeddedAws
from local_runner.iam import decide
from local_runner.roles import stack_principals
from local_runner.stack import DeployedStack, deploy

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".aws-sam" / "build"


def samconfig_environments() -> dict[str, tuple[str, dict[str, str]]]:
    """environment -> (stack name, parameter overrides) as sam deploy reads samconfig.toml."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    environments = {}
    for env, sections in config.items():
        if not isinstance(sections, dict) or "deploy" not in sections:
            continue
        overrides = dict(
            item.split("=", 1)
            for item in shlex.split(sections["deploy"]["parameters"]["parameter_overrides"])
        )
        environments[env] = (sections["global"]["parameters"]["stack_name"], overrides)
    return environments


def readme_parameters() -> dict[str, str]:
    """environment -> the SSM parameter the README's deploy steps create before deploying it."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Deploy\n") : text.index("\n## ", text.index("## Deploy\n") + 1)]
    created: dict[str, str] = {}
    pending: str | None = None
    for line in section.splitlines():
        if match := re.search(r"aws ssm put-parameter .*--name (\S+)", line):
            pending = match.group(1)
        elif "sam deploy" in line and pending:
            env = match.group(1) if (match := re.search(r"--config-env (\S+)", line)) else "default"
            created[env] = pending
            pending = None
    return created


@pytest.fixture(scope="module")
def stacks() -> Iterator[tuple[EmbeddedAws, dict[str, DeployedStack]]]:
    if not (BUILD / "template.yaml").is_file():
        pytest.fail("run `make build` first (the e2e tests deploy the sam build output)")
    aws = EmbeddedAws().start()
    try:
        deployed = {
            env: deploy(aws, BUILD, stack_name, overrides)
            for env, (stack_name, overrides) in samconfig_environments().items()
        }
        yield aws, deployed
    finally:
        aws.stop()


def test_the_readme_creates_the_accounts_parameter_each_environments_functions_read(
    stacks: tuple[EmbeddedAws, dict[str, DeployedStack]],
) -> None:
    aws, deployed = stacks
    # Given the README's deploy steps and samconfig.toml's environments
    created = readme_parameters()
    # Then the README creates a parameter for every environment it deploys, and no other
    assert set(created) == set(deployed) == {"default", "prod"}
    for env, stack in deployed.items():
        # And every function that reads the accounts reads the one the README created
        readers = [f for f in stack.functions.values() if "ACCOUNTS_PARAMETER_NAME" in f.environment]
        assert readers, env
        assert {f.environment["ACCOUNTS_PARAMETER_NAME"] for f in readers} == {created[env]}
        # And each of those functions' roles may read it (ssm:GetParameter on its ARN)
        arn = f"arn:aws:ssm:{stack.region}:{stack.account_id}:parameter{created[env]}"
        principals = stack_principals(stack, aws)
        # (the PublishFunction has the variable from Globals but never reads the document)
        for function in (f for f in readers if f.logical_id != "PublishFunction"):
            documents = principals[function.logical_id].documents
            assert decide(documents, "ssm:GetParameter", arn) == "allow", (
                env,
                function.logical_id,
                documents,
            )


def test_dev_and_prod_stacks_live_side_by_side_with_no_shared_name(
    stacks: tuple[EmbeddedAws, dict[str, DeployedStack]],
) -> None:
    aws, deployed = stacks
    dev, prod = deployed["default"], deployed["prod"]
    # Then both stacks were created, each with its own functions, table, queues and bus
    cfn = aws.client("cloudformation")
    for stack in (dev, prod):
        assert cfn.describe_stacks(StackName=stack.name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    for kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Lambda::Function", "AWS::IAM::Role"):
        dev_names = {p for p in dev.of_type(kind).values() if p}
        prod_names = {p for p in prod.of_type(kind).values() if p}
        assert dev_names and prod_names and not dev_names & prod_names, kind

    # And the names the template fixes itself (schedules, buses) differ per stack: AWS would
    # refuse the second stack otherwise (moto does not create schedules, so they are compared here)
    def fixed_names(stack: DeployedStack) -> set[str]:
        names = set()
        for resource in stack.translated["Resources"].values():
            name = (resource.get("Properties") or {}).get("Name")
            if isinstance(name, dict) and "Fn::Sub" in name:
                name = name["Fn::Sub"].replace("${AWS::StackName}", stack.name)
            if isinstance(name, str):
                names.add(f"{resource['Type']}/{name}")
        return names

    assert fixed_names(dev) and not fixed_names(dev) & fixed_names(prod)
