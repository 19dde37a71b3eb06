"""How paasw_v2's pushed and pulled records read: the adapter's parsers, apart from its calls."""

from __future__ import annotations

import json
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
from sms_gateway.observability import logger
from sms_gateway.phone import from_vendor
from sms_gateway.vendors.base import json_body, push_batch
from sms_gateway.vendors.paasw_v2.codes import (
    TIME_FORMAT,
    report_status,
    text_of,
    vendor_id,
)


class PaaswV2Readings:
    """Pushed and pulled records of paasw_v2 as canonical reports and MO (mixed into the adapter)."""

    account: Account

    def _report(self, entry: dict[str, Any]) -> ReportIn:
        mobile = text_of(entry.get("mobile"))
        code = text_of(entry.get("chnRptCode"))
        if mobile is None or code is None:
            raise ValueError("a report needs batchId, mobile and chnRptCode")
        status, description = report_status(code)
        raw_time = text_of(entry.get("chnRptDate"))
        return ReportIn(
            vendor_message_id=vendor_id(entry.get("batchId")),
            status=status,
            vendor_status=code,
            description=description,
            recipient=from_vendor(mobile),
            occurred_at=vendor_time_to_utc(raw_time, self.account.timezone, TIME_FORMAT),
            raw_time=raw_time,
        )

    def _inbound(self, entry: dict[str, Any]) -> InboundIn:
        mobile = text_of(entry.get("mobile"))
        if mobile is None or "content" not in entry:
            raise ValueError("an MO needs mobile and content")
        raw_time = text_of(entry.get("replyDate"))
        content = entry.get("content")
        return InboundIn(
            sender=from_vendor(mobile),
            content="" if content is None else str(content),
            received_at=vendor_time_to_utc(raw_time, self.account.timezone, TIME_FORMAT),
            raw_time=raw_time,
            ext_no=text_of(entry.get("extNo")),
        )

    @staticmethod
    def _records(body: object) -> list[Any] | None:
        """The records of a push or pull: {"count", "data": [...]}, a bare array, or one record."""
        if isinstance(body, dict):
            if "data" in body:
                body = [] if body["data"] is None else body["data"]
            elif "mobile" in body:  # one record alone
                body = [body]
            elif "count" in body:  # {"count": 0} and nothing else
                body = []
        if isinstance(body, dict) and "mobile" in body:  # "data" holding one record
            body = [body]
        return body if isinstance(body, list) else None

    def parse_push(self, push: PushRequest) -> PushBatch:
        body = json_body(push, exact=True)
        entries = self._records(body)
        if entries is None:
            raise PushRejected('expected {"count": n, "data": [...]}')
        count = body.get("count") if isinstance(body, dict) else None
        if count is not None and text_of(count) != str(len(entries)):
            # The vendor's own count is not logged: it is a raw value.
            logger.warning("paasw_v2 push count differs from its records", extra={"records": len(entries)})
        return push_batch(entries, self._record)

    def _record(self, entry: dict[str, Any]) -> ReportIn | InboundIn:
        if "chnRptCode" in entry or "batchId" in entry:
            return self._report(entry)
        if "content" in entry or "replyDate" in entry:
            return self._inbound(entry)
        raise ValueError("neither a report (batchId, chnRptCode) nor an MO (content)")

    def push_ack(self, push: PushRequest, batch: PushBatch) -> HttpAnswer:
        # Not specified by the document: HTTP 200, with a body in the vendor's own success format.
        return HttpAnswer(200, json.dumps({"code": 0, "message": "请求成功"}, ensure_ascii=False))
