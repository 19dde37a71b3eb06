"""The delivery window of routing (ROUTING_DELIVERY_RATE_THRESHOLD): each report that makes a
recipient final is counted once per account, through the real CallbackFunction."""

from __future__ import annotations

import pytest

from sms_gateway.routing.health import HealthReader
from sms_gateway.routing.settings import RoutingSettings
from tests.integration.test_action_v1_flow import push
from tests.integration.test_status_api import NUMBERS, delivered_and_failed
from tests.support.action_v1_vendor import ActionV1Vendor
from tests.support.aws import TABLE, AwsEnv, action_v1_account
from tests.support.vendor_server import VendorServer

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(aws: AwsEnv, vendor: VendorServer, monkeypatch: pytest.MonkeyPatch) -> ActionV1Vendor:
    monkeypatch.setenv("ROUTING_DELIVERY_RATE_THRESHOLD", "0.5")
    aws.put_accounts(action_v1_account(vendor.url))
    return ActionV1Vendor(vendor)


def test_final_reports_are_counted_once_in_the_accounts_delivery_window(
    aws: AwsEnv, gateway: ActionV1Vendor
) -> None:
    # Given a message whose two recipients got a delivered and a rejected report (pushed)
    delivered_and_failed(aws, gateway)
    # When the same reports are pushed again (a vendor retrying its push)
    assert (
        push([gateway.report_for(NUMBERS[0], "DELIVRD"), gateway.report_for(NUMBERS[1], "MA:0001")])["body"]
        == "OK"
    )
    # Then the account's window holds two final reports, one delivered: duplicates not counted
    reader = HealthReader(TABLE, RoutingSettings.from_environment())
    assert reader.delivery_rate("cn-main") == (2, 1)
