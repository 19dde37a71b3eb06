"""The metrics of the events the publisher puts, by vendor and account.

The publisher sees every recipient change on the stream, so it counts them there: a recipient
the vendor accepted, one it refused (by reason: the vendor's code or one of the gateway's own
reasons), and one a report made final (by status, with the send->final latency); balances and
replies too. Only the publisher needs this: it lives beside it, not in observability, which
every function imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from sms_gateway.detail_types import BALANCE_EVENT, DELIVERY_REPORT, INBOUND_EVENT, SUBMIT_FAILED, SUBMITTED
from sms_gateway.observability import NO_ROLLUP, MetricBatch

FINAL_STATUS_METRICS = {
    "delivered": "RecipientsDelivered",
    "undelivered": "RecipientsUndelivered",
    "expired": "RecipientsExpired",
    "rejected": "RecipientsRejected",
    "unknown": "RecipientsUnknown",
    "failed": "RecipientsFailed",
}


def change_metrics(batch: MetricBatch, detail_type: str, detail: Mapping[str, Any]) -> None:
    """The metrics of one published event, by vendor and account."""
    dims = {"vendor": detail.get("vendor"), "account": detail.get("account")}
    if detail_type == SUBMITTED:
        batch.add("RecipientsSubmitted", dimensions=dims)
    elif detail_type == SUBMIT_FAILED:
        batch.add("RecipientsSubmitFailed", dimensions=dims)
        # The reason is a dimension of its own set: its roll-up is the vendor's failures by reason.
        batch.add(
            "SubmitFailedByReason",
            dimensions={**dims, "reason": detail.get("vendor_status")},
            rollups=(("vendor", "reason"),),
        )
    elif detail_type == DELIVERY_REPORT and detail.get("status") in FINAL_STATUS_METRICS:
        batch.add(FINAL_STATUS_METRICS[str(detail["status"])], dimensions=dims)
        latency = _seconds_between(detail.get("submitted_at"), detail.get("occurred_at"))
        if latency is not None:
            batch.add("SendToFinalLatency", latency, unit=MetricUnit.Seconds, dimensions=dims)
    elif detail_type == BALANCE_EVENT:
        batch.add("Balance", float(detail["amount"]), unit=MetricUnit.NoUnit, dimensions=dims, rollups=())
        # 1 or 0 on every poll: the roll-up's maximum is "some account is low" for one alarm.
        batch.add("BalanceLow", 1 if detail.get("low") else 0, dimensions=dims, rollups=(NO_ROLLUP,))
    elif detail_type == INBOUND_EVENT:
        batch.add("InboundMessages", dimensions=dims)


def _seconds_between(start: object, end: object) -> float | None:
    """``end - start`` of two ISO 8601 times; None when either is missing or unreadable.

    A report's time is the vendor's (converted to UTC), so a vendor clock running behind can
    make it earlier than our own submission time: that counts as zero, not as a negative.
    """
    try:
        elapsed = datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))
    except (TypeError, ValueError):  # unreadable, or one time with a zone and one without
        return None
    return max(elapsed.total_seconds(), 0.0)
