"""The functions' roles are enforced on the handlers' own calls, and the template's roles suffice."""

from __future__ import annotations

import logging
import re

import pytest
from botocore.exceptions import ClientError

from local_runner.iam import decide
from sms_gateway.sending.record import FINISHED_WITH_RECORDS_UP_TO
from tests.support.action_v1_vendor import ActionV1Vendor
from tests.support.aws import AwsEnv, FakeContext, action_v1_account, load_handler
from tests.support.handlers import send, sqs_event
from tests.support.template import ROOT
from tests.support.vendor_server import VendorServer

pytestmark = pytest.mark.integration


def _without(action: str, function: str) -> str:
    """template.yaml with one action taken out of one function's policy statements."""
    text = (ROOT / "template.yaml").read_text()
    start = text.index(f"\n  {function}:\n")
    end = text.index("\n  # ----", start)
    section = text[start:end]
    trimmed = re.sub(
        rf"\n\s*- {re.escape(action)}\b|, {re.escape(action)}\b|{re.escape(action)}, ", "", section
    )
    assert trimmed != section, f"{action} is not in {function}'s policies"
    return text[:start] + trimmed + text[end:]


@pytest.fixture
def gateway(aws: AwsEnv, vendor: VendorServer) -> ActionV1Vendor:
    aws.put_accounts(action_v1_account(vendor.url))
    return ActionV1Vendor(vendor)


def test_a_send_with_the_templates_roles_is_recorded_and_published(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given the template's own roles (checked on every call the handlers make)
    # When a request for two numbers is sent
    assert send(sqs_event({"id": "iam-ok", "to": ["13800138000", "13900139000"], "content": "你好"})) == []
    # Then both recipients are recorded submitted, and published
    assert aws.record("iam-ok", "+8613800138000")["status"] == "submitted"  # type: ignore[index]
    assert len(aws.events("SMS Submitted")) == 2


def test_a_send_function_role_without_batch_write_item_is_denied_as_aws_denies_it(
    aws: AwsEnv, gateway: ActionV1Vendor, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a template variant whose SendFunction may not call dynamodb:BatchWriteItem
    aws.roles.template_text = _without("dynamodb:BatchWriteItem", "SendFunction")
    # When a request is sent (the vendor accepts it, then the lookups are batch-written: more
    # recipients than one transaction takes with its finish, sending.record)
    numbers = ["13800138000", *(f"1390013{n:04d}" for n in range(FINISHED_WITH_RECORDS_UP_TO))]
    with caplog.at_level(logging.WARNING, logger="tests.iam"), pytest.raises(ClientError) as raised:
        load_handler("send")(sqs_event({"id": "iam-denied", "to": numbers, "content": "你好"}), FakeContext())
    # Then the write fails the way AWS fails it, and the denial is logged
    error = raised.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "not authorized to perform: dynamodb:BatchWriteItem on resource: " in error["Message"]
    assert "table/sms-gateway-test" in error["Message"]
    assert any("[IAM] denied dynamodb:BatchWriteItem" in r.getMessage() for r in caplog.records)
    # And nothing was recorded submitted
    record = aws.record("iam-denied", "+8613800138000")
    assert record is None or record["status"] != "submitted"


def test_a_poller_may_query_the_pending_index_but_the_callback_may_not(aws: AwsEnv) -> None:
    # Given the template's roles
    from sms_gateway.store.facade import Store
    from tests.support.iam import acting_as

    store = Store("sms-gateway-test")
    # When the reports poller and the callback function each list the pending recipients
    with acting_as("PollReportsFunction"):
        assert store.pending_recipients("cn-main", 10) == []
    with acting_as("CallbackFunction"), pytest.raises(ClientError) as raised:
        store.pending_recipients("cn-main", 10)
    # Then only the callback is refused, on the index's ARN
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "table/sms-gateway-test/index/pending" in raised.value.response["Error"]["Message"]


def test_kms_decrypt_is_granted_on_the_accounts_key_only_when_a_customer_key_is_named() -> None:
    # Given the template's roles without and with AccountsKmsKeyArn
    from tests.support.iam import Roles

    names = {"Table": "sms-gateway-test", "EventBus": "sms-gateway-test-sms", "SendQueue": "send"}
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    default = Roles(names, {"AccountsParameterName": "/sms-gateway/test/accounts"})
    with_key = Roles(names, {"AccountsParameterName": "/sms-gateway/test/accounts", "AccountsKmsKeyArn": key})
    # Then only the functions that read the accounts may decrypt with it, and only when it is named
    for function in (
        "SendFunction",
        "CallbackFunction",
        "PollReportsFunction",
        "PollInboundFunction",
        "PollBalanceFunction",
    ):
        assert decide(default.principal(function).documents, "kms:Decrypt", key) == "implicit"  # type: ignore[union-attr]
        assert decide(with_key.principal(function).documents, "kms:Decrypt", key) == "allow"  # type: ignore[union-attr]
    publisher = with_key.principal("PublishFunction")
    assert publisher is not None
    assert decide(publisher.documents, "kms:Decrypt", key) == "implicit"
    assert (
        decide(
            publisher.documents,
            "ssm:GetParameter",
            "arn:aws:ssm:us-east-1:123456789012:parameter/sms-gateway/test/accounts",
        )
        == "implicit"
    )
