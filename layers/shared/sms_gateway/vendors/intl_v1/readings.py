"""How intl_v1's pushed and pulled records read: the adapter's parsers, apart from its calls."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sms_gateway.accounts import Account
from sms_gateway.errors import (
    PushRejected,
    VendorUnavailable,
)
from sms_gateway.models import (
    BalanceIn,
    HttpAnswer,
    PushBatch,
    PushRequest,
    ReportIn,
)
from sms_gateway.phone import from_vendor
from sms_gateway.vendors.base import json_body, push_batch
from sms_gateway.vendors.intl_v1.codes import (
    ACK,
    NO_STATUS_YET,
    report_status,
    report_time,
    text_of,
)


class IntlV1Readings:
    """Pushed and pulled records of intl_v1 as canonical reports and MO (mixed into the adapter)."""

    account: Account

    def _report(
        self, entry: dict[str, Any], recipient: str | None = None, *, pushed: bool = False
    ) -> ReportIn | None:
        """A report record, normalised; None when it carries no final status yet."""
        msg_id, mobile = text_of(entry.get("msgId")), text_of(entry.get("mobile"))
        if not msg_id or not mobile or entry.get("status") is None:
            raise ValueError("a report needs msgId, mobile and status")
        error_code = text_of(entry.get("errorCode"))
        decided = report_status(entry["status"], error_code, pushed=pushed)
        if decided is None:
            if pushed or text_of(entry["status"]) != NO_STATUS_YET:
                raise ValueError("unknown status (0 sent, 1 none yet, 2 failed)")
            return None
        status, description = decided
        raw_time = text_of(entry.get("timestamp")) or None
        return ReportIn(
            vendor_message_id=msg_id,
            recipient=recipient or from_vendor(mobile, international_digits=True),
            status=status,
            vendor_status=error_code or f"status {text_of(entry['status'])}",
            description=text_of(entry.get("desc")) or description,
            occurred_at=report_time(raw_time, self.account.timezone),
            raw_time=raw_time,
        )

    def parse_push(self, push: PushRequest) -> PushBatch:
        body = json_body(push)
        # Documented: one bare report object per POST. Also read: an array of them, and the
        # status API's wrapping {"data": [...]} or {"data": {...}}.
        if isinstance(body, dict) and "msgId" not in body and isinstance(body.get("data"), list | dict):
            body = body["data"]
        entries = body if isinstance(body, list) else [body]
        if not any(isinstance(entry, dict) for entry in entries):
            raise PushRejected("expected a report object (msgId, mobile, status)")
        return push_batch(entries, lambda entry: self._report(entry, pushed=True))

    def push_ack(self, push: PushRequest, batch: PushBatch) -> HttpAnswer:
        # The exact ack of section 5.7; anything else is pushed twice more.
        return HttpAnswer(200, ACK, "application/json")


def balance_of(data: Any) -> BalanceIn:
    """The `data` of a code-0 balance answer as a reading; VendorUnavailable when it has none."""
    # The table says Array[], the example an object: take either.
    if isinstance(data, list) and data:
        data = data[0]
    if not isinstance(data, dict) or data.get("balance") is None:
        raise VendorUnavailable("intl_v1 balance: answer without data.balance")
    currency = text_of(data.get("currencyCode")).upper()
    if not currency:
        raise VendorUnavailable("intl_v1 balance: answer without currencyCode")
    try:
        amount = Decimal(text_of(data["balance"]))
    except InvalidOperation as exc:
        raise VendorUnavailable("intl_v1 balance: balance is not a number") from exc
    if not amount.is_finite():
        raise VendorUnavailable("intl_v1 balance: balance is not a number")
    return BalanceIn(amount=amount, currency=currency, raw=data)
