"""action_v1 parsers and code tables, fed with the vendor document's own examples (004)."""

import hashlib
import json

import pytest

from sms_gateway.accounts import Account
from sms_gateway.errors import PushRejected
from sms_gateway.http import VendorHttp
from sms_gateway.models import PushRequest, Status
from sms_gateway.vendors import action_v1
from sms_gateway.vendors.action_v1 import ActionV1Adapter, stat_status

pytestmark = pytest.mark.unit

DOC_PUSH = """[
        {"flag": 0, "mid": "4C36654382720005", "spid": "922011", "accessCode": "10690",
         "mobile": "18983437010", "content": "上行内容", "time": "2017-04-12 01:38:21"},
        {"flag": 1, "mid": "4C36654382720006", "spid": "922011", "accessCode": "10690",
         "mobile": "18983437011", "stat": "DELIVRD", "time": "2017-04-12 01:38:21"}
]"""


def adapter(**options: object) -> ActionV1Adapter:
    account = Account(
        name="cn-main",
        vendor="action_v1",
        base_url="http://127.0.0.1:9",
        credentials={"account": "922011", "password": "123456"},
        options={"extno": "10690", **options},
    )
    return ActionV1Adapter(account, VendorHttp())


def push(body: str, kind: str = "report") -> PushRequest:
    return PushRequest(kind, {}, {}, body.encode(), "application/json")  # type: ignore[arg-type]


def test_mixed_push_from_the_document_splits_into_one_report_and_one_mo() -> None:
    # Given the push example of section 6.2
    # When it is parsed
    batch = adapter().parse_push(push(DOC_PUSH))
    # Then flag 1 is a delivered report in UTC and flag 0 an inbound message
    (report,) = batch.reports
    assert report.vendor_message_id == "4C36654382720006"
    assert report.recipient == "+8618983437011"
    assert report.status is Status.DELIVERED and report.vendor_status == "DELIVRD"
    assert report.occurred_at is not None and report.occurred_at.isoformat() == "2017-04-11T17:38:21+00:00"
    assert report.raw_time == "2017-04-12 01:38:21"
    (mo,) = batch.inbound
    assert (mo.sender, mo.content, mo.ext_no, mo.vendor_message_id) == (
        "+8618983437010",
        "上行内容",
        "10690",
        "4C36654382720005",
    )


def test_push_ack_is_plain_text_ok() -> None:
    answer = adapter().push_ack(push(DOC_PUSH), adapter().parse_push(push(DOC_PUSH)))
    assert (answer.status_code, answer.body, answer.content_type) == (200, "OK", "text/plain")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty body"),
        ("[{flag: 1}]", "not valid JSON"),
        ('"text"', "expected a JSON array"),
        ('[{"flag": 7, "mobile": "13800138000"}]', "unknown flag"),
        ('[{"flag": 1, "mobile": "13800138000"}]', "needs mid and stat"),
        ('[{"mid": "1"}]', "needs flag and mobile"),
    ],
)
def test_malformed_pushes_are_refused_with_a_reason(body: str, reason: str) -> None:
    with pytest.raises(PushRejected, match=reason):
        adapter().parse_push(push(body))


def test_every_stat_code_of_the_document_has_a_canonical_status() -> None:
    # Given the STAT table of section 9, as listed in the document
    documented = (
        ["DELIVRD", "EXPIRED", "DELETED", "REJECTED"]
        + [
            f"MA:{n:04d}"
            for n in (1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30)
        ]
        + ["MO:200", "MO:0254", "MO:0255"]
    )
    # Then each is in the table, and only DELIVRD means delivered
    for code in documented:
        assert code in action_v1.STAT_CODES, code
        status, _ = stat_status(code)
        assert (status is Status.DELIVERED) == (code == "DELIVRD")
    assert stat_status("EXPIRED")[0] is Status.EXPIRED
    assert stat_status("MA:0001")[0] is Status.REJECTED
    assert stat_status("MA:0004")[0] is Status.UNKNOWN


def test_codes_outside_the_table_are_failures_kept_raw() -> None:
    assert stat_status("MO:1234") == (Status.UNDELIVERED, "上级网关返回值，具体含义需上级网关解释")
    assert stat_status("UNDELIV")[0] is Status.UNDELIVERED


def test_result_and_status_tables() -> None:
    assert action_v1.result_status(0)[0] is Status.SUBMITTED
    assert action_v1.result_status("15") == (Status.FAILED, "余额不足")
    assert action_v1.result_status(17)[0] is Status.REJECTED
    assert set(action_v1.STATUS_CODES) == {"0", "1", "2", "3", "4", "5", "6", "7", "21", "100", "102"}


def test_password_signatures_follow_the_document() -> None:
    # send: MD5(password+extno+content+mobile); others: MD5(password); plain when not enabled
    signed = adapter(md5_password=True)
    assert (
        signed._password("10690", "内容", "15023239810,13527576163")
        == hashlib.md5("12345610690内容15023239810,13527576163".encode()).hexdigest()
    )
    assert signed._password() == hashlib.md5(b"123456").hexdigest()
    assert (
        adapter(md5_password=True, md5_uppercase=True)._password()
        == hashlib.md5(b"123456").hexdigest().upper()
    )
    assert adapter()._password("x") == "123456"


def test_single_record_push_without_array_is_accepted() -> None:
    record = json.loads(DOC_PUSH)[1]
    batch = adapter().parse_push(push(json.dumps(record)))
    assert len(batch.reports) == 1 and not batch.inbound
