"""Bounded JSON (limits.py), kept bodies (store), record bounds and reasons (ingest, base)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from sms_gateway.ingest import unfit_reason
from sms_gateway.limits import InputRefused, load_json, nesting_depth
from sms_gateway.models import InboundIn, ReportIn, Status
from sms_gateway.store.bodies import INLINE_BODY_BYTES, kept_body
from sms_gateway.store.bodies import body_attributes as _body_attributes
from sms_gateway.vendors.base import safe_reason

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [[{"b": 1}]]}', 4),
        ('["[[[[", "]]]]"]', 1),  # brackets inside strings nest nothing
        (r'["\"[[[[", {"k\\": ["x"]}]', 3),  # nor do escaped quotes end a string early
    ],
)
def test_nesting_depth_counts_arrays_and_objects_only(text: str, depth: int) -> None:
    assert nesting_depth(text, 100) == depth


def test_nesting_depth_stops_counting_past_the_limit() -> None:
    assert nesting_depth("[" * 100_000 + "]" * 100_000, 32) == 33


@pytest.mark.parametrize(
    ("data", "reason", "too_large"),
    [
        (b"x" * 11, "body too large (11 bytes; at most 10)", True),
        (b"[" * 40 + b"]" * 40, "nested deeper than 32 levels", False),
        (b"\xff", "body is not UTF-8", False),
        (b"  ", "empty body", False),
        (b"{x}", "body is not valid JSON (line 1 column 2)", False),
        (b"9" * 5000, "body is not readable JSON (ValueError)", False),
        (json.dumps(list(range(20_001))).encode(), "an array or object of more than 20000 elements", False),
    ],
)
def test_load_json_refuses_with_a_short_reason(data: bytes, reason: str, too_large: bool) -> None:
    limit = 10 if too_large else 1_000_000
    with pytest.raises(InputRefused) as refused:
        load_json(data, max_bytes=limit)
    assert (refused.value.reason, refused.value.too_large) == (reason, too_large)


def test_load_json_reads_within_bounds() -> None:
    # NaN and Infinity are not JSON and no table holds them: read as the vendor's text
    assert load_json(b'{"t": NaN, "u": -Infinity}', max_bytes=100) == {"t": "NaN", "u": "-Infinity"}
    assert load_json('\ufeff{"n": 1.10}', max_bytes=100, exact=True) == {"n": Decimal("1.10")}
    assert load_json(b"[" * 32 + b"]" * 32, max_bytes=100) == json.loads("[" * 32 + "]" * 32)


@pytest.mark.parametrize(
    ("body", "attribute"),
    [
        ("上行内容".encode(), "body"),
        (b"\xff\xfe not UTF-8", "body_z"),
        (("字" * 300_000).encode(), "body_z"),
    ],
)
def test_a_kept_body_is_held_in_a_form_an_item_holds_and_read_back_exactly(
    body: bytes, attribute: str
) -> None:
    attributes = _body_attributes(body)
    assert attribute in attributes and kept_body(attributes) == body
    assert len(str(attributes.get("body", ""))) <= INLINE_BODY_BYTES
    assert len(attributes.get("body_z", b"")) < 300_000


def test_a_body_kept_as_a_sample_says_so() -> None:
    import os

    body = os.urandom(1_000_000)  # does not compress
    attributes = _body_attributes(body)
    assert attributes["truncated"] is True and attributes["body_bytes"] == 1_000_000
    assert len(attributes["body_sha256"]) == 64 and kept_body(attributes) is None


def report(**changes: Any) -> ReportIn:
    fields: dict[str, Any] = {
        "vendor_message_id": "4C01",
        "status": Status.DELIVERED,
        "vendor_status": "DELIVRD",
        "description": "",
        "recipient": "+8613900000001",
        "raw_time": "2026-11-23 12:00:03",
    }
    return ReportIn(**{**fields, **changes})


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (report(), None),
        (report(vendor_message_id="A" * 257), "vendor_message_id longer than 256 characters"),
        (report(vendor_message_id=""), "vendor_message_id is empty"),
        (report(raw_time=1e308), "raw_time is not text"),
        (report(recipient="+" + "1" * 40), "recipient longer than 32 characters"),
        (report(description="\ud800"), "description is not valid Unicode"),
        (InboundIn("+8613900000001", "x" * 10_001, None, None), "content longer than 10000 characters"),
    ],
)
def test_records_the_table_could_never_hold_are_named_by_field(record: Any, reason: str | None) -> None:
    assert unfit_reason(record) == reason


def test_reasons_never_quote_values() -> None:
    assert safe_reason(ValueError("a report needs mid and stat")) == "a report needs mid and stat"
    assert safe_reason(ValueError("invalid literal for int() with base 10: 'abc'")) == (
        "unreadable record (ValueError)"
    )
    assert safe_reason(KeyError("13800138000")) == "a required field is missing"
    assert safe_reason(ValueError("bad number 13800138000")) == "bad number 138****8000"


def test_kept_pulled_batches_are_chunked_by_count_and_by_size() -> None:
    from sms_gateway.polling import KEPT_BYTES_PER_ITEM, _chunks
    from sms_gateway.store.bodies import body_attributes as _body_attributes

    # Given 300 MO of 10,000 characters each (about 30 KB apiece in UTF-8)
    records: list[Any] = [InboundIn("+8613900000001", "字" * 10_000, None, f"{n}") for n in range(300)]
    # When they are cut into kept items
    chunks = _chunks(records)
    # Then none is over the size bound, every record is in exactly one, and each is kept whole
    from sms_gateway.models import batch_to_json

    assert sum(len(c.inbound) for c in chunks) == 300
    for chunk in chunks:
        body = batch_to_json(chunk).encode()
        assert len(body) <= KEPT_BYTES_PER_ITEM + 40_000 and "truncated" not in _body_attributes(body)
    small: list[Any] = [InboundIn("+8613900000001", "hi", None, f"{n}") for n in range(450)]
    assert [len(c.inbound) for c in _chunks(small)] == [200, 200, 50]


@pytest.mark.parametrize(
    ("content", "charset", "expected"),
    [
        ('{"m": "余额不足"}'.encode(), None, {"m": "余额不足"}),
        ('{"m": "余额不足"}'.encode("gbk"), "GBK", {"m": "余额不足"}),
        ('{"m": "成功"}'.encode(), "ISO-8859-1", {"m": "成功"}),
    ],
)
def test_a_vendor_answer_is_read_in_its_charset_within_bounds(
    content: bytes, charset: str | None, expected: Any
) -> None:
    import requests

    from sms_gateway.http import _payload
    from sms_gateway.limits import MAX_PULL_BYTES

    response = requests.Response()
    response._content = content
    response.encoding = charset
    assert load_json(_payload(response), max_bytes=MAX_PULL_BYTES) == expected
