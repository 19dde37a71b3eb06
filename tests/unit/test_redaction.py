"""One redaction path: what the Powertools logger writes and what an error answer says."""

import io
import json
import logging

import pytest

from sms_gateway.accounts import Account
from sms_gateway.observability import RedactingFormatter, RedactingTextFormatter, redact, redact_value
from sms_gateway.tokens import TokenCache

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to 13800138000.", "to 138****8000."),
        ("+8613800138000", "+86*******8000"),
        ("8613800138000", "861******8000"),
        ("008613800138000", "008********8000"),
        ("tel13800138000x", "tel138****8000x"),
        ("+447911123456 and +12025550143", "+44******3456 and +12*****0143"),
        ("['13900139000', \"15012345678\"]", "['139****9000', \"150****5678\"]"),
    ],
)
def test_full_numbers_are_masked_wherever_they_stand(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23 12:00:03",
        "20261123120003",  # a vendor timestamp
        "4C2CA88382720003",  # a vendor message id
        "1764633600123",  # epoch milliseconds
        "12800138000",  # 12x is no mobile prefix
        "+0800",
        "138****8000",
        "+86*******8000",
    ],
)
def test_other_digits_and_masked_forms_are_kept(text: str) -> None:
    assert redact(text) == text


def test_credentials_and_callback_tokens_of_an_account_are_replaced() -> None:
    Account(
        name="redaction-probe",
        vendor="action_v1",
        base_url="http://127.0.0.1:9",
        credentials={"account": "acct-redact-1", "password": "pw-Redact-Me-42"},
        callback_token="cb-token-redact-me-0123456789",
    )
    text = "GET /sms?account=acct-redact-1&password=pw-Redact-Me-42&token=cb-token-redact-me-0123456789"
    assert redact(text) == "GET /sms?account=***&password=***&token=***"


def test_a_fetched_vendor_token_is_replaced() -> None:
    class Backend:
        def get_token(self, account: str) -> None:
            return None

        def put_token(self, account: str, token: str, valid_until: int) -> None:
            pass

        def drop_token(self, account: str, token: str) -> None:
            pass

    TokenCache(Backend(), "redaction-token-probe").get(lambda: ("vendor-token-XYZ-987", 7200))
    assert redact("Authorization: vendor-token-XYZ-987") == "Authorization: ***"


def test_short_values_are_not_treated_as_secrets() -> None:
    Account(
        name="redaction-short",
        vendor="action_v1",
        base_url="http://127.0.0.1:9",
        credentials={"account": "a1", "password": "p"},
    )
    assert redact("a1 p ap") == "a1 p ap"


def test_number_like_integers_in_extra_keys_become_masked_strings() -> None:
    assert redact_value({"count": 13800138000, "records": 3, "n": [+8613900139000], "ok": True}) == {
        "count": "138****8000",
        "records": 3,
        "n": ["861******9000"],
        "ok": True,
    }


def test_the_powertools_formatter_redacts_message_extras_and_exception() -> None:
    # Given the project's formatter on a stream
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    log = logging.getLogger("redaction-test")
    log.addHandler(handler)
    log.propagate = False
    # When a message, an extra key and an exception each carry a number
    try:
        raise ValueError("bad mobile 13800138000")
    except ValueError:
        log.exception("push for +8613900139000", extra={"raw": {"mobile": "15012345678"}})
    log.removeHandler(handler)
    # Then none of them is printed in full
    line = stream.getvalue()
    record = json.loads(line)
    assert record["message"] == "push for +86*******9000"
    assert record["raw"] == {"mobile": "150****5678"}
    assert "138****8000" in record["exception"]
    for number in ("13800138000", "13900139000", "15012345678"):
        assert number not in line


def test_the_stdlib_formatter_redacts_other_libraries_records_without_rewriting_them() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingTextFormatter(logging.Formatter("%(levelname)s %(message)s")))
    raw = io.StringIO()
    other = logging.StreamHandler(raw)
    log = logging.getLogger("redaction-test-stdlib")
    log.addHandler(handler)
    log.addHandler(other)
    log.propagate = False
    try:
        raise RuntimeError("to 13800138000")
    except RuntimeError:
        log.exception("retrying %s", "/sms?mobile=13900139000")
    log.removeHandler(handler)
    log.removeHandler(other)
    written = stream.getvalue()
    assert written.startswith("ERROR retrying /sms?mobile=139****9000")
    assert "13800138000" not in written and "13900139000" not in written and "138****8000" in written
    # the record itself is untouched: another handler still formats it as it was
    assert "13900139000" in raw.getvalue()
