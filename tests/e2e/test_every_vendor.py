"""The whole path for each vendor, through the local runner as a subprocess and the simulators:
send queue -> vendor call -> push or poll -> DynamoDB record -> events on the bus (and MO back)."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

from local_runner.testing import PROJECT_ROOT, RunningRunner, start_runner, wait_for
from simulators import simulator_for
from tests.support.events_contract import violations

pytestmark = pytest.mark.e2e

SAMPLE = json.loads((PROJECT_ROOT / "local_runner" / "accounts.sample.json").read_text())
# How each sample account's simulator hands reports and MO back: both paths are exercised.
DELIVERY = {"cn-main": "push", "cn-paasw": "push", "cn-paasw2": "pull", "intl": "push", "cn-pwd": "pull"}
RECIPIENT = {"intl": "+2348031000010"}
HAS_MO = {"cn-main", "cn-paasw", "cn-paasw2", "cn-pwd"}


class EventsTap:
    """Drains the runner's events queue in the background, keeping every event."""

    def __init__(self, runner: RunningRunner) -> None:
        self._sqs = runner.client("sqs")
        self._url = runner.info["events_queue_url"]
        self.events: list[dict[str, Any]] = []
        self.invalid: list[str] = []  # events that break their shipped schema (checked by of())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            answer = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in answer.get("Messages", []):
                event = json.loads(message["Body"])
                self.invalid.extend(violations(event))
                self.events.append(event)
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])

    def of(self, detail_type: str, **detail: Any) -> list[dict[str, Any]]:
        assert not self.invalid, self.invalid
        return [
            e
            for e in list(self.events)
            if e["detail-type"] == detail_type and all(e["detail"].get(k) == v for k, v in detail.items())
        ]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[RunningRunner, dict[str, Any], EventsTap]]:
    if not (PROJECT_ROOT / ".aws-sam" / "build" / "template.yaml").is_file():
        pytest.fail("no .aws-sam/build: run `make build` (make e2e and make test do) first")
    sims, accounts = {}, []
    for sample in SAMPLE["accounts"]:
        account = copy.deepcopy(sample)
        account["base_url"] = "http://127.0.0.1:0"
        sims[account["name"]] = simulator_for(account, report_delay=0.3)
        account["base_url"] = sims[account["name"]].url
        accounts.append(account)
    runner = start_runner({"accounts": accounts}, poll_seconds=1)
    tap = EventsTap(runner)
    try:
        for account in accounts:
            name, token = account["name"], account["callback_token"]
            if DELIVERY[name] == "push":
                base = f"{runner.info['api_url']}/callbacks/{name}"
                sims[name].configure(
                    push_report_url=f"{base}/report?token={token}",
                    push_mo_url=f"{base}/mo?token={token}",
                    delivery="push",
                )
            else:
                sims[name].configure(delivery="pull")
        yield runner, sims, tap
    finally:
        tap.stop()
        code = runner.stop()
        for sim in sims.values():
            sim.stop()
        assert code == 0, runner.log_text(last=60)


def record(runner: RunningRunner, message_id: str, recipient: str) -> dict[str, Any] | None:
    answer = runner.client("dynamodb").get_item(
        TableName=runner.info["table_name"],
        Key={"pk": {"S": f"MSG#{message_id}"}, "sk": {"S": f"RCPT#{recipient}"}},
        ConsistentRead=True,
    )
    return cast("dict[str, Any] | None", answer.get("Item"))


@pytest.mark.parametrize("account", [a["name"] for a in SAMPLE["accounts"]])
def test_a_message_goes_out_comes_back_delivered_and_is_published(
    stack: tuple[RunningRunner, dict[str, Any], EventsTap], account: str
) -> None:
    runner, sims, tap = stack
    sim = sims[account]
    recipient = RECIPIENT.get(account, "+8613800138000")
    message_id = f"e2e-{account}-{int(time.time() * 1000)}"
    # Given a send request for this account on the send queue
    runner.client("sqs").send_message(
        QueueUrl=runner.info["send_queue_url"],
        MessageBody=json.dumps(
            {
                "id": message_id,
                "account": account,
                "to": recipient,
                "content": "e2e 你好",
                "tags": {"case": account},
            },
            ensure_ascii=False,
        ),
    )
    # When the runner's send function submits it, the vendor got exactly one message for that number
    wait_for(
        lambda: [m for m in sim.messages if recipient.lstrip("+").endswith(str(m["mobile"]))],
        30,
        what=f"{account}: the vendor receiving the message",
    )
    # Then the report comes back (pushed or polled, per DELIVERY) and the record is delivered
    item = wait_for(
        lambda: (r := record(runner, message_id, recipient)) and r["status"]["S"] == "delivered" and r,
        40,
        what=f"{account}: record delivered via {DELIVERY[account]}",
    )
    assert item["account"]["S"] == account and item["vendor_message_id"]["S"]
    # And consumers saw SMS Submitted, then SMS Delivery Report, with the tags
    wait_for(
        lambda: tap.of("SMS Delivery Report", message_id=message_id), 20, what=f"{account}: report event"
    )
    (submitted,) = tap.of("SMS Submitted", message_id=message_id)
    (report,) = tap.of("SMS Delivery Report", message_id=message_id)
    assert submitted["detail"]["recipient"] == report["detail"]["recipient"] == recipient
    assert report["detail"]["status"] == "delivered" and report["detail"]["final"] is True
    assert report["detail"]["tags"] == {"case": account}
    assert submitted["time"] <= report["time"]


@pytest.mark.parametrize("account", sorted(HAS_MO))
def test_a_reply_comes_back_as_sms_inbound(
    stack: tuple[RunningRunner, dict[str, Any], EventsTap], account: str
) -> None:
    _, sims, tap = stack
    content = f"回复 {account} {int(time.time() * 1000)}"
    # Given a phone replying through this vendor
    sims[account].queue_mo("13900139000", content, ext_no="01")
    # When the vendor pushes it or the poller pulls it
    (inbound,) = wait_for(
        lambda: tap.of("SMS Inbound", account=account, content=content),
        30,
        what=f"{account}: SMS Inbound via {DELIVERY[account]}",
    )
    # Then the event names the sender (masked by vendors that mask pulled numbers) and the account
    detail = inbound["detail"]
    assert detail["vendor"] == next(a["vendor"] for a in SAMPLE["accounts"] if a["name"] == account)
    assert detail["sender"] == "+8613900139000" or detail["sender_mask"] == "139****9000"
    assert detail["received_at"].endswith("Z")


def test_every_account_reports_its_balance(stack: tuple[RunningRunner, dict[str, Any], EventsTap]) -> None:
    _, _, tap = stack
    names = {a["name"] for a in SAMPLE["accounts"]}
    wait_for(
        lambda: names <= {e["detail"]["account"] for e in tap.of("SMS Balance")},
        30,
        what="a balance per account",
    )
    for event in tap.of("SMS Balance"):
        assert event["detail"]["currency"] and isinstance(event["detail"]["amount"], int | float)
