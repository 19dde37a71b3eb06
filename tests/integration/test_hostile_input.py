"""Hostile input through the real handlers, under moto: bodies too deep, too large or half
unreadable, values no table can hold, kept pushes that never apply, destructive pulls with records
the parser drops, and send requests beyond bounds. Nothing is answered 5xx unless our storage
fails, nothing readable is lost, and no kept item blocks its account."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.action_v1_vendor import ActionV1Vendor
from tests.support.aws import AwsEnv, action_v1_account
from tests.support.handlers import poll, send, sqs_event
from tests.support.pushes import VENDORS, Pusher, account, every_account, sample_body, submitted
from tests.support.vendor_server import Received, Reply, VendorServer

pytestmark = pytest.mark.integration

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def pusher(aws: AwsEnv) -> Pusher:
    every_account(aws)
    return Pusher()


@pytest.fixture
def gateway(aws: AwsEnv, vendor: VendorServer) -> ActionV1Vendor:
    aws.put_accounts(action_v1_account(vendor.url))
    return ActionV1Vendor(vendor)


def kept(aws: AwsEnv, vendor: str) -> list[dict[str, Any]]:
    return sorted(aws.items(f"INBOX#{VENDORS[vendor][0]}"), key=lambda i: str(i["sk"]))


def a_minute_later(monkeypatch: pytest.MonkeyPatch, minutes: int = 2) -> None:
    # The replay leaves alone what is less than a minute old (a push may still be applying).
    at = time.time() + 60 * minutes
    monkeypatch.setattr(time, "time", lambda: at)


def error_of(answer: dict[str, Any]) -> str:
    return str(json.loads(answer["body"])["error"])


# ------------------------------------------------------------------------- bounded input (9.1)


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_a_body_nested_100000_levels_is_a_400_and_kept(aws: AwsEnv, pusher: Pusher, vendor: str) -> None:
    # Given a push nested 100,000 levels deep
    # When it reaches the vendor's report route
    answer = pusher(vendor, "report", DEEP)
    # Then it is a short 400 (never a RecursionError), and the body is kept as rejected
    assert answer["statusCode"] == 400 and "nested deeper than 32 levels" in error_of(answer)
    (item,) = kept(aws, vendor)
    assert item["state"] == "rejected" and "nested" in item["reason"]


def test_a_body_above_the_size_bound_is_a_413_kept_as_a_sample(aws: AwsEnv, pusher: Pusher) -> None:
    # Given a well-formed action_v1 push of 1.2 MB
    body = json.dumps([{"flag": 0, "mobile": "13800138000", "content": "x" * 1_200_000}])
    # When it is pushed
    answer = pusher("action_v1", "report", body)
    # Then it is refused 413, and a sample of it is kept with its size and digest
    assert answer["statusCode"] == 413 and "too large" in error_of(answer)
    (item,) = kept(aws, "action_v1")
    assert item["state"] == "rejected" and item["truncated"] is True
    assert (
        item["body_bytes"] == len(body)
        and len(item["body_sample"]) == 2048
        and len(item["body_sha256"]) == 64
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('[{"flag": 1, "mid": ' + "9" * 5000 + "}]", "not readable JSON"),
        ('{"a": [' + ",".join(["1"] * 25_000) + "]}", "more than 20000 elements"),
        (b"\xff\xfe[]", "not UTF-8"),
    ],
)
def test_hostile_json_is_a_short_400(aws: AwsEnv, pusher: Pusher, body: Any, reason: str) -> None:
    # Given a body Python's json module would choke on or that exceeds a collection bound
    # When it is pushed
    answer = pusher("action_v1", "report", body)
    # Then the answer is a short 400 naming why, with no trace
    assert answer["statusCode"] == 400 and reason in error_of(answer)
    assert "Traceback" not in answer["body"]


def test_a_send_request_beyond_bounds_fails_alone_and_the_others_are_sent(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given a batch with a request nested 100,000 levels, one of 300 KB, one whose number is
    # empty (found by the fuzz test: the refusal itself failed), and a good one
    huge = json.dumps({"id": "huge-1", "to": "13800138001", "content": "x" * 300_000})
    empty = {"id": "empty-to", "to": ["", None], "content": "x"}
    batch = sqs_event(DEEP, huge, empty, {"id": "fine-1", "to": "13800138002", "content": "你好"})
    # When the send function takes the batch
    failures = send(batch)
    # Then nothing is handed back, the good request is sent, and the bad ones failed with a reason
    assert failures == []
    assert [c["mobile"] for c in gateway.calls_of("send")] == ["13800138002"]
    refused = {e["detail"]["message_id"]: e["detail"]["description"] for e in aws.events("SMS Submit Failed")}
    assert "nested deeper than 32 levels" in refused["00000000-0000-4000-8000-000000000001"]
    # (a body refused for its size is not read, so its failure is recorded under the SQS id)
    assert "too large (300" in refused["00000000-0000-4000-8000-000000000002"]
    assert refused["empty-to"]


def test_send_requests_the_table_could_never_hold_fail_with_a_reason(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given requests that DynamoDB would refuse for ever (found by the fuzz test on DynamoDB
    # Local): an empty tag name, and an empty number that would key the by_recipient index
    empty_tag = {"id": "empty-tag", "to": "13800138001", "content": "x", "tags": {"": "v"}}
    empty_to = {"id": "empty-one", "to": "", "content": "x"}
    # When the send function takes them with a good one
    failures = send(sqs_event(empty_tag, empty_to, {"id": "fine-2", "to": "13800138002", "content": "你好"}))
    # Then nothing goes back to the queue, the good one is sent, the others failed with a reason
    assert failures == []
    assert [c["mobile"] for c in gateway.calls_of("send")] == ["13800138002"]
    refused = {e["detail"]["message_id"]: e["detail"] for e in aws.events("SMS Submit Failed")}
    assert "tag names" in refused["empty-tag"]["description"]
    assert refused["empty-tag"]["vendor_status"] == "invalid_request"
    assert refused["empty-one"]["vendor_status"] == "invalid_recipient"


# ------------------------------------------------------------------ partial pushes (8.3, 8.4)

BAD_RECORDS = {
    "action_v1": {"flag": 1, "mobile": "13800138000"},  # a report without mid and stat
    "paasw_v1": {"biz_id": "77", "code": "10000"},  # no phone_number
    "paasw_v2": {"batchId": "88", "chnRptCode": "DELIVRD"},  # no mobile
}


def good_report(vendor: str, vendor_id: str, mobile: str) -> dict[str, Any]:
    reports: dict[str, dict[str, Any]] = {
        "action_v1": {
            "flag": 1,
            "mid": vendor_id,
            "mobile": mobile,
            "stat": "DELIVRD",
            "time": "2026-11-23 12:00:03",
        },
        "paasw_v1": {
            "biz_id": vendor_id,
            "phone_number": mobile,
            "code": "10000",
            "report_time": "2026-11-23 12:00:03",
        },
        "paasw_v2": {
            "batchId": vendor_id,
            "mobile": mobile,
            "chnRptCode": "DELIVRD",
            "chnRptDate": "2026-11-23 12:00:03",
        },
    }
    return reports[vendor]


@pytest.mark.parametrize("vendor", sorted(BAD_RECORDS))
def test_one_unreadable_record_no_longer_costs_the_readable_ones(
    aws: AwsEnv, pusher: Pusher, vendor: str
) -> None:
    # Given a submitted recipient, and a pushed array with its report and one unreadable record
    submitted(vendor, "part-1", "+8613900000001", "1234567")
    records = [good_report(vendor, "1234567", "13900000001"), BAD_RECORDS[vendor]]
    body: Any = {"count": 2, "data": records} if vendor == "paasw_v2" else records
    # When it is pushed
    answer = pusher(vendor, "report", body)
    # Then it is acked, the readable report is applied and published
    assert answer["statusCode"] == 200
    assert aws.record("part-1", "+8613900000001")["status"] == "delivered"  # type: ignore[index]
    assert [e["detail"]["message_id"] for e in aws.events("SMS Delivery Report")] == ["part-1"]
    # And the push is kept raw as `partial`, naming the unreadable record without its values
    (item,) = kept(aws, vendor)
    assert item["state"] == "partial" and item["body"] == json.dumps(body, ensure_ascii=False)
    assert item["reason"].startswith("1 of 2 records unreadable; record 1: ")
    assert [u["index"] for u in item["unreadable"]] == [1]
    assert "13800138000" not in json.dumps(item["unreadable"], default=str) and "pending_pk" not in item


# --------------------------------------------------------------- values the table cannot hold


@pytest.mark.parametrize(
    "raw_time",
    ["NaN", "Infinity", "1e308", "-1e400", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]", '{"t": null}'],
)
def test_a_pushed_time_of_any_json_type_is_stored_as_text(aws: AwsEnv, pusher: Pusher, raw_time: str) -> None:
    # Given a submitted action_v1 recipient, and its report with `time` in an odd JSON type
    submitted("action_v1", "time-1", "+8613900000001", "4C01")
    body = (
        '[{"flag": 1, "mid": "4C01", "mobile": "13900000001", "stat": "DELIVRD", "time": ' + raw_time + "}]"
    )
    # When it is pushed
    answer = pusher("action_v1", "report", body)
    # Then it is acked OK and applied, the raw time kept as text (and no occurred_at of its own)
    assert (answer["statusCode"], answer["body"]) == (200, "OK")
    record = aws.record("time-1", "+8613900000001")
    assert record is not None and record["status"] == "delivered" and isinstance(record["vendor_time"], str)


def test_a_vendor_id_thousands_of_characters_long_is_set_aside_not_503(aws: AwsEnv, pusher: Pusher) -> None:
    # Given a submitted recipient, and a push with its report and a report whose mid is 5000 characters
    submitted("action_v1", "long-1", "+8613900000001", "4C02")
    long_one = {"flag": 1, "mid": "A" * 5000, "mobile": "13900000002", "stat": "DELIVRD"}
    good = {"flag": 1, "mid": "4C02", "mobile": "13900000001", "stat": "DELIVRD"}
    # When both are pushed together, and then the long one alone
    together = pusher("action_v1", "report", [good, long_one])
    alone = pusher("action_v1", "report", [long_one])
    # Then the first is acked with the good report applied, and the long one kept as unreadable
    assert (together["statusCode"], together["body"]) == (200, "OK")
    assert aws.record("long-1", "+8613900000001")["status"] == "delivered"  # type: ignore[index]
    first, second = kept(aws, "action_v1")
    assert first["state"] == "partial" and "vendor_message_id longer than 256" in first["reason"]
    # And alone it is a 400 (it can never be stored), never a 503 "push again later"
    assert alone["statusCode"] == 400 and "vendor_message_id longer than 256" in error_of(alone)
    assert second["state"] == "rejected"


def test_a_body_of_900_kb_in_utf8_is_kept_compressed_and_applied(
    aws: AwsEnv, pusher: Pusher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a submitted recipient, and its report padded with 300,000 Chinese characters (~900 KB)
    submitted("action_v1", "big-1", "+8613900000001", "4C03")
    body = [{"flag": 1, "mid": "4C03", "mobile": "13900000001", "stat": "DELIVRD", "note": "字" * 300_000}]
    # When it is pushed while the table throttles the report's write (a push is copied only
    # when applying fails, issue 11.4), and pushed again once the table is back
    from sms_gateway.store.bodies import kept_body
    from sms_gateway.store.facade import Store

    original = Store.apply_report

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "-"}}, "UpdateItem")

    monkeypatch.setattr(Store, "apply_report", throttled)
    assert pusher("action_v1", "report", body)["statusCode"] == 503
    monkeypatch.setattr(Store, "apply_report", original)
    answer = pusher("action_v1", "report", body)
    # Then it is acked and applied, and was kept whole in a form the table holds (compressed bytes)
    assert (answer["statusCode"], answer["body"]) == (200, "OK")
    assert aws.record("big-1", "+8613900000001")["status"] == "delivered"  # type: ignore[index]
    (item,) = kept(aws, "action_v1")
    assert item["state"] == "received" and "body_z" in item
    assert kept_body(item) == json.dumps(body, ensure_ascii=False).encode()


# ------------------------------------------------------------------------------ no poison (9.2)


def test_a_kept_push_nested_100000_levels_no_longer_blocks_its_account(
    aws: AwsEnv, gateway: ActionV1Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a push nested 100,000 levels deep kept `received` (as it was kept before this fix)
    from sms_gateway.store.facade import Store
    from tests.support.aws import TABLE

    Store(TABLE).inbox_put("cn-main", "report", DEEP.encode(), "application/json")
    # And a submitted recipient whose report waits at the vendor for a pull
    assert send(sqs_event({"id": "after-1", "to": "13800138000", "content": "x"})) == []
    gateway.reports.append(gateway.report_for("13800138000", "DELIVRD"))
    # When the reports poller runs a minute later
    a_minute_later(monkeypatch)
    summary = poll("reports")
    # Then the poisoned push is rejected with its reason and the pulled report is applied
    assert summary["cn-main"] == {"report_updated": 1}
    assert aws.record("after-1", "+8613800138000")["status"] == "delivered"  # type: ignore[index]
    (item,) = [i for i in aws.items("INBOX#cn-main") if i.get("content_type") == "application/json"]
    assert item["state"] == "rejected" and "nested deeper than 32 levels" in item["reason"]


def test_a_kept_push_that_keeps_failing_is_poisoned_and_never_blocks_the_others(
    aws: AwsEnv, gateway: ActionV1Vendor, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given three submitted recipients, a defect that fails every write of the first one's report,
    # and a table that throttles the first write of the second one's
    from sms_gateway.store.facade import Store

    numbers = ["13800138000", "13800138001", "13800138002"]
    assert send(sqs_event({"id": "poison-1", "to": numbers, "content": "x"})) == []
    poison_mid, kept_mid = gateway.sent[numbers[0]], gateway.sent[numbers[1]]
    original, throttled = Store.apply_report, list[Any]()

    def faulty(self: Store, account: str, report: Any) -> Any:
        if report.vendor_message_id == poison_mid:
            raise RuntimeError("a defect of ours")
        if report.vendor_message_id == kept_mid and not throttled:
            throttled.append(1)
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "-"}}, "UpdateItem")
        return original(self, account, report)

    monkeypatch.setattr(Store, "apply_report", faulty)
    # And both reports pushed, neither applied (503: kept `received` for replay)
    assert push_action_v1([gateway.report_for(numbers[0], "DELIVRD")])["statusCode"] == 503
    assert push_action_v1([gateway.report_for(numbers[1], "DELIVRD")])["statusCode"] == 503
    # When the reports poller runs, again and again, and the third report waits for a pull
    gateway.reports.append(gateway.report_for(numbers[2], "DELIVRD"))
    summaries = []
    for run in range(1, 7):
        a_minute_later(monkeypatch, 2 * run)
        summaries.append(poll("reports"))
    # Then no poll of the account failed: the kept push and the pulled report were applied
    assert all(not isinstance(s["cn-main"], str) for s in summaries), summaries
    assert summaries[0]["cn-main"] == {"report_updated": 1, "replayed": 1}
    for number in numbers[1:]:
        assert aws.record("poison-1", f"+86{number}")["status"] == "delivered"  # type: ignore[index]
    # And the failing push was tried five times, then marked poisoned with its reason
    (item,) = [i for i in aws.items("INBOX#cn-main") if poison_mid in str(i.get("body"))]
    assert item["state"] == "poisoned" and item["replay_failures"] == 5
    assert item["reason"] == "5 replays failed; last: a defect of ours" and "pending_pk" not in item
    # And it was counted in the metric the PoisonedItemsAlarm watches
    assert '"PoisonedItems":[1.0]' in capsys.readouterr().out
    assert aws.record("poison-1", f"+86{numbers[0]}")["status"] == "submitted"  # type: ignore[index]


def push_action_v1(body: Any) -> dict[str, Any]:
    from tests.support.aws import FakeContext, load_event, load_handler

    event = load_event("callback/action_v1-push.json")
    event["body"] = json.dumps(body, ensure_ascii=False)
    return load_handler("callback")(event, FakeContext())  # type: ignore[no-any-return]


# -------------------------------------------------------------- destructive pulls (8.3, 8.4)


def test_a_pulled_answer_is_kept_raw_before_parsing_and_unreadable_records_are_kept(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given a submitted recipient, and a pull that hands out its report and an unreadable record once
    assert send(sqs_event({"id": "pull-1", "to": "13800138000", "content": "x"})) == []
    unreadable = {"flag": 1, "mid": {"nested": ["mid"]}, "mobile": "13800138009", "stat": "DELIVRD"}
    gateway.reports += [gateway.report_for("13800138000", "DELIVRD"), unreadable]
    # When the reports poller runs
    poll("reports")
    # Then the good report is applied
    assert aws.record("pull-1", "+8613800138000")["status"] == "delivered"  # type: ignore[index]
    # And the vendor's raw answer was kept, and the unreadable record kept raw with its reason
    by_state = {i["state"]: i for i in aws.items("PULLED#cn-main")}
    assert set(by_state) == {"kept", "unreadable"}
    assert json.loads(by_state["kept"]["body"])["list"][1] == unreadable
    (entry,) = json.loads(by_state["unreadable"]["body"])
    assert entry["record"] == unreadable and entry["index"] == 1
    assert "13800138009" not in entry["reason"] and "13800138009" not in by_state["unreadable"]["reason"]


def test_a_pulled_record_the_table_cannot_hold_is_kept_raw_and_the_poll_goes_on(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given a submitted recipient, and a pull handing out its report and one whose mid is 5000 long
    assert send(sqs_event({"id": "pull-2", "to": "13800138000", "content": "x"})) == []
    too_long = {**gateway.report_for("13800138000", "DELIVRD"), "mid": "A" * 5000}
    gateway.reports += [too_long, gateway.report_for("13800138000", "DELIVRD")]
    # When the reports poller runs
    summary = poll("reports")
    # Then the poll did not fail, the good report is applied, and the other is kept raw with its reason
    assert summary["cn-main"] == {"report_updated": 1}
    assert aws.record("pull-2", "+8613800138000")["status"] == "delivered"  # type: ignore[index]
    (unreadable,) = [i for i in aws.items("PULLED#cn-main") if i["state"] == "unreadable"]
    assert "vendor_message_id longer than 256 characters" in unreadable["reason"]
    (entry,) = json.loads(unreadable["body"])
    assert entry["record"]["vendor_message_id"] == "A" * 5000


def test_a_pulled_answer_that_cannot_be_kept_raw_is_still_read_and_applied(
    aws: AwsEnv, gateway: ActionV1Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a submitted recipient whose report the vendor hands out once, and a table that
    # refuses to keep the raw answer
    from sms_gateway.store.facade import Store

    assert send(sqs_event({"id": "pull-3", "to": "13800138000", "content": "x"})) == []
    gateway.reports.append(gateway.report_for("13800138000", "DELIVRD"))

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "-"}}, "PutItem")

    monkeypatch.setattr(Store, "pulled_put", throttled)
    # When the reports poller runs
    summary = poll("reports")
    # Then the records already handed out are read and applied all the same
    assert summary["cn-main"] == {"report_updated": 1}
    assert aws.record("pull-3", "+8613800138000")["status"] == "delivered"  # type: ignore[index]


def test_a_pulled_answer_that_cannot_be_parsed_at_all_is_still_kept(
    aws: AwsEnv, gateway: ActionV1Vendor, vendor: VendorServer
) -> None:
    # Given a vendor that answers a pull with a truncated body (its records are gone from it)
    truncated = '{"status": "0", "list": [{"flag": 1, "mid": "4C1", "mobile": "1380013'

    def answer(request: Received) -> Reply:
        return Reply(200, truncated, "application/json")

    vendor.responder = answer
    # When the reports poller runs
    summary = poll("reports")
    # Then the poll failed for that account, and the raw answer is kept all the same
    assert summary["cn-main"].startswith("error:")
    (item,) = aws.items("PULLED#cn-main")
    assert item["state"] == "kept" and item["body"] == truncated


def test_a_pwd_v1_mo_pushed_in_full_and_pulled_masked_is_one_inbound_event(
    aws: AwsEnv, vendor: VendorServer
) -> None:
    # Given a pwd_v1 account whose MO pull offers again, masked, an MO that was pushed in full
    aws.put_accounts(account("pwd_v1", vendor.url))
    pushed = json.loads(sample_body("pwd_v1", "mo"))
    masked = {**pushed, "mobile": pushed["mobile"][:3] + "****" + pushed["mobile"][-4:]}

    def answer(request: Received) -> Reply:
        if request.path == "/api/v1/mo":
            return Reply(body={"code": "00", "message": "成功", "data": [masked]})
        return Reply(body={"code": "00", "message": "成功", "data": []})

    vendor.responder = answer
    # When it is pushed, and the inbound poller then pulls it
    assert Pusher()("pwd_v1", "mo", pushed)["statusCode"] == 200
    poll("inbound")
    # Then one SMS Inbound is published, with the full number of the push
    (inbound,) = aws.events("SMS Inbound")
    assert inbound["detail"]["sender"] == "+86" + pushed["mobile"]
    assert inbound["detail"]["content"] == pushed["content"]


# ------------------------------------------------------------------------ storage faults (9.1)


@pytest.mark.parametrize(("vendor", "status"), [("paasw_v2", 503), ("paasw_v1", 200)])
def test_a_storage_fault_while_applying_is_503_and_the_push_is_kept_for_replay(
    aws: AwsEnv, pusher: Pusher, monkeypatch: pytest.MonkeyPatch, vendor: str, status: int
) -> None:
    # Given a submitted recipient and a table that throttles report updates
    from sms_gateway.store.facade import Store

    submitted(vendor, "fault-1", "+8613900000001", "555")

    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")

    monkeypatch.setattr(Store, "apply_report", throttled)
    # When its report is pushed
    report = good_report(vendor, "555", "13900000001")
    answer = pusher(vendor, "report", {"count": 1, "data": [report]} if vendor == "paasw_v2" else [report])
    # Then it is a 503, the vendor pushes again (or, for a vendor that pushes once, acked once
    # stored), and the body is kept for replay
    assert answer["statusCode"] == status and "Traceback" not in answer["body"]
    (item,) = kept(aws, vendor)
    assert item["state"] == "received" and "pending_pk" in item
