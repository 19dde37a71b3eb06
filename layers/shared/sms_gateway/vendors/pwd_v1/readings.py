"""How pwd_v1's pushed and pulled records read: the adapter's parsers, apart from its calls."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from sms_gateway.accounts import Account
from sms_gateway.clock import vendor_time_to_utc
from sms_gateway.errors import (
    PushRejected,
)
from sms_gateway.models import (
    HttpAnswer,
    InboundIn,
    PushBatch,
    PushRequest,
    ReportIn,
)
from sms_gateway.phone import cn_mask, from_vendor
from sms_gateway.vendors.base import (
    bounded_json,
    json_body,
    push_batch,
)
from sms_gateway.vendors.pwd_v1.codes import (
    TIME_FORMATS,
    report_status,
    text_of,
)
from sms_gateway.vendors.toolkit import vendor_id


class PwdV1Readings:
    """Pushed and pulled records of pwd_v1 as canonical reports and MO (mixed into the adapter)."""

    account: Account

    def _time(self, raw: object) -> tuple[Any, str | None]:
        text = text_of(raw) or None
        return vendor_time_to_utc(text, self.account.timezone, *TIME_FORMATS), text

    def _report(self, entry: dict[str, Any]) -> ReportIn:
        send_id = vendor_id(entry.get("sendId"))
        code = text_of(entry.get("status"))
        number = text_of(entry.get("mobile"))
        if not send_id or not code or not number:
            raise ValueError("a report needs sendId, mobile and status")
        status, description = report_status(code)
        occurred_at, raw_time = self._time(entry.get("times"))
        masked = "*" in number
        return ReportIn(
            vendor_message_id=send_id,
            status=status,
            vendor_status=code,
            description=description,
            recipient=None if masked else from_vendor(number),
            recipient_mask=number if masked else None,
            occurred_at=occurred_at,
            raw_time=raw_time,
        )

    def _inbound(self, entry: dict[str, Any]) -> InboundIn:
        number = text_of(entry.get("mobile"))
        if not number or "content" not in entry:
            raise ValueError("an MO needs mobile and content")
        received_at, raw_time = self._time(entry.get("times"))
        masked = "*" in number
        ext_no = vendor_id(entry.get("extNo"))
        sender = None if masked else from_vendor(number)
        return InboundIn(
            sender=sender,
            # The pull offers a pushed MO again, masked: the mask identifies it in both (store).
            sender_mask=number if masked else cn_mask(sender) if sender else None,
            content=str(entry.get("content") or ""),
            received_at=received_at,
            raw_time=raw_time,
            ext_no=ext_no,
        )

    @staticmethod
    def _push_body(push: PushRequest) -> object:
        if "x-www-form-urlencoded" in push.content_type.lower():
            try:
                text = push.body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PushRejected("body is not UTF-8") from exc
            form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
            if not form:
                raise PushRejected("empty form")
            # A form field may itself hold the JSON record(s).
            if len(form) == 1 and next(iter(form.values())).lstrip().startswith(("{", "[")):
                return bounded_json(next(iter(form.values())))
            return form
        return json_body(push)

    def parse_push(self, push: PushRequest) -> PushBatch:
        body = self._push_body(push)
        if isinstance(body, dict) and "data" in body and not {"sendId", "mobile"} & set(body):
            body = body["data"]  # wrapped as {"data": ...}
        entries = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
        if not entries or not any(isinstance(entry, dict) for entry in entries):
            raise PushRejected("expected a JSON object (or an array of objects)")
        return push_batch(entries, self._record)

    def _record(self, entry: dict[str, Any]) -> ReportIn | InboundIn:
        if "sendId" in entry or "status" in entry:
            return self._report(entry)
        if "content" in entry:
            return self._inbound(entry)
        raise ValueError("neither a report (sendId, status) nor an MO (mobile, content)")

    def push_ack(self, push: PushRequest, batch: PushBatch) -> HttpAnswer:
        # The document asks for HTTP 200 only; the body is the vendor's own success shape.
        return HttpAnswer(200, '{"code":"00","message":"成功"}', "application/json")
