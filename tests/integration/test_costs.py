"""What a report and a message cost in DynamoDB calls, counted at the handlers' boto3 client
(issue 11: one write per report, at most three calls per one-recipient message). Counts, not
times: each is a behaviour of the store's write paths."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sms_gateway import runtime
from sms_gateway.models import Status
from tests.support.action_v1_vendor import ActionV1Vendor
from tests.support.aws import CALLBACK_TOKEN, AwsEnv, FakeContext, action_v1_account, load_event, load_handler
from tests.support.dynamodb_calls import counted
from tests.support.handlers import send, sqs_event
from tests.support.vendor_server import VendorServer

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(aws: AwsEnv, vendor: VendorServer) -> ActionV1Vendor:
    aws.put_accounts(action_v1_account(vendor.url))
    return ActionV1Vendor(vendor)


def push(body: Any) -> dict[str, Any]:
    event = load_event("callback/action_v1-push.json")
    event["queryStringParameters"] = {"token": CALLBACK_TOKEN}
    event["rawQueryString"] = f"token={CALLBACK_TOKEN}"
    event["body"] = json.dumps(body, ensure_ascii=False)
    return load_handler("callback")(event, FakeContext())  # type: ignore[no-any-return]


def test_a_one_recipient_message_costs_at_most_three_dynamodb_calls(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given a one-recipient send request, never seen before
    load_handler("send")  # the handler's own client is the one counted
    # When the send function takes it
    with counted(runtime.current().client("dynamodb")) as calls:
        assert send(sqs_event({"id": "cost-1", "to": "13800138000", "content": "x"})) == []
    # Then it cost three calls: the claim (with its inflight mark), the records with the finish
    # (one transaction), and one read of the orphan signal
    assert calls.operations == ["UpdateItem", "TransactWriteItems", "BatchGetItem"], calls.seen
    # And the record and the finished request are there, nothing left inflight
    record = aws.record("cost-1", "+8613800138000")
    assert record is not None and record["status"] == Status.SUBMITTED.value
    (request,) = [i for i in aws.items("MSG#cost-1") if i["sk"] == "REQUEST"]
    assert request["state"] == "done" and "inflight" not in request


def test_a_single_report_push_costs_one_conditional_write_and_one_read(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given a submitted recipient of a vendor that pushes again until acked
    assert send(sqs_event({"id": "cost-2", "to": "13800138000", "content": "x"})) == []
    report = gateway.report_for("13800138000", "DELIVRD")
    # When its report is pushed alone
    with counted(runtime.current().client("dynamodb")) as calls:
        answer = push([report])
    # Then it is acked after one conditional write (the record) and one read (the lookup)
    assert (answer["statusCode"], answer["body"]) == (200, "OK")
    assert (calls.writes, calls.conditional_writes, calls.reads) == (1, 1, 1), calls.seen
    record = aws.record("cost-2", "+8613800138000")
    assert record is not None and record["status"] == Status.DELIVERED.value


def test_a_once_only_vendors_single_report_push_is_kept_raw_before_the_ack_at_one_write_more(
    aws: AwsEnv,
) -> None:
    # Given a recipient submitted through pwd_v1, a vendor that pushes each report once only
    from tests.support.pushes import Pusher, every_account, sample_body, submitted

    every_account(aws)
    report = json.loads(sample_body("pwd_v1", "report"))
    submitted("pwd_v1", "once-1", "+8613512349831", report["sendId"])
    pusher = Pusher()
    # When its report is pushed alone
    with counted(runtime.current().client("dynamodb")) as calls:
        answer = pusher("pwd_v1", "report", report)
    # Then it is acked after the record's conditional write, one read, and the raw body's put
    assert answer["statusCode"] == 200
    assert (calls.writes, calls.conditional_writes, calls.reads) == (2, 1, 1), calls.seen
    assert calls.operations == ["GetItem", "UpdateItem", "PutItem"], calls.seen
    # And the body is kept as received, applied (off the replay index)
    (kept,) = aws.items("INBOX#cn-pwd")
    assert kept["state"] == "applied" and json.loads(kept["body"]) == report and "pending_pk" not in kept


def test_a_report_kept_as_an_orphan_is_still_adopted_by_a_send_that_reads_only_the_signal(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given no orphan report kept on the account
    assert send(sqs_event({"id": "cost-3", "to": "13900139000", "content": "x"})) == []
    # When a message is sent
    with counted(runtime.current().client("dynamodb")) as calls:
        assert send(sqs_event({"id": "cost-4", "to": "13800138000", "content": "x"})) == []
    # Then the send read no orphan key at all, only the shard's signal (one BatchGetItem)
    assert calls.operations.count("BatchGetItem") == 1 and calls.reads == 1, calls.seen


# ------------------------------------------------------------------------ keys that scale (11.6)


def test_one_accounts_pending_recipients_spread_over_every_shard_and_a_poll_reads_them_all(
    aws: AwsEnv,
) -> None:
    # Given 200 recipients of one account waiting for a report, submitted one by one
    from sms_gateway.models import RecipientRecord
    from sms_gateway.store import keys
    from sms_gateway.store.facade import Store
    from tests.support.aws import TABLE

    store = Store(TABLE, write_threads=1)  # moto's backend is not thread-safe
    records = [
        RecipientRecord.submitted(
            message_id=f"spread-{n}",
            recipient=f"+86139{n:08d}",
            account="cn-main",
            vendor="action_v1",
            vendor_message_id=f"vid-{n}",
            vendor_status="0",
            description="OK",
            tags={},
        )
        for n in range(200)
    ]
    store.record_submissions(records)
    # Then their index keys take every shard of the account, none more than a fair share
    pending_keys = [str(i["pending_pk"]) for i in aws.items("MSG#spread-") if "pending_pk" in i]
    assert len(pending_keys) == 200 and len(set(pending_keys)) == keys.SHARDS
    assert max(pending_keys.count(k) for k in set(pending_keys)) < 200 / keys.SHARDS * 2.5
    # And a poll of the account finds every one of them, the longest due first
    due = store.pending_recipients("cn-main", limit=500)
    assert {(p.message_id, p.recipient) for p in due} == {(r.message_id, r.recipient) for r in records}
    assert [p.created_at for p in due] == sorted(p.created_at for p in due)
    # And a smaller page is the longest due of them all, not of one shard
    assert store.pending_recipients("cn-main", limit=10) == due[:10]


def test_kept_pushes_of_one_account_spread_over_shards_and_replay_finds_them_all(aws: AwsEnv) -> None:
    # Given 40 pushes of one account kept for replay
    from sms_gateway.store.facade import Store
    from tests.support.aws import TABLE

    store = Store(TABLE, write_threads=1)  # moto's backend is not thread-safe
    kept = {store.inbox_put("cn-main", "report", b"[]", "application/json") for _ in range(40)}
    # Then they are written under several partition keys, and replay reads every one of them
    assert len({pk for pk, _ in kept}) > 1
    assert {item.key for item in store.inbox_unprocessed("cn-main", older_than_seconds=-60)} == kept
