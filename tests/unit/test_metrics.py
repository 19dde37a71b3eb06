"""Metrics per vendor and account, as the EMF documents the code writes (issue 12 item 3)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sms_gateway.publishing import Publisher
from tests.support import emf
from tests.support.aws import load_event
from tests.support.faulty_events import FaultyEvents, MemoryBus

pytestmark = pytest.mark.unit


def record(event_id: str, event_name: str, **image: Any) -> dict[str, Any]:
    """A recipient change on the stream; ``image`` overrides fields of the sample's new image."""
    sample: dict[str, Any] = copy.deepcopy(load_event("publish/dynamodb-stream.json")["Records"][0])
    sample["eventID"] = event_id
    sample["eventName"] = event_name
    new = sample["dynamodb"]["NewImage"]
    new["message_id"] = {"S": event_id}
    for key, value in image.items():
        new[key] = {"S": value}
    if event_name == "INSERT":
        sample["dynamodb"].pop("OldImage")
    return sample


def test_the_publisher_counts_submissions_refusals_by_reason_and_final_statuses_with_latency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a batch: two recipients accepted, one refused for a reason of ours, one delivered
    # 5 s after its submission, one expired (all action_v1 on cn-main)
    records = [
        record("a", "INSERT", status="submitted"),
        record("b", "INSERT", status="submitted"),
        record("c", "INSERT", status="failed", vendor_status="invalid_request"),
        record("d", "MODIFY"),
        record("e", "MODIFY", status="expired", vendor_status="EXPIRED"),
    ]
    records[3]["dynamodb"]["NewImage"]["created_at"] = {"S": "2026-11-23T04:00:00.000Z"}
    records[3]["dynamodb"]["NewImage"]["status_at"] = {"S": "2026-11-23T04:00:05.000Z"}
    capsys.readouterr()
    # When the publisher publishes it
    assert Publisher("bus", "sms.gateway", MemoryBus()).publish_records(records) == set()
    out = capsys.readouterr().out
    # Then each count is emitted per vendor and account, and rolled up per vendor
    account = {"vendor": "action_v1", "account": "cn-main"}
    assert emf.values(out, "RecipientsSubmitted", **account) == [1.0, 1.0]
    assert emf.values(out, "RecipientsSubmitted", vendor="action_v1") == [1.0, 1.0]
    assert emf.values(out, "RecipientsSubmitFailed", **account) == [1.0]
    assert emf.values(out, "SubmitFailedByReason", **account, reason="invalid_request") == [1.0]
    assert emf.values(out, "SubmitFailedByReason", vendor="action_v1", reason="invalid_request") == [1.0]
    assert emf.values(out, "RecipientsDelivered", **account) == [1.0]
    assert emf.values(out, "RecipientsExpired", vendor="action_v1") == [1.0]
    # and the send->final latency of the delivered one is its 5 s
    assert 5.0 in emf.values(out, "SendToFinalLatency", **account)


def test_records_handed_back_to_the_stream_are_not_counted_until_they_are_published(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given EventBridge throttling every entry (a refusal that heals: the stream retries)
    events = FaultyEvents(MemoryBus(), lambda _detail, _attempt: True)
    publisher = Publisher("bus", "sms.gateway", events, sleep=lambda _s: None)
    capsys.readouterr()
    # When a submission is published and handed back
    assert publisher.publish_records([record("a", "INSERT", status="submitted")]) == {"a"}
    # Then nothing is counted yet (the retry will count it once)
    assert emf.values(capsys.readouterr().out, "RecipientsSubmitted", vendor="action_v1") == []


def test_a_balance_poll_is_a_balance_per_account_and_a_low_flag_rolled_up_for_one_alarm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a low balance of cn-main committed by the poller
    change = record("bal", "MODIFY")
    change["dynamodb"]["NewImage"] = {
        "type": {"S": "balance"},
        "account": {"S": "cn-main"},
        "vendor": {"S": "action_v1"},
        "amount": {"N": "95.5"},
        "currency": {"S": "CNY"},
        "low": {"BOOL": True},
        "threshold": {"N": "100"},
        "polled_at": {"S": "2026-11-23T04:00:00.000Z"},
        "raw": {"M": {}},
    }
    capsys.readouterr()
    # When it is published
    assert Publisher("bus", "sms.gateway", MemoryBus()).publish_records([change]) == set()
    out = capsys.readouterr().out
    # Then the amount is a metric of the account, and "some account is low" one of the service
    assert emf.values(out, "Balance", vendor="action_v1", account="cn-main") == [95.5]
    assert emf.values(out, "BalanceLow", vendor="action_v1", account="cn-main") == [1.0]
    assert emf.values(out, "BalanceLow") == [1.0]


def test_a_token_fetched_from_the_vendor_counts_as_a_refresh_of_its_account(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sms_gateway.tokens import TokenCache

    class Backend:
        def get_token(self, account: str) -> None:
            return None

        def put_token(self, account: str, token: str, valid_until: int) -> None:
            pass

        def drop_token(self, account: str, token: str) -> None:
            pass

    TokenCache._memory.clear()
    cache = TokenCache(Backend(), "cn-paasw", "paasw_v1")
    capsys.readouterr()
    # When a token is needed twice, and fetched once
    cache.get(lambda: ("token-abcdef-1", 7200))
    cache.get(lambda: ("token-abcdef-2", 7200))
    TokenCache._memory.clear()
    # Then one refresh is counted, per vendor and account
    out = capsys.readouterr().out
    assert emf.values(out, "TokenRefreshes", vendor="paasw_v1", account="cn-paasw") == [1.0]


def test_a_poll_that_fails_on_an_account_counts_an_error_of_that_account_and_job(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sms_gateway.accounts import AccountRegistry
    from sms_gateway.errors import VendorUnavailable
    from sms_gateway.polling import PollService
    from tests.support.pushes import account

    class Down:
        pulls_reports = pulls_inbound = True

        def balance(self) -> None:
            raise VendorUnavailable("vendor down")

    registry = AccountRegistry.parse({"accounts": [account("action_v1")]})
    down: Any = Down()  # only what poll_balance reads of an adapter
    service = PollService(None, registry, lambda _a: down)  # type: ignore[arg-type]
    capsys.readouterr()
    # When the balance poll runs
    summary = service.poll_balance()
    # Then the account failed alone, and the error is counted for it, its job and in total
    assert summary["cn-main"].startswith("error")
    out = capsys.readouterr().out
    assert emf.values(out, "PollErrors", vendor="action_v1", account="cn-main", job="PollBalance") == [1.0]
    assert emf.values(out, "PollErrors") == [1.0]
    assert emf.values(out, "PollErrors", job="PollBalance") == [1.0]
