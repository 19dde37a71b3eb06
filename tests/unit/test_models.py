"""The send-request contract and the helpers every vendor relies on."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from sms_gateway.clock import iso, to_vendor_time, vendor_time_to_utc
from sms_gateway.errors import UnsupportedRecipient
from sms_gateway.models import SendRequest, Status
from sms_gateway.phone import cn_national, from_vendor, mask, matches_mask, to_e164

pytestmark = pytest.mark.unit


def test_a_single_number_becomes_a_list_and_the_sign_loses_its_brackets() -> None:
    request = SendRequest.model_validate({"to": "13800138000", "content": "hi", "sign": "【圆通】"})
    assert request.to == ["13800138000"]
    assert request.sign == "圆通"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"content": "hi"}, "no recipients"),
        ({"to": "13800138000"}, "empty content"),
        ({"to": "13800138000", "content": "  "}, "empty content"),
        ({"to": "1", "p2p": [{"to": "1", "content": "x"}]}, "either 'to' or 'p2p'"),
        ({"to": "13800138000", "content": "x", "template": {"id": "1"}}, "either 'content' or 'template'"),
        ({"to": ["13800138000"] * 10_001, "content": "x"}, "at most 10000"),
        ({"id": "has space", "to": "13800138000", "content": "x"}, "id must be"),
        ({"to": "13800138000", "content": "x", "send_at": "2026-11-23T09:00:00"}, "UTC offset"),
        ({"to": "13800138000", "content": "x", "kind": "spam"}, "kind"),
        ({"to": "13800138000", "content": "x", "colour": "red"}, "Extra inputs"),
    ],
)
def test_impossible_requests_are_refused(body: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SendRequest.model_validate(body)


def test_statuses_only_move_forward_by_rank() -> None:
    assert Status.SUBMITTED.rank < Status.DELIVERED.rank
    assert {s for s in Status if not s.final} == {Status.SUBMITTED}


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("+8613800138000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("+2348031000010", "+2348031000010"),
        ("138 0013 8000", "+8613800138000"),
    ],
)
def test_numbers_are_normalised_to_e164(raw: str, e164: str) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize("raw", ["12345", "abc", "+86138"])
def test_invalid_numbers_are_refused(raw: str) -> None:
    with pytest.raises(UnsupportedRecipient):
        to_e164(raw)


def test_vendor_forms_and_masks() -> None:
    assert cn_national("+8613800138000") == "13800138000"
    with pytest.raises(UnsupportedRecipient):
        cn_national("+2348031000010")
    assert from_vendor("2348031000010", international_digits=True) == "+2348031000010"
    assert mask("+8613800138000") == "+86*******8000"
    assert "0013" not in mask("13800138000")
    assert matches_mask("+8613598319831", "135****9831")
    assert not matches_mask("+8613698319831", "135****9831")


def test_vendor_local_time_becomes_utc() -> None:
    moment = vendor_time_to_utc("2017-04-12 01:38:21", "Asia/Shanghai")
    assert moment == datetime(2017, 4, 11, 17, 38, 21, tzinfo=UTC)
    assert vendor_time_to_utc("20240924050907", "Asia/Shanghai", "%Y%m%d%H%M%S") == datetime(
        2024, 9, 23, 21, 9, 7, tzinfo=UTC
    )
    assert vendor_time_to_utc("garbage", "Asia/Shanghai") is None
    assert iso(moment) == "2017-04-11T17:38:21.000Z"
    assert to_vendor_time(moment, "Asia/Shanghai", "%Y-%m-%d %H:%M:%S") == "2017-04-12 01:38:21"


def test_compact_vendor_times_must_be_complete() -> None:
    # 12 digits would be misread by strptime as 2022-11-04 20:05:07; it is not a 14-digit time
    assert vendor_time_to_utc("202211042057", "Asia/Shanghai", "%Y%m%d%H%M%S") is None
    assert vendor_time_to_utc("202211042057", "Asia/Shanghai", "%Y%m%d%H%M%S", "%Y%m%d%H%M") == datetime(
        2022, 11, 4, 12, 57, tzinfo=UTC
    )


def test_numbers_quoted_in_text_are_redacted() -> None:
    from sms_gateway.phone import redact_numbers

    text = redact_numbers("invalid literal for int(): '13800138000'; code 1007, batch 39036632588910887018")
    assert "13800138000" not in text and "code 1007" in text and "0013" not in text
