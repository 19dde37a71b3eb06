"""intl_v1 parsers, code tables and push authentication, fed with the vendor document's own
examples (002). No network: the HTTP client here refuses to be used."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sms_gateway.accounts import Account
from sms_gateway.errors import PushRejected, PushUnauthorized
from sms_gateway.http import VendorHttp
from sms_gateway.models import PendingRecipient, PushRequest, Status
from sms_gateway.vendors import intl_v1
from sms_gateway.vendors.base import adapter_class
from sms_gateway.vendors.intl_v1 import IntlV1Adapter, report_status, report_time

pytestmark = pytest.mark.unit

# Section 5.5: the push example (one report object per POST).
DOC_PUSH = """{
            "desc": "",
            "errorCode": "16",
            "mobile": "99121244155",
            "msgId": "240924170907169917",
            "status": 2,
            "timestamp": "20240924050907"
  }"""
# Section 4.6: the status API answer.
DOC_STATUS_ANSWER = '{"code": 0, "data": [' + DOC_PUSH + '], "msg": "ok"}'
# Section 1.1: abc123 -> E99A18C428CB38D5F260853678922E03
DOC_SECRET, DOC_SECRET_MD5 = "abc123", "E99A18C428CB38D5F260853678922E03"
GOOD_HEADERS = {"appkey": "10002", "appsecret": DOC_SECRET_MD5, "content-type": "application/json"}


class NoHttp(VendorHttp):
    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        raise AssertionError(f"unexpected vendor call {method} {url}")


def adapter(**options: object) -> IntlV1Adapter:
    account = Account(
        name="intl-main",
        vendor="intl_v1",
        base_url="http://127.0.0.1:9",
        credentials={"app_key": "10002", "app_secret": DOC_SECRET},
        options=options,
        sign="Univasa",
    )
    return IntlV1Adapter(account, NoHttp())


def push(body: str, headers: dict[str, str] | None = None) -> PushRequest:
    return PushRequest(
        "report", GOOD_HEADERS if headers is None else headers, {}, body.encode(), "application/json"
    )


def record(**fields: object) -> str:
    return json.dumps({**json.loads(DOC_PUSH), **fields})


# ---------------------------------------------------------------------------------------- pushes


def test_the_documents_push_example_is_a_failed_report_in_utc() -> None:
    # Given the push example of section 5.5 (status 2, operator code 16, China time)
    # When it is parsed
    (report,) = adapter().parse_push(push(DOC_PUSH)).reports
    # Then it is undelivered with the raw code kept, the number in E.164 and the time in UTC
    assert report.vendor_message_id == "240924170907169917"
    assert report.recipient == "+99121244155"
    assert (report.status, report.vendor_status) == (Status.UNDELIVERED, "16")
    assert report.description == "operator failure code"
    assert report.raw_time == "20240924050907"
    assert report.occurred_at == datetime(2024, 9, 23, 21, 9, 7, tzinfo=UTC)


def test_the_ack_is_exactly_code_0_ok() -> None:
    answer = adapter().push_ack(push(DOC_PUSH), adapter().parse_push(push(DOC_PUSH)))
    assert (answer.status_code, answer.content_type) == (200, "application/json")
    assert answer.body == '{"code":0,"msg":"ok"}'


@pytest.mark.parametrize(
    "body",
    [
        "[" + DOC_PUSH + "]",  # a bare array of report objects
        DOC_STATUS_ANSWER,  # wrapped as the status API answers
        '{"data": ' + DOC_PUSH + "}",  # wrapped, one object
    ],
)
def test_other_reasonable_shapes_of_a_push_are_read_too(body: str) -> None:
    (report,) = adapter().parse_push(push(body)).reports
    assert (report.vendor_message_id, report.recipient) == ("240924170907169917", "+99121244155")


def test_a_pushed_status_1_is_a_failure_as_the_push_table_says() -> None:
    # Given a push with status 1, which the push table (5.4) defines as "发送失败"
    body = record(status=1, errorCode="UNDELIV", desc="")
    # When it is parsed
    (report,) = adapter().parse_push(push(body)).reports
    # Then it is a final failure, its errorCode kept
    assert (report.status, report.vendor_status) == (Status.UNDELIVERED, "UNDELIV")


@pytest.mark.parametrize(
    ("status", "error_code", "expected", "vendor_status"),
    [
        (0, "DELIVRD", Status.DELIVERED, "DELIVRD"),
        ("0", "", Status.DELIVERED, "status 0"),
        (2, "UNDELIV", Status.UNDELIVERED, "UNDELIV"),
        ("2", "EXPIRED", Status.EXPIRED, "EXPIRED"),
        (2, "REJECTD", Status.REJECTED, "REJECTD"),
        (2, "UNKNOWN", Status.UNKNOWN, "UNKNOWN"),
        (2, "DELIVRD", Status.UNDELIVERED, "DELIVRD"),  # contradictory: status decides
    ],
)
def test_status_and_error_code_give_the_canonical_status(
    status: object, error_code: str, expected: Status, vendor_status: str
) -> None:
    (report,) = adapter().parse_push(push(record(status=status, errorCode=error_code))).reports
    assert (report.status, report.vendor_status) == (expected, vendor_status)


def test_a_vendor_description_is_kept_and_ids_are_strings() -> None:
    # Given a msgId sent as a JSON number and a description
    body = json.dumps(
        {
            "msgId": 240924170907169917,
            "mobile": 8613800138000,
            "status": 2,
            "errorCode": "UNDELIV",
            "desc": "absent",
        }
    )
    (report,) = adapter().parse_push(push(body)).reports
    assert report.vendor_message_id == "240924170907169917"
    assert report.recipient == "+8613800138000"
    assert report.description == "absent"
    assert report.occurred_at is None and report.raw_time is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty body"),
        ("{msgId: 1}", "not valid JSON"),
        ('"text"', "expected a report object"),
        ("[1]", "expected a report object"),
        ('{"mobile": "99121244155", "status": 0}', "needs msgId, mobile and status"),
        ('{"msgId": "1", "mobile": "99121244155"}', "needs msgId, mobile and status"),
        ('{"msgId": "1", "mobile": "99121244155", "status": 7}', "unknown status"),
    ],
)
def test_malformed_pushes_are_refused_with_a_short_reason(body: str, reason: str) -> None:
    with pytest.raises(PushRejected, match=reason) as caught:
        adapter().parse_push(push(body))
    assert len(str(caught.value)) < 120


# ---------------------------------------------------------------------------------------- push auth


def test_the_documents_secret_example_gives_the_documents_header() -> None:
    assert adapter()._app_secret() == DOC_SECRET_MD5
    assert hashlib.md5(DOC_SECRET.encode()).hexdigest().upper() == DOC_SECRET_MD5


def test_a_push_with_the_right_headers_passes() -> None:
    adapter().verify_push(push(DOC_PUSH))
    # the digest's case carries no secret: the lower-case form is taken as well
    adapter().verify_push(push(DOC_PUSH, {**GOOD_HEADERS, "appsecret": DOC_SECRET_MD5.lower()}))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"appkey": "10002"},
        {"appkey": "10002", "appsecret": "E99A18C428CB38D5F260853678922E04"},
        {"appkey": "10003", "appsecret": DOC_SECRET_MD5},
        {"appkey": "10002", "appsecret": DOC_SECRET},  # the secret itself, not its MD5
    ],
)
def test_a_push_with_missing_or_wrong_headers_is_unauthorized(headers: dict[str, str]) -> None:
    with pytest.raises(PushUnauthorized) as caught:
        adapter().verify_push(push(DOC_PUSH, headers))
    assert DOC_SECRET not in str(caught.value) and DOC_SECRET_MD5 not in str(caught.value)


# ---------------------------------------------------------------------------------------- tables


def test_the_result_code_table_is_the_documents_and_split_into_permanent_and_retried() -> None:
    # Given chapter 6's ResultCode table
    documented = {"0", *(str(c) for c in range(1001, 1013)), "9999"}
    assert set(intl_v1.RESULT_CODES) == documented
    # Then refusals of the request itself are permanent; credentials, account and "other" retried
    permanent = {"1001", "1006", "1007", "1008", "1009", "1010", "1011"}
    assert permanent == intl_v1.PERMANENT_SEND_CODES
    retried = documented - intl_v1.PERMANENT_SEND_CODES - {"0", "1012"}
    assert retried == {"1002", "1003", "1004", "1005", "9999"}
    assert intl_v1.result_name("1009") == "AmountNotEnough: 额度不足"
    assert intl_v1.result_name("4242").startswith("unknown")


def test_report_status_table() -> None:
    assert report_status(0, "") == (Status.DELIVERED, "delivered")
    assert report_status(1, "") is None
    assert report_status(2, "16") == (Status.UNDELIVERED, "operator failure code")
    assert report_status(2, "expired")[0] is Status.EXPIRED  # type: ignore[index]
    assert report_status(3, "DELIVRD") is None


def test_report_times_of_14_and_12_digits_are_china_time() -> None:
    assert report_time("20240924050907", "Asia/Shanghai") == datetime(2024, 9, 23, 21, 9, 7, tzinfo=UTC)
    # the table's 12-digit form is minutes, never misread as minute 5 second 7
    assert report_time("202211042057", "Asia/Shanghai") == datetime(2022, 11, 4, 12, 57, tzinfo=UTC)
    assert report_time("2024-09-24", "Asia/Shanghai") is None
    assert report_time("", "Asia/Shanghai") is None


# ---------------------------------------------------------------------------------------- declarations


def test_declared_capabilities() -> None:
    cls = adapter_class("intl_v1")
    assert cls is IntlV1Adapter
    assert cls.max_recipients_per_call == 1000
    assert cls.native_scheduling is True
    assert (cls.supports_templates, cls.supports_p2p, cls.pulls_inbound) == (False, False, False)
    assert cls.push_kinds == frozenset({"report"}) and cls.pulls_reports is True
    assert cls.ack_once_stored is False


@pytest.mark.parametrize(
    ("e164", "wire"), [("+2348031000010", "2348031000010"), ("+8613800138000", "8613800138000")]
)
def test_numbers_go_as_country_code_and_digits_for_any_country(e164: str, wire: str) -> None:
    assert adapter().vendor_number(e164) == wire


def test_recipients_past_the_30_day_window_become_unknown_without_asking() -> None:
    # Given two pending recipients of 31 and 45 days ago (and a client that refuses any call)
    now = datetime.now(UTC)
    rows = [
        PendingRecipient("m-1", "+2348031000010", "240924170907169917", _iso(now - timedelta(days=31))),
        PendingRecipient("m-2", "+8613800138000", "240924170907169918", _iso(now - timedelta(days=45))),
    ]
    asked: list[int] = []

    # When the reports are pulled
    def pending(limit: int) -> list[PendingRecipient]:
        asked.append(limit)
        return rows

    reports = adapter().pull_reports(pending)
    # Then both are final unknown, with a clear code, and the vendor was not called
    assert [(r.recipient, r.status, r.vendor_status) for r in reports] == [
        ("+2348031000010", Status.UNKNOWN, "no_report"),
        ("+8613800138000", Status.UNKNOWN, "no_report"),
    ]
    assert "30-day" in reports[0].description
    assert asked == [2000]  # 4 calls of 500 pairs by default


def test_the_pairs_per_run_follow_the_option_within_bounds() -> None:
    for value, limit in ((1, 500), (10, 5000), (99, 10_000), (0, 500), ("x", 2000)):
        asked: list[int] = []
        adapter(status_calls_per_run=value).pull_reports(lambda n, asked=asked: asked.append(n) or [])  # type: ignore[misc]
        assert asked == [limit], value


def test_recipients_younger_than_the_minimum_age_are_not_asked_yet() -> None:
    # Given an account that waits 10 minutes for pushes, and one recipient of a minute ago
    now = datetime.now(UTC)
    rows = [PendingRecipient("m-1", "+2348031000010", "240924170907169917", _iso(now - timedelta(minutes=1)))]
    # Then the poller neither asks the vendor (the client would refuse) nor reports anything
    assert adapter(status_min_age_seconds=600).pull_reports(lambda limit: rows) == []


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
