"""`sms-gateway status` on a routed message: which account served each recipient, and why."""

from __future__ import annotations

import io

import pytest

from cli import render

pytestmark = pytest.mark.unit


def recipient(attempts: list[dict[str, str]]) -> dict[str, object]:
    return {
        "recipient": "+86*******8000",
        "status": "submitted",
        "account": attempts[-1]["account"] if attempts else "cn-main",
        "history": [{"status": "submitted", "vendor_status": "0", "at": "2026-12-02T01:00:00.000Z"}],
        "attempts": attempts,
    }


def test_a_routed_recipient_shows_every_attempt_and_why_its_account_was_chosen() -> None:
    # Given a recipient refused for balance by cn-a and sent by cn-b
    tried = [
        {
            "account": "cn-a",
            "vendor": "action_v1",
            "delivery": "not_sent",
            "reason": "15: 余额不足",
            "chosen": "route main: weighted choice",
            "at": "2026-12-02T01:00:00.000Z",
        },
        {
            "account": "cn-b",
            "vendor": "pwd_v1",
            "delivery": "sent",
            "reason": "0: ok",
            "chosen": "route main: weighted choice",
            "at": "2026-12-02T01:00:00.100Z",
        },
    ]
    out = io.StringIO()
    # When its message is rendered as a table
    render.message({"message_id": "order-1", "request": None, "recipients": [recipient(tried)]}, out)
    # Then an attempts table lists both, in order, with the reason and the choice
    text = out.getvalue()
    section = text[text.index("\nattempts\n") :].splitlines()
    assert "delivery" in section[2] and "chosen" in section[2]
    assert "cn-a" in section[4] and "not_sent" in section[4] and "15: 余额不足" in section[4]
    assert "cn-b" in section[5] and "sent" in section[5] and "route main: weighted choice" in section[5]


def test_a_recipient_without_routing_has_no_attempts_table() -> None:
    out = io.StringIO()
    render.message({"message_id": "m", "request": None, "recipients": [recipient([])]}, out)
    assert "attempts" not in out.getvalue()
