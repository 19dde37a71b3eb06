"""End to end: ``sms-gateway --local`` against the local runner (its --state-file), which serves
the status API beside the callbacks: a message's whole history and its number in any form.
(IAM authorization is not checked locally; the CLI signs its requests all the same.)"""

from __future__ import annotations

import io
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from local_runner.testing import PROJECT_ROOT, RunningRunner, start_runner, wait_for
from tests.support.action_v1_vendor import ActionV1Vendor

pytestmark = pytest.mark.e2e

TOKEN = "e2e-status-token-0123456789"
MOBILE = "13800138000"


@pytest.fixture(scope="module")
def vendor() -> Iterator[ActionV1Vendor]:
    standin = ActionV1Vendor(password="secret", account="922011").start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def state(vendor: ActionV1Vendor) -> Iterator[tuple[RunningRunner, Path]]:
    if not (PROJECT_ROOT / ".aws-sam" / "build" / "template.yaml").is_file():
        pytest.fail("no .aws-sam/build: run `make build` (make e2e and make test do) first")
    handle, name = tempfile.mkstemp(prefix="sms-gateway-state-", suffix=".json")
    os.close(handle)
    state_file = Path(name)
    state_file.unlink()
    account = {
        "name": "cn-main",
        "vendor": "action_v1",
        "base_url": vendor.url,
        "credentials": {"account": "922011", "password": "secret"},
        "options": {"extno": "106900", "md5_password": True},
        "callback_token": TOKEN,
        "default": True,
    }
    running = start_runner(
        {"accounts": [account]}, poll_seconds=30, extra_args=["--state-file", str(state_file)]
    )
    try:
        vendor.push_url = f"{running.info['api_url']}/callbacks/cn-main/report?token={TOKEN}"
        yield running, state_file
    finally:
        running.stop()
    # And the runner removes its state file when it stops
    assert not state_file.exists()


def cli(state_file: Path, *argv: str) -> tuple[int, Any]:
    out = io.StringIO()
    code = main(["--local", str(state_file), "--json", *argv], out=out)
    return code, json.loads(out.getvalue()) if out.getvalue() else None


def test_the_cli_shows_a_delivered_message_and_finds_it_by_any_form_of_its_number(
    state: tuple[RunningRunner, Path],
) -> None:
    running, state_file = state
    # Given a message sent through the send queue, which the vendor then reports delivered
    message_id = f"e2e-status-{uuid.uuid4().hex[:10]}"
    running.client("sqs").send_message(
        QueueUrl=running.info["send_queue_url"],
        MessageBody=json.dumps({"id": message_id, "to": MOBILE, "content": "状态查询", "sign": "圆通快递"}),
    )

    # When the CLI asks for its status through the runner's status API
    def delivered() -> Any:
        code, answer = cli(state_file, "status", message_id)
        recipients = answer["recipients"] if code == 0 else []
        return answer if recipients and recipients[0]["status"] == "delivered" else None

    answer = wait_for(delivered, 60, what=f"{message_id} delivered, seen through sms-gateway status")
    # Then it shows the request, the recipient and every report with its raw code
    assert answer["request"]["state"] == "done" and answer["request"]["account"] == "cn-main"
    (recipient,) = answer["recipients"]
    assert recipient["recipient"] == "+86*******8000" and recipient["vendor_status"] == "DELIVRD"
    assert [h["status"] for h in recipient["history"]] == ["submitted", "delivered"]
    # And the number finds it in either form
    for form in (MOBILE, "+86" + MOBILE):
        code, found = cli(state_file, "number", form)
        assert code == 0 and message_id in [m["message_id"] for m in found["messages"]]
    # And an unknown message is a 404 (exit code 1)
    assert cli(state_file, "status", "no-such-message")[0] == 1
