"""Pushes whose fields carry phone numbers and secrets: the callback's answers and the function's
log lines show them masked, never in full (issue 9.4)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.aws import CALLBACK_TOKEN, AwsEnv, FakeContext, action_v1_account, load_event, load_handler

pytestmark = pytest.mark.integration

NUMBER = "13800138000"
PASSWORD = "s3cret-pass"  # action_v1_account's


class Tee(io.StringIO):
    """Kept for the test's assertions, and still written where it was going (the suite's log scan)."""

    def __init__(self, onward: Any) -> None:
        super().__init__()
        self._onward = onward

    def write(self, text: str) -> int:
        self._onward.write(text)
        return super().write(text)


@pytest.fixture
def function_log(aws: AwsEnv) -> Iterator[io.StringIO]:
    """What the functions write to their log stream (Powertools' handler) during the test."""
    from sms_gateway.observability import logger

    handler = logger.registered_handler
    stream = Tee(handler.stream)  # type: ignore[attr-defined]
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    handler.setStream(previous)  # type: ignore[attr-defined]


def push(account: str, body: Any, event_file: str = "callback/action_v1-push.json") -> dict[str, Any]:
    event = load_event(event_file)
    path = f"/callbacks/{account}/report"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["pathParameters"] = {"account": account, "kind": "report"}
    event["queryStringParameters"] = {"token": CALLBACK_TOKEN}
    event["rawQueryString"] = f"token={CALLBACK_TOKEN}"
    event["body"] = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return load_handler("callback")(event, FakeContext())  # type: ignore[no-any-return]


def test_a_rejected_record_quoting_a_number_is_answered_and_logged_masked(
    aws: AwsEnv, function_log: io.StringIO
) -> None:
    # Given an action_v1 push whose flag field holds a phone number (the parse error quotes it)
    aws.put_accounts(action_v1_account("http://127.0.0.1:9"))
    body = [{"flag": f"x{NUMBER}", "mobile": NUMBER, "mid": "4C2CA88382720003", "stat": "DELIVRD"}]
    # When it is pushed
    answer = push("cn-main", body)
    # Then it is refused with a reason, and neither the answer nor the log shows the number
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"]
    log = function_log.getvalue()
    assert "push rejected" in log
    assert NUMBER not in answer["body"] and NUMBER not in log


def test_an_unknown_account_named_like_a_secret_is_answered_masked(
    aws: AwsEnv, function_log: io.StringIO
) -> None:
    # Given the accounts document (which makes the password a registered secret)
    aws.put_accounts(action_v1_account("http://127.0.0.1:9"))
    # When a push names an account that is a number, then one that is the password
    by_number = push(NUMBER, [])
    by_secret = push(PASSWORD, [])
    # Then both are 404 and neither answer repeats the value
    assert by_number["statusCode"] == by_secret["statusCode"] == 404
    assert NUMBER not in by_number["body"] and PASSWORD not in by_secret["body"]


def test_a_paasw_v2_count_holding_a_number_is_logged_masked(aws: AwsEnv, function_log: io.StringIO) -> None:
    from tests.integration.test_paasw_v2_flow import paasw_v2_account

    # Given a paasw_v2 push whose informational count is a phone number
    aws.put_accounts(paasw_v2_account("http://127.0.0.1:9"))
    record = {
        "batchId": "1",
        "mobile": "15000000001",
        "chnRptCode": "DELIVRD",
        "reportStatus": "SUCCESS",
        "reportTime": "2026-11-23 12:00:03",
    }
    # When it is pushed
    push("cn-paasw-v2", {"count": NUMBER, "data": [record]}, "callback/paasw_v2-push-report.json")
    # Then the mismatch is logged without the count's number
    log = function_log.getvalue()
    assert "count differs" in log
    assert NUMBER not in log and "15000000001" not in log
