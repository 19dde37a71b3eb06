"""intl_v1: the adapter (HTTP calls, parsers) and its account settings; the reading of the vendor's
document is in the package docstring, its code tables in codes.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

from sms_gateway import failures
from sms_gateway.clock import to_vendor_time, utcnow
from sms_gateway.errors import (
    PushUnauthorized,
    SubmitRejected,
    UnsupportedRecipient,
    VendorUnavailable,
)
from sms_gateway.models import (
    BalanceIn,
    OutboundItem,
    PendingRecipient,
    PullSink,
    PushRequest,
    ReportIn,
    Status,
    Submission,
    SubmitOutcome,
)
from sms_gateway.observability import logger
from sms_gateway.phone import e164_digits, mask, redact_numbers
from sms_gateway.vendors.base import PendingSource, VendorAdapter
from sms_gateway.vendors.intl_v1.codes import (
    API,
    MAX_PAIRS_PER_STATUS_CALL,
    NO_REPORT,
    PER_NUMBER_CODES,
    PERMANENT_SEND_CODES,
    SEND_TIME_FORMAT,
    STATUS_WINDOW_DAYS,
    result_name,
    text_of,
)
from sms_gateway.vendors.intl_v1.readings import IntlV1Readings, balance_of
from sms_gateway.vendors.settings import Secret, Text, VendorCredentials, VendorOptions, clamp
from sms_gateway.vendors.toolkit import frame_sign


class _VendorCode(Exception):
    """A non-zero ResultCode: the vendor answered and refused."""

    def __init__(self, code: str, msg: str) -> None:
        # The vendor's msg can quote numbers, and it ends up in logs and in every recipient's record.
        msg = redact_numbers(msg)[:120]
        super().__init__(f"intl_v1 code {code} ({result_name(code)}): {msg}")
        self.code = code
        self.msg = msg


@dataclass(frozen=True)
class _Pair:
    row: PendingRecipient
    mobile: str  # as the vendor writes it


class Credentials(VendorCredentials):
    app_key: Secret
    app_secret: Secret


class Options(VendorOptions):
    """The account options listed in the module docstring (the status knobs kept in bounds)."""

    sender_id: Text | None = None
    sign_in_content: bool = True
    status_calls_per_run: Annotated[int, BeforeValidator(clamp(1, 20, 4))] = 4
    status_min_age_seconds: Annotated[int, BeforeValidator(clamp(0, 86400, 0))] = 0
    status_window_days: Annotated[int, BeforeValidator(clamp(1, STATUS_WINDOW_DAYS, STATUS_WINDOW_DAYS))] = (
        STATUS_WINDOW_DAYS
    )


class IntlV1Adapter(IntlV1Readings, VendorAdapter):
    credentials_model = Credentials
    options_model = Options
    credentials: Credentials
    options: Options
    vendor = "intl_v1"
    max_recipients_per_call = 1000
    supports_templates = False
    supports_p2p = False
    native_scheduling = True
    push_kinds = frozenset({"report"})
    # Also when reports are pushed: the poller asks only for recipients still pending, so it is
    # cheap, and it recovers pushes that were refused three times or read as "no status yet".
    pulls_reports = True
    pulls_inbound = False
    # The vendor pushes again (twice) on a non-zero code, and the poller asks the status API for
    # whatever is still pending: an unstored push is answered non-zero rather than acked.
    ack_once_stored = False

    # ----------------------------------------------------------------- auth and calls
    def _app_secret(self) -> str:
        return hashlib.md5(self.credentials.app_secret.encode("utf-8")).hexdigest().upper()

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "Content-Type": "application/json;charset=utf-8",
            "appKey": self.credentials.app_key,
            "appSecret": self._app_secret(),
        }

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, sends: bool = False
    ) -> Any:
        """`data` of a code-0 answer. Raises VendorUnavailable (transport, garbled) or _VendorCode."""
        kwargs: dict[str, Any] = {"headers": self._headers()}
        if body is not None:
            kwargs["data"] = json.dumps(body, ensure_ascii=False).encode("utf-8")
        answer = self.http.json(method, self.url(f"{API}/{path}"), sends=sends, **kwargs)
        if not isinstance(answer, dict) or "code" not in answer:
            raise failures.garbled(f"intl_v1 {path}:", "answer without a code", sends=sends)
        code = text_of(answer["code"])
        if code != "0":
            raise _VendorCode(code, text_of(answer.get("msg")))
        return answer.get("data")

    # ----------------------------------------------------------------- send
    def vendor_number(self, e164: str) -> str:
        """Country code + number, no '+': any country (e.g. 2348031000010, 8613800138000).

        A number known to be a landline is refused alone before the call: the vendor would
        refuse the whole call with 1007 MobileError.
        """
        # Imported here, as in phone.py: the accounts document loads this module to validate its
        # options in every function, and most never send (the phone metadata costs ~20 ms).
        import phonenumbers  # noqa: PLC0415

        if phonenumbers.number_type(phonenumbers.parse(e164)) == phonenumbers.PhoneNumberType.FIXED_LINE:
            raise UnsupportedRecipient(f"intl_v1 sends to mobile numbers only, not {mask(e164)}")
        return e164_digits(e164)

    def submit(self, submission: Submission) -> list[SubmitOutcome]:
        sign = submission.sign if self.options.sign_in_content else None
        body: dict[str, Any] = {"content": frame_sign(submission.content or "", sign)}
        sender_id = submission.sender_id or self.options.sender_id or None
        if sender_id:
            body["senderID"] = sender_id
        if submission.send_at is not None:
            body["sendTime"] = to_vendor_time(submission.send_at, self.account.timezone, SEND_TIME_FORMAT)
        items = list(submission.items)
        # A refusal for a number (1001 ParamError, whose own example reads "Illegal cell phone";
        # 1007 MobileError) refuses the whole call, which sent nothing: the call is split in
        # halves until the refused numbers are alone, so one bad number costs ~2*log2(n) calls
        # instead of failing the other n-1. The budget bounds a refusal that is not a number's.
        budget = 1 + 4 * max(1, math.ceil(math.log2(len(items)))) if len(items) > 1 else 1
        return failures.submit_in_parts(
            [items],
            lambda part: self._send(part, body),
            split=lambda exc, part: failures.halves(part) if exc.vendor_status in PER_NUMBER_CODES else None,
            max_calls=budget,
        )

    def _send(self, items: list[OutboundItem], fields: dict[str, Any]) -> list[SubmitOutcome]:
        body = {"mobile": ",".join(self.vendor_number(item.recipient) for item in items), **fields}
        try:
            data = self._call("POST", "send", body, sends=True)
        except _VendorCode as exc:
            if exc.code in PERMANENT_SEND_CODES:
                raise SubmitRejected(exc.code, f"{result_name(exc.code)} ({exc.msg})") from exc
            raise VendorUnavailable(str(exc)) from exc
        msg_id = text_of(data.get("msgId")) if isinstance(data, dict) else ""
        if not msg_id:
            # Accepted, but without the id its reports are matched by: they may well be sent.
            logger.warning("intl_v1 accepted a send without a msgId", extra={"recipients": len(items)})
            return [
                SubmitOutcome(
                    item.message_id,
                    item.recipient,
                    Status.UNKNOWN,
                    None,
                    "no_msgid",
                    "the vendor accepted the call (code 0) without a msgId: its reports cannot be matched",
                )
                for item in items
            ]
        scheduled = f" for {body['sendTime']}" if "sendTime" in body else ""
        return [
            SubmitOutcome(item.message_id, item.recipient, Status.SUBMITTED, msg_id, "0", f"OK{scheduled}")
            for item in items
        ]

    # ----------------------------------------------------------------- reports
    def verify_push(self, push: PushRequest) -> None:
        app_key, app_secret = push.headers.get("appkey", ""), push.headers.get("appsecret", "")
        key_ok = hmac.compare_digest(app_key.encode(), self.credentials.app_key.encode())
        # The document writes the digest upper-case; its case carries no secret, so either is taken.
        secret_ok = hmac.compare_digest(app_secret.strip().upper().encode(), self._app_secret().encode())
        if not (key_ok and secret_ok):
            raise PushUnauthorized("missing or wrong appKey/appSecret headers")

    def pull_reports(self, pending: PendingSource, sink: PullSink | None = None) -> list[ReportIn]:
        """Ask the status API about the recipients still pending: oldest first, at most 500 a
        call and `status_calls_per_run` calls; those past the 30-day window become `unknown`."""
        calls = self.options.status_calls_per_run
        window = self.options.status_window_days
        min_age = self.options.status_min_age_seconds
        now = utcnow()
        oldest, youngest = now - timedelta(days=window), now - timedelta(seconds=min_age)
        reports: list[ReportIn] = []
        pairs: list[_Pair] = []
        for row in pending(calls * MAX_PAIRS_PER_STATUS_CALL):
            created = _created(row)
            if created < oldest:
                reports.append(_expired(row, window))
            elif created <= youngest:
                pairs.append(_Pair(row, self.vendor_number(row.recipient)))
        chunks = [
            pairs[start : start + MAX_PAIRS_PER_STATUS_CALL]
            for start in range(0, len(pairs), MAX_PAIRS_PER_STATUS_CALL)
        ]
        failure: Exception | None = None
        answered = 0
        for chunk in chunks:
            try:
                reports += self._status(chunk)
                answered += 1
            except _VendorCode as exc:
                # The vendor is up and refused this chunk: the next one may still be answered.
                failure = exc
                logger.warning("intl_v1 status call refused", extra={"reason": str(exc), "pairs": len(chunk)})
            except VendorUnavailable as exc:
                failure = exc  # down or slow: do not insist this run
                break
        if failure is not None and answered == 0 and not reports:
            raise VendorUnavailable(f"intl_v1 status: {failure}")
        if failure is not None:
            logger.warning("intl_v1 status poll incomplete", extra={"reason": str(failure)})
        return reports

    def _status(self, chunk: list[_Pair]) -> list[ReportIn]:
        asked = {(p.row.vendor_message_id, p.mobile): p.row.recipient for p in chunk}
        body = {"data": [{"msgId": p.row.vendor_message_id, "mobile": p.mobile} for p in chunk]}
        try:
            data = self._call("POST", "status", body)
        except _VendorCode as exc:
            if exc.code == NO_REPORT:  # none of these pairs has a report yet: not an error
                return []
            raise
        entries = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        reports = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            # Not a queue: a bad record is skipped and asked again next run, never lost.
            try:
                recipient = asked.get((text_of(entry.get("msgId")), text_of(entry.get("mobile"))))
                report = self._report(entry, recipient)
            except (TypeError, ValueError) as exc:
                logger.error(
                    "skipping an unreadable status record",
                    extra={"reason": str(exc), "mobile": mask(text_of(entry.get("mobile")))},
                )
                continue
            if report is not None:
                reports.append(report)
        return reports

    # ----------------------------------------------------------------- balance
    def balance(self) -> BalanceIn:
        try:
            data = self._call("GET", "balance")
        except _VendorCode as exc:
            raise VendorUnavailable(str(exc)) from exc
        return balance_of(data)


def _created(row: PendingRecipient) -> datetime:
    try:
        return datetime.fromisoformat(row.created_at.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return utcnow()  # unreadable: ask rather than give up on it


def _expired(row: PendingRecipient, window: int) -> ReportIn:
    return ReportIn(
        vendor_message_id=row.vendor_message_id,
        recipient=row.recipient,
        status=Status.UNKNOWN,
        vendor_status="no_report",
        description=f"no final status within the vendor's {window}-day status window; no longer asked",
    )
