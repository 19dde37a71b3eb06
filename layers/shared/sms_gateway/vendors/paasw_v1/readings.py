"""How paasw_v1's pushed and pulled records read: the adapter's parsers, apart from its calls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sms_gateway.accounts import Account
from sms_gateway.clock import vendor_time_to_utc
from sms_gateway.errors import PushRejected
from sms_gateway.models import (
    HttpAnswer,
    InboundIn,
    PushBatch,
    PushRequest,
    ReportIn,
)
from sms_gateway.phone import from_vendor
from sms_gateway.vendors.base import json_body, push_batch
from sms_gateway.vendors.paasw_v1.codes import (
    OK,
    TIME_FORMAT,
    field,
    is_inbound,
    is_report,
    json_text,
    records_of,
    report_status,
)
from sms_gateway.vendors.toolkit import code_of, vendor_id


class PaaswV1Readings:
    """Pushed and pulled records of paasw_v1 as canonical reports and MO (mixed into the adapter)."""

    account: Account

    def _time(self, raw: object) -> tuple[str | None, datetime | None]:
        text = None if raw in (None, "") else str(raw).strip()
        return text, vendor_time_to_utc(text, self.account.timezone, TIME_FORMAT)

    def _report(self, entry: dict[str, Any]) -> ReportIn:
        biz_id = vendor_id(field(entry, "biz_id", "bizId"))
        phone = field(entry, "phone_number", "phoneNumber", "mobile")
        code = code_of(entry.get("code"))
        success = entry.get("success")
        if biz_id is None or phone is None or (not code and not isinstance(success, bool)):
            raise ValueError("a report needs biz_id, phone_number and code")
        status, description = report_status(code, success)
        raw_time, occurred = self._time(field(entry, "report_time", "reportTime"))
        return ReportIn(
            vendor_message_id=biz_id,
            recipient=from_vendor(str(phone)),
            status=status,
            vendor_status=code or f"success={str(success).lower()}",
            description=description,
            occurred_at=occurred,
            raw_time=raw_time,
        )

    def _inbound(self, entry: dict[str, Any]) -> InboundIn:
        phone = field(entry, "phone_number", "phoneNumber", "mobile")
        if phone is None or entry.get("content") is None:
            raise ValueError("an MO needs phone_number and content")
        raw_time, received = self._time(field(entry, "send_time", "sendTime"))
        return InboundIn(
            sender=from_vendor(str(phone)),
            content=str(entry["content"]),
            received_at=received,
            raw_time=raw_time,
            vendor_message_id=vendor_id(field(entry, "sequence_id", "sequenceId")),
        )

    def parse_push(self, push: PushRequest) -> PushBatch:
        body = json_body(push)
        entries = records_of(body)
        if entries is None and isinstance(body, dict) and (is_report(body) or "content" in body):
            entries = [body]  # one record pushed without its array
        if entries is None:
            raise PushRejected("expected a JSON array of records")
        return push_batch(entries, self._record)

    def _record(self, entry: dict[str, Any]) -> ReportIn | InboundIn:
        if is_report(entry):
            return self._report(entry)
        if is_inbound(entry):
            return self._inbound(entry)
        raise ValueError("needs biz_id (a report) or content (an MO)")

    def push_ack(self, push: PushRequest, batch: PushBatch) -> HttpAnswer:
        # The document's two acks differ in the type of code: a number for reports, a string for MO.
        if push.kind == "mo":
            return HttpAnswer(
                200, json_text({"code": OK, "msg": "请求成功"}), "application/json;charset=UTF-8"
            )
        return HttpAnswer(
            200, json_text({"code": int(OK), "msg": "操作成功"}), "application/json;charset=UTF-8"
        )
