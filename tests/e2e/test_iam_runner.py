"""The runner enforces each function's role: a template variant without one action the send path
needs makes that call fail in the worker, the way AWS fails it, and says so in the runner's log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runner.testing import PROJECT_ROOT, RunnerFailed, start_runner, wait_for
from sms_gateway.sending.record import FINISHED_WITH_RECORDS_UP_TO
from tests.support.action_v1_vendor import ActionV1Vendor

pytestmark = pytest.mark.e2e

BUILD = PROJECT_ROOT / ".aws-sam" / "build"
CREDENTIALS = {"account": "922011", "password": "secret"}


def _variant(build: Path, target: Path, template: dict[str, Any]) -> Path:
    """The sam build output with another template.yaml."""
    target.mkdir()
    for entry in build.iterdir():
        if entry.name != "template.yaml":
            (target / entry.name).symlink_to(entry)
    (target / "template.yaml").write_text(json.dumps(template))  # JSON is YAML
    return target


def _built_template(build: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse((build / "template.yaml").read_text())  # type: ignore[no-any-return]


def _variant_without(build: Path, target: Path, function: str, action: str) -> Path:
    """The sam build output with one action removed from one function's inline policies."""
    template = _built_template(build)
    removed = 0
    for policy in template["Resources"][function]["Properties"]["Policies"]:
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            removed += actions.count(action)
            statement["Action"] = [a for a in actions if a != action]
    assert removed, f"{function} has no {action} to remove"
    return _variant(build, target, template)


@pytest.fixture
def vendor() -> Iterator[ActionV1Vendor]:
    standin = ActionV1Vendor(
        password=CREDENTIALS["password"], account=CREDENTIALS["account"], balance_li=1_000_000
    )
    standin.start()
    yield standin
    standin.stop()


def test_a_send_function_without_batch_write_item_is_denied_and_the_runner_log_says_so(
    tmp_path: Path, vendor: ActionV1Vendor
) -> None:
    if not (BUILD / "template.yaml").is_file():
        pytest.fail("no .aws-sam/build: run `make build` (make e2e and make test do) first")
    # Given the runner on a template whose SendFunction may not call dynamodb:BatchWriteItem
    build = _variant_without(BUILD, tmp_path / "build", "SendFunction", "dynamodb:BatchWriteItem")
    account = {
        "name": "cn-main",
        "vendor": "action_v1",
        "base_url": vendor.url,
        "credentials": CREDENTIALS,
        "options": {"extno": "106900", "md5_password": True},
        "sign": "圆通快递",
        "callback_token": "e2e-callback-token-0123456789",
        "default": True,
    }
    with start_runner({"accounts": [account]}, poll_seconds=60, build_dir=build) as runner:
        # When a send request is published, with more recipients than one transaction takes with
        # its finish (sending.record): their lookups and records are batch-written
        numbers = ["13800138000", *(f"1390013{n:04d}" for n in range(FINISHED_WITH_RECORDS_UP_TO))]
        runner.client("sqs").send_message(
            QueueUrl=runner.info["send_queue_url"],
            MessageBody=json.dumps({"id": "iam-e2e-1", "to": numbers, "content": "你好"}),
        )
        # Then the worker's BatchWriteItem is refused as AWS refuses it, visibly in the runner's log
        denied = wait_for(
            lambda: [line for line in runner.log_lines() if "[IAM] denied dynamodb:BatchWriteItem" in line],
            timeout=60,
            what="the IAM denial in the runner's log",
        )
        assert "for SendFunction" in denied[0] or "sms-gateway-local-SendFunction" in denied[0]
        failed = wait_for(
            lambda: [line for line in runner.invocations("SendFunction") if "AccessDeniedException" in line],
            timeout=60,
            what="the failed SendFunction invocation",
        )
        assert "outcome=error" in failed[0] or "AccessDenied" in failed[0]


def test_a_role_lambda_could_not_read_the_queue_with_is_refused_as_aws_refuses_the_mapping(
    tmp_path: Path,
) -> None:
    if not (BUILD / "template.yaml").is_file():
        pytest.fail("no .aws-sam/build: run `make build` (make e2e and make test do) first")
    # Given a template whose SendFunction role denies sqs:ReceiveMessage (Lambda polls the queue with it)
    template = _built_template(BUILD)
    template["Resources"]["SendFunction"]["Properties"]["Policies"].append(
        {"Statement": [{"Effect": "Deny", "Action": "sqs:ReceiveMessage", "Resource": "*"}]}
    )
    build = _variant(BUILD, tmp_path / "build", template)
    # When the runner starts on it, Then it refuses, naming the mapping and the missing permission
    with pytest.raises(RunnerFailed) as failed:
        start_runner({"accounts": []}, poll_seconds=60, build_dir=build)
    assert "does not have permissions to call ReceiveMessage" in str(failed.value)
    assert "SendFunctionSendRequests" in str(failed.value)
