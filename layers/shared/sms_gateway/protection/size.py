"""The size of what one recipient of a call was sent: encoding, segments and cost (segments.py)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from sms_gateway.models import Status
from sms_gateway.observability import metrics
from sms_gateway.protection.segments import measure

if TYPE_CHECKING:
    from sms_gateway.models import OutboundItem
    from sms_gateway.sending.dispatch import RecipientResult
    from sms_gateway.sending.plan import Call


def size_of(call: Call, item: OutboundItem) -> tuple[str, int, Decimal | None] | None:
    """None for a vendor template: its text is the vendor's, not ours to count."""
    content = item.content if item.content is not None else call.submission.content
    if content is None:
        return None
    account = call.work_of(item).account
    size = measure(content, call.submission.sign, account.protection.price_per_segment)
    return size.encoding.value, size.segments, size.cost


def count_size(call: Call, results: Sequence[RecipientResult]) -> None:
    """Segments and cost of the submitted recipients of a call, as metrics with the account."""
    segments, cost = 0, Decimal(0)
    for result in results:
        if result.outcome is None or result.outcome.status is not Status.SUBMITTED:
            continue
        size = size_of(call, result.item)
        if size is not None:
            segments += size[1]
            cost += size[2] or 0
    if not segments:
        return
    account = call.works[next(iter(call.works))].account.name
    figures = [("SegmentsSubmitted", MetricUnit.Count, float(segments))]
    if cost:
        figures.append(("SegmentCost", MetricUnit.NoUnit, float(cost)))
    for name, unit, value in figures:
        with single_metric(name=name, unit=unit, value=value, namespace=metrics.namespace) as one:
            one.add_dimension(name="account", value=account)
