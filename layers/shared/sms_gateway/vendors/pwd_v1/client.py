"""pwd_v1: the adapter (HTTP calls, parsers) and its account settings; the reading of the vendor's
document is in the package docstring, its code tables in codes.py."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from sms_gateway import failures
from sms_gateway.errors import (
    SubmitRejected,
    VendorUnavailable,
)
from sms_gateway.models import (
    BalanceIn,
    InboundIn,
    OutboundItem,
    PullSink,
    ReportIn,
    Status,
    Submission,
    SubmitOutcome,
)
from sms_gateway.observability import logger
from sms_gateway.phone import cn_mask, cn_mobile, redact_numbers
from sms_gateway.vendors.base import (
    PendingSource,
    VendorAdapter,
    parse_each,
)
from sms_gateway.vendors.pwd_v1.codes import (
    BALANCE_UNITS,
    CODES,
    DEFAULT_RETRY_CODES,
    EXT_NO,
    OK,
    mask_unique_tasks,
    records_of,
    text_of,
)
from sms_gateway.vendors.pwd_v1.readings import PwdV1Readings
from sms_gateway.vendors.settings import Codes, Secret, VendorCredentials, VendorOptions
from sms_gateway.vendors.toolkit import frame_sign, vendor_id

T = TypeVar("T")


class Credentials(VendorCredentials):
    account: Secret
    password: Secret


class Options(VendorOptions):
    """The account options listed in the module docstring."""

    md5_uppercase: bool = False
    password_is_md5: bool = False
    frame_sign: bool = True
    split_mask_collisions: bool = True
    balance_unit: Literal["yuan", "fen", "li", "messages"] = "yuan"
    retry_codes: Codes = frozenset(DEFAULT_RETRY_CODES)


class PwdV1Adapter(PwdV1Readings, VendorAdapter):
    credentials_model = Credentials
    options_model = Options
    credentials: Credentials
    options: Options
    vendor = "pwd_v1"
    max_recipients_per_call = 3000
    push_kinds = frozenset({"report", "mo"})
    pulls_reports = True
    pulls_inbound = True
    ack_once_stored = True  # each push comes once and never again

    # ----------------------------------------------------------------- numbers
    def vendor_number(self, e164: str) -> str:
        return cn_mobile(e164, self.vendor)

    # ----------------------------------------------------------------- auth and calls
    def _pwd(self) -> str:
        password = self.credentials.password
        digest = password if self.options.password_is_md5 else hashlib.md5(password.encode()).hexdigest()
        return digest.upper() if self.options.md5_uppercase else digest.lower()

    def _post(
        self,
        path: str,
        form: dict[str, str] | None = None,
        *,
        sends: bool = False,
        keep: Callable[[bytes], object] | None = None,
    ) -> Any:
        fields = {"account": self.credentials.account, "pwd": self._pwd(), **(form or {})}
        return self.http.json("POST", self.url(path), data=fields, sends=sends, keep=keep)

    @staticmethod
    def _code(answer: Any) -> tuple[str, str]:
        if not isinstance(answer, dict):
            return "", ""
        code = text_of(answer.get("code"))
        if code and set(code) == {"0"}:  # "00" (documented), or a number 0 if sent as one
            code = OK
        return code, text_of(answer.get("message"))[:200]

    def _pull(self, path: str, sink: PullSink | None) -> list[Any]:
        # Destructive: the raw answer is kept (sink) before anything is read from it.
        answer = self._post(path, keep=sink.raw if sink else None)
        if isinstance(answer, list):  # a bare array of records, without the envelope
            return answer
        code, message = self._code(answer)
        if code != OK:
            raise VendorUnavailable(f"pwd_v1 {path} answered code {code or '?'}: {message}")
        entries = records_of(answer.get("data"))
        if entries is None:
            raise VendorUnavailable(f"pwd_v1 {path} answered data of an unexpected shape")
        return entries

    # ----------------------------------------------------------------- send
    def submit(self, submission: Submission) -> list[SubmitOutcome]:
        if submission.template is not None:
            raise SubmitRejected("no_templates", "pwd_v1 has no templates; send 'content'")
        content = submission.content or ""
        if not content.strip():
            raise SubmitRejected("empty_content", "pwd_v1 needs a content")
        if self.options.frame_sign:
            content = frame_sign(content, submission.sign)
        ext_no = (submission.ext_no or "").strip()
        if ext_no and not (EXT_NO.match(ext_no) and int(ext_no) > 0):
            raise SubmitRejected("invalid_ext_no", "pwd_v1 extNo must be digits with a positive value")

        items = list(submission.items)
        if self.options.split_mask_collisions:
            tasks = mask_unique_tasks(items, lambda item: cn_mask(item.recipient))
        else:
            tasks = [items]
        task_ids = {
            id(task[0]): submission.call_id if index == 0 else f"{submission.call_id}-{index + 1}"
            for index, task in enumerate(tasks)
        }
        # Each task is its own call: one lost answer makes only its task unknown, and a task that
        # was not sent sends the rest back to the queue with the earlier tasks' outcomes kept.
        outcomes = failures.submit_in_parts(
            tasks, lambda task: self._send_task(task_ids[id(task[0])], task, content, ext_no)
        )
        by_item = {(o.message_id, o.recipient): o for o in outcomes}
        return [by_item[(i.message_id, i.recipient)] for i in items]  # in the submission's order

    def _send_task(
        self, task_id: str, items: list[OutboundItem], content: str, ext_no: str
    ) -> list[SubmitOutcome]:
        form = {
            "taskId": task_id,
            "mobiles": ",".join(self.vendor_number(item.recipient) for item in items),
            "content": content,
        }
        if ext_no:
            form["extNo"] = ext_no
        answer = self._post("/api/v1/send", form, sends=True)
        if not isinstance(answer, dict):
            raise failures.garbled("pwd_v1 /api/v1/send", "answered JSON that is not an object", sends=True)
        code, message = self._code(answer)
        data = answer.get("data")
        if code == OK:
            answered = vendor_id(data.get("taskId")) if isinstance(data, dict) else None
            if answered and answered != task_id:
                logger.warning("pwd_v1 answered another taskId than ours; using it", extra={"task": task_id})
            vendor_message_id, vendor_status, description = answered or task_id, OK, CODES[OK]
        elif not code:
            raise failures.garbled("pwd_v1 /api/v1/send", "answered without a code", sends=True)
        elif code in self.options.retry_codes:
            raise VendorUnavailable(f"pwd_v1 send answered code {code}: {CODES.get(code, message)}")
        else:
            # The vendor's message can quote numbers: it ends up in records, events and logs.
            raise SubmitRejected(code, redact_numbers(message) or CODES.get(code, "pwd_v1 refused the call"))
        return [
            SubmitOutcome(
                item.message_id,
                item.recipient,
                Status.SUBMITTED,
                vendor_message_id,
                vendor_status,
                description,
            )
            for item in items
        ]

    # ----------------------------------------------------------------- reports and MO
    def pull_reports(self, pending: PendingSource, sink: PullSink | None = None) -> list[ReportIn]:
        return parse_each(self._pull("/api/v1/report", sink), self._report, sink)

    def pull_inbound(self, sink: PullSink | None = None) -> list[InboundIn]:
        return parse_each(self._pull("/api/v1/mo", sink), self._inbound, sink)

    # ----------------------------------------------------------------- pushes
    # ----------------------------------------------------------------- balance
    def balance(self) -> BalanceIn:
        answer = self._post("/api/v1/queryBalance")
        code, message = self._code(answer)
        if code != OK:
            raise VendorUnavailable(f"pwd_v1 queryBalance answered code {code or '?'}: {message}")
        data = answer.get("data")
        if not isinstance(data, dict) or data.get("balance") in (None, ""):
            raise VendorUnavailable("pwd_v1 queryBalance answered no balance")
        divisor, currency = BALANCE_UNITS[self.options.balance_unit]
        try:
            amount = Decimal(str(data["balance"]).strip()) / divisor
        except InvalidOperation as exc:
            raise VendorUnavailable("pwd_v1 queryBalance answered a balance that is not a number") from exc
        # raw keeps `payment` (0 prepaid, 1 postpaid) and `paymentName` as the vendor gave them.
        return BalanceIn(amount=amount, currency=currency, raw=dict(data))
