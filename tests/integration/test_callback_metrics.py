"""Callback answers are counted by status class, per vendor and account (issue 12 item 3)."""

from __future__ import annotations

import pytest

from tests.support import emf
from tests.support.aws import AwsEnv
from tests.support.pushes import Pusher, every_account, sample_body, submitted

pytestmark = pytest.mark.integration


def test_callback_answers_are_counted_by_status_class_vendor_and_account(
    aws: AwsEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given every vendor's account, and a recipient the sample action_v1 report is about
    every_account(aws)
    submitted("action_v1", "order-1001", "+8613800138000", "4C2CA88382720003")
    push = Pusher()
    capsys.readouterr()
    # When action_v1 pushes its sample report, then pushes with a wrong token
    assert push("action_v1", "report", sample_body("action_v1", "report"))["statusCode"] == 200
    assert push("action_v1", "report", "[]", token="wrong-token-0123456789")["statusCode"] == 401
    out = capsys.readouterr().out
    # Then each answer is counted once with its class, for the account, its vendor and in total
    account = {"vendor": "action_v1", "account": "cn-main"}
    assert emf.values(out, "CallbackAnswers", **account, status_class="2xx") == [1.0]
    assert emf.values(out, "CallbackAnswers", **account, status_class="4xx") == [1.0]
    assert emf.values(out, "CallbackAnswers", vendor="action_v1", status_class="2xx") == [1.0]
    assert emf.values(out, "CallbackAnswers", status_class="4xx") == [1.0]


def test_a_push_to_an_account_not_in_the_document_is_counted_as_unknown(
    aws: AwsEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.aws import FakeContext, load_event, load_handler

    # Given the accounts document, and a push to a made-up account name
    every_account(aws)
    event = load_event("callback/action_v1-push.json")
    event["pathParameters"] = {"account": "made-up", "kind": "report"}
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/callbacks/made-up/report"
    capsys.readouterr()
    # When it is answered
    assert load_handler("callback")(event, FakeContext())["statusCode"] == 404
    # Then the path's name never becomes a dimension: the answer counts for an unknown account
    out = capsys.readouterr().out
    assert emf.values(out, "CallbackAnswers", vendor="unknown", account="unknown", status_class="4xx") == [
        1.0
    ]
    assert "made-up" not in "".join(str(d) for d in emf.documents(out))
