"""The ``sms-gateway`` CLI in process, against the real handlers under their roles: the status
questions (through the StatusFunction), redrive, republish, replay and check-accounts."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from cli.main import main
from cli.target import Target
from sms_gateway.publishing import Publisher
from sms_gateway.store.facade import Store
from tests.integration.test_status_api import NUMBERS, delivered_and_failed
from tests.support.action_v1_vendor import ActionV1Vendor
from tests.support.aws import ACCOUNTS_PARAMETER, BUS, SOURCE, TABLE, AwsEnv, action_v1_account, load_event
from tests.support.faulty_events import FaultyEvents
from tests.support.handlers import send
from tests.support.status_api import get
from tests.support.vendor_server import VendorServer

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(aws: AwsEnv, vendor: VendorServer) -> ActionV1Vendor:
    aws.put_accounts(action_v1_account(vendor.url))
    return ActionV1Vendor(vendor)


@pytest.fixture
def target(aws: AwsEnv) -> Target:
    sqs = boto3.client("sqs")
    return Target(
        region="us-east-1",
        outputs={
            "TableName": TABLE,
            "SendQueueUrl": aws.send_queue_url,
            "SendDeadLetterQueueUrl": sqs.create_queue(QueueName="send-dlq")["QueueUrl"],
            "PublishFailureQueueUrl": sqs.create_queue(QueueName="publish-failures")["QueueUrl"],
            "EventBusName": BUS,
            "AccountsParameterName": ACCOUNTS_PARAMETER,
        },
        api_get=lambda path, query: get(path, **query),
    )


def run(target: Target, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), target=target, out=out)
    return code, out.getvalue()


def queued(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        found += [dict(m) for m in batch]
    return found


# ------------------------------------------------------------------------------ status questions


def test_status_shows_the_whole_history_as_a_table_and_as_json(
    aws: AwsEnv, gateway: ActionV1Vendor, target: Target
) -> None:
    # Given a message with one delivered and one rejected recipient
    delivered_and_failed(aws, gateway)
    # When the CLI is asked for its status, as a table and as JSON
    code, text = run(target, "status", "doc-1")
    json_code, as_json = run(target, "--json", "status", "doc-1")
    # Then the table lists both recipients and every report with its raw code, numbers masked
    assert code == json_code == 0
    assert "+86*******7010" in text and "DELIVRD" in text and "MA:0001" in text and "submitted" in text
    assert not any(n in text or n in as_json for n in NUMBERS)
    answer = json.loads(as_json)
    assert {r["status"] for r in answer["recipients"]} == {"delivered", "rejected"}


def test_number_finds_the_message_by_any_form_and_account_shows_its_counts(
    aws: AwsEnv, gateway: ActionV1Vendor, target: Target
) -> None:
    # Given a message sent to a number
    delivered_and_failed(aws, gateway)
    # When the number is given as E.164, and the account is asked for
    _, by_e164 = run(target, "--json", "number", "+8618983437010")
    _, national = run(target, "--json", "number", "18983437010")
    code, account = run(target, "--json", "account", "cn-main")
    # Then both forms find the message, and the account shows the hour's counts
    assert [m["message_id"] for m in json.loads(by_e164)["messages"]] == ["doc-1"]
    assert json.loads(national) == json.loads(by_e164)
    assert code == 0 and json.loads(account)["last_hour"]["delivered"] == 1


def test_unknown_ids_and_bad_numbers_exit_1_without_a_trace(
    aws: AwsEnv, gateway: ActionV1Vendor, target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an empty gateway
    # When asked about an unknown message and a malformed number
    unknown, _ = run(target, "status", "nothing-here")
    malformed, _ = run(target, "number", "not-a-number")
    # Then both exit 1 with the API's short reason
    assert (unknown, malformed) == (1, 1)
    errors = capsys.readouterr().err
    assert "404 no such message" in errors and "400" in errors and "Traceback" not in errors


# ------------------------------------------------------------------------------ operations


def test_redrive_moves_dead_letters_back_and_a_dry_run_moves_nothing(
    aws: AwsEnv, gateway: ActionV1Vendor, target: Target
) -> None:
    # Given two dead letters: one with its own id, one identified only by its SQS message id
    sqs = boto3.client("sqs")
    dlq = target.output("SendDeadLetterQueueUrl")
    sqs.send_message(
        QueueUrl=dlq, MessageBody=json.dumps({"id": "dead-1", "to": "13800138000", "content": "x"})
    )
    anonymous = sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"to": "13800138001", "content": "y"}))
    # When a dry run is made, then the redrive
    dry_code, dry = run(target, "--json", "redrive", "--dry-run")
    assert dry_code == 0 and len(json.loads(dry)["left"]) == 2 and json.loads(dry)["done"] == []
    assert queued(aws.send_queue_url) == []
    code, done = run(target, "--json", "redrive")
    # Then both are on the send queue, the anonymous one under its first id, and the DLQ is empty
    assert code == 0 and len(json.loads(done)["done"]) == 2
    bodies = [json.loads(m["Body"]) for m in queued(aws.send_queue_url)]
    assert sorted(b["id"] for b in bodies) == sorted(["dead-1", anonymous["MessageId"]])
    assert queued(dlq) == []


def test_republish_puts_parked_changes_on_the_bus_and_removes_them(
    aws: AwsEnv, gateway: ActionV1Vendor, target: Target
) -> None:
    # Given a change the publisher parked because EventBridge refused its event for good
    failures = target.output("PublishFailureQueueUrl")
    refusing = FaultyEvents(
        boto3.client("events"), lambda _detail, _attempt: True, code="AccessDeniedException"
    )
    publisher = Publisher(BUS, SOURCE, refusing, failure_queue_url=failures, sqs_client=boto3.client("sqs"))
    records = load_event("publish/dynamodb-stream.json")["Records"]
    assert publisher.publish_records(records) == set()
    assert queued(aws.events_queue_url) == []
    # When a dry run is made, then the republish
    _, dry = run(target, "--json", "republish", "--dry-run")
    parked = len(json.loads(dry)["left"])
    assert parked >= 1 and queued(aws.events_queue_url) == []
    code, done = run(target, "--json", "republish")
    # Then every parked event reached the bus, and the queue is empty
    assert code == 0 and len(json.loads(done)["done"]) == parked
    # (read from the bus's queue itself: no table change is pumped here)
    delivered = [json.loads(m["Body"]) for m in queued(aws.events_queue_url)]
    assert len(delivered) == sum(r["events"] for r in json.loads(done)["done"])
    assert {e["detail"]["message_id"] for e in delivered} == {"order-1001"}
    assert queued(failures) == []


def test_replay_applies_a_kept_push_through_the_current_parser(
    aws: AwsEnv, gateway: ActionV1Vendor, target: Target
) -> None:
    # Given a submitted message, and its delivery report kept raw but never applied
    assert send(load_event("send/sqs-batch.json")) == []
    report = [gateway.report_for("13800138000", "DELIVRD")]
    store = Store(TABLE)
    key = store.inbox_put("cn-main", "report", json.dumps(report).encode(), "application/json")
    assert aws.record("order-1001", "+8613800138000")["status"] == "submitted"  # type: ignore[index]
    # When a dry run is made, then the replay of the account's pushes of the period
    period = ["--since", "2000-01-01T00:00:00Z", "--until", "2999-01-01T00:00:00Z"]
    _, dry = run(target, "--json", "replay", "cn-main", *period, "--dry-run")
    assert [r["action"] for r in json.loads(dry)["left"]] == ["would replay"]
    assert aws.record("order-1001", "+8613800138000")["status"] == "submitted"  # type: ignore[index]
    code, done = run(target, "--json", "replay", "cn-main", *period)
    # Then the report is applied (record delivered, one report event) and the item marked applied
    assert code == 0 and [r["action"] for r in json.loads(done)["done"]] == ["replayed"]
    assert aws.record("order-1001", "+8613800138000")["status"] == "delivered"  # type: ignore[index]
    assert len(aws.events("SMS Delivery Report")) == 1
    (kept,) = [i for i in aws.items("INBOX#cn-main") if i["sk"] == key[1]]
    assert kept["state"] == "applied"


def test_replay_of_an_unknown_account_exits_1(aws: AwsEnv, gateway: ActionV1Vendor, target: Target) -> None:
    # Given the gateway's accounts
    # When an account that does not exist is replayed
    code, _ = run(
        target, "replay", "nobody", "--since", "2000-01-01T00:00:00Z", "--until", "2999-01-01T00:00:00Z"
    )
    # Then it is refused
    assert code == 1


# ------------------------------------------------------------------------------ check-accounts


def test_check_accounts_reports_field_paths_only_and_its_exit_code(tmp_path: Path) -> None:
    # Given a valid document and one with a short token and an unknown vendor
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"accounts": [action_v1_account("http://127.0.0.1:1")]}))
    bad = tmp_path / "bad.json"
    secret = "short-tok"
    bad.write_text(json.dumps({"accounts": [action_v1_account("http://127.0.0.1:1", callback_token=secret)]}))
    # When each is checked
    out_good, out_bad = io.StringIO(), io.StringIO()
    good_code = main(["check-accounts", str(good)], out=out_good)
    bad_code = main(["check-accounts", str(bad)], out=out_bad)
    # Then the good one passes, the bad one fails naming the field and never its value
    assert (good_code, bad_code) == (0, 1)
    assert "cn-main" in out_good.getvalue()
    assert "accounts.0.callback_token" in out_bad.getvalue() and secret not in out_bad.getvalue()
    assert main(["check-accounts", str(tmp_path / "missing.json")], out=io.StringIO()) == 2
