"""pwd_v1: the `/api/v1/...` gateway with `account` + MD5 `pwd` (vendor document 003_3892d23fbe8bd7fb.txt).

What the document says, and what it leaves open (our reading in brackets):

- Every call is `POST {base_url}/api/v1/<op>`, `application/x-www-form-urlencoded`, UTF-8, with
  `account` and `pwd` = the MD5 of the interface password. [The case of the digest is not given:
  lower-case hex, the usual reading; option `md5_uppercase`. "接口密码采用MD5方式加密传输,由管理员提供"
  can also mean the admin hands out the digest itself: option `password_is_md5`.]
- Send: `/api/v1/send` with `mobiles` (comma separated, at most 3000), `content`, an optional
  `taskId` we choose ("全局唯一") and an optional `extNo` ("只能为正整数"). The answer
  `{"code":"00","data":{"taskId":...},"message":"成功"}` names one task for all recipients.
  - We send `taskId` = `Submission.call_id`, a digest of the call's message ids and recipients,
    unique per call as the document asks ("自定义任务id,全局唯一": an obligation on us). The
    document never says the vendor refuses or deduplicates a reused taskId, so nothing relies on
    it: a call whose answer is lost makes its recipients `unknown`, never resent, as for every
    vendor. Requests sharing content are grouped into calls like the other vendors'. Reports
    carry the task id as `sendId`, so they correlate through our vendor-id lookup.
  - [The content carries the signature, 【sign】 in front (the document: "传递真实的短信内容以及
    短信签名"); option `frame_sign` = false for an account whose sign the gateway adds itself.]
  - [`extNo` must be digits with a positive value ("007" is kept as written: an extension is a
    string of digits). Anything else is refused before the call, never stripped: a stripped
    extension would route the replies to somebody else's extension.]
  - [Only mainland mobile numbers (1 + 10 digits): the gateway refuses a whole call for one bad
    number, so a landline or foreign number is refused per recipient before the call.]
  - [No templates, no per-recipient content, no scheduling, no `kind` and no sender id: the
    generic send logic refuses templates, sends p2p texts one content per call, and holds
    `send_at` in SQS.]
- Only the success code `"00"` is documented. The other codes below are those of the project's
  simulator (simulators/pwd_v1.py); a real gateway's codes are kept raw in `vendor_status`.
  [An undocumented refusal fails the call for good (SMS Submit Failed with the vendor's message),
  except the codes in option `retry_codes` (default: "02", wrong account or pwd, which an operator
  fixes).]
- Pulled reports (`/api/v1/report`) and MO (`/api/v1/mo`) are handed out once and show MASKED
  numbers (`135****9831`); the pulled success status is `DELIVER`. A masked report is matched by
  the store among the task's recipients whose visible digits fit; when two fit it is kept against
  the task as ambiguous, never guessed. [To keep that from happening, a call whose recipients
  share a masked form (same first three and last four digits, about 15 pairs in 3000 random
  numbers) is split into tasks where every masked form is unique: `call_id`, `call_id-2`, ...
  Option `split_mask_collisions` = false turns this off.]
  [The document's example `"data": { [ ... ] }` is not JSON: we accept `data` as an array (what
  the simulator sends), an object wrapping one array, or a single record.]
- Pushes: one status object per POST (`sendId`, full `mobile`, `times`, `status`, success
  `DELIVRD`) and one MO object per POST (`mobile`, `content`, `times`, `extNo`), each sent ONCE
  and never again; the vendor wants HTTP 200. Hence `ack_once_stored`: the raw body is stored
  before anything else, the 200 goes out once it is, and the reports poller replays a stored push
  whose apply failed. [Accepted on input: a JSON object, an array of them, `{"data": ...}`
  wrapping either, or the same fields form-encoded; a report and an MO are told apart by their
  fields, so one URL for both kinds works too. Both `DELIVRD` and `DELIVER` mean delivered in
  either path. The ack's body is not specified: we answer the vendor's own success shape
  `{"code":"00","message":"成功"}` (JSON), harmless to a gateway that reads only the status.]
- Times are `yyyy-MM-dd HH:mm:ss` in the account's timezone.
- Balance (`/api/v1/queryBalance`): `balance`, `payment` (0 prepaid, 1 postpaid), `paymentName`.
  [The unit of `balance` is not given. We read it as yuan, the plain reading of an unlabelled
  余额 (004, by contrast, says 厘). Option `balance_unit`: "yuan" (default), "fen", "li", or
  "messages" for a gateway counting messages left (currency "SMS"). The raw answer is kept.]

Account options: `md5_uppercase` (bool), `password_is_md5` (bool), `frame_sign` (bool, default
true), `split_mask_collisions` (bool, default true), `balance_unit` (see above),
`retry_codes` (list of codes, default ["02"]).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs

from sms_gateway import failures
from sms_gateway.clock import vendor_time_to_utc
from sms_gateway.errors import (
    PushRejected,
    SubmitRejected,
    VendorUnavailable,
)
from sms_gateway.models import (
    BalanceIn,
    HttpAnswer,
    InboundIn,
    OutboundItem,
    PullSink,
    PushBatch,
    PushRequest,
    ReportIn,
    Status,
    Submission,
    SubmitOutcome,
)
from sms_gateway.observability import logger
from sms_gateway.phone import cn_mask, cn_mobile, from_vendor, redact_numbers
from sms_gateway.vendors.base import (
    PendingSource,
    VendorAdapter,
    bounded_json,
    json_body,
    parse_each,
    push_batch,
)
from sms_gateway.vendors.settings import Codes, Secret, VendorCredentials, VendorOptions
from sms_gateway.vendors.toolkit import frame_sign, vendor_id

T = TypeVar("T")

OK = "00"

# Whole-call answer codes. The document lists only "00"; the others are the project simulator's.
CODES: dict[str, str] = {
    "00": "成功",
    "01": "参数错误 (missing or invalid field)",
    "02": "账号或密码错误 (account or pwd wrong)",
    "03": "号码数超过3000 (more than 3000 numbers)",
    "04": "号码格式错误 (not a mainland mobile number)",
    "05": "extNo 只能为正整数 (extNo not a positive integer)",
}
DEFAULT_RETRY_CODES = ("02",)

# Delivery statuses. The document: pulled DELIVER and pushed DELIVRD are success, "其他值为失败";
# MBBLACK is its pulled example. The rest are the usual CMPP stats (the simulator uses them).
# Anything else is a failure kept raw as undelivered.
REPORT_CODES: dict[str, tuple[Status, str]] = {
    "DELIVER": (Status.DELIVERED, "成功 (pulled)"),
    "DELIVRD": (Status.DELIVERED, "成功 (pushed)"),
    "UNDELIV": (Status.UNDELIVERED, "无法投递"),
    "DELETED": (Status.UNDELIVERED, "已删除"),
    "EXPIRED": (Status.EXPIRED, "超过有效期"),
    "REJECTD": (Status.REJECTED, "被拒绝"),
    "REJECTED": (Status.REJECTED, "被拒绝"),
    "MBBLACK": (Status.REJECTED, "黑名单号码"),
    "BLACK": (Status.REJECTED, "黑名单号码"),
    "UNKNOWN": (Status.UNKNOWN, "未知"),
}
OTHER_FAILURE = (Status.UNDELIVERED, "失败 (非DELIVRD/DELIVER的状态)")

TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S")
EXT_NO = re.compile(r"^[0-9]{1,20}$")

# option balance_unit -> (divisor to the currency unit, currency)
BALANCE_UNITS: dict[str, tuple[Decimal, str]] = {
    "yuan": (Decimal(1), "CNY"),
    "fen": (Decimal(100), "CNY"),
    "li": (Decimal(1000), "CNY"),
    "messages": (Decimal(1), "SMS"),
}


def report_status(code: str) -> tuple[Status, str]:
    return REPORT_CODES.get(code.strip().upper(), OTHER_FAILURE)


def mask_unique_tasks(items: Sequence[T], masked: Callable[[T], str]) -> list[list[T]]:
    """Split items, keeping their order, so that no two in one group share a masked form."""
    groups: list[list[T]] = []
    seen: list[set[str]] = []
    for item in items:
        key = masked(item)
        for group, keys in zip(groups, seen, strict=True):
            if key not in keys:
                group.append(item)
                keys.add(key)
                break
        else:
            groups.append([item])
            seen.append({key})
    return groups


def records_of(data: object) -> list[Any] | None:
    """Records from `data` in any reasonable reading: an array, an object wrapping one array, one
    record. None when it is none of these. Entries that are not objects stay in, to be kept as
    unreadable rather than dropped."""
    if data is None or data == "":
        return []
    if isinstance(data, list):
        return list(data)
    if isinstance(data, dict):
        if any(key in data for key in ("sendId", "mobile", "status", "content")):
            return [data]
        for value in data.values():
            if isinstance(value, list):
                return list(value)
        return [] if not data else None
    return None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


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


class PwdV1Adapter(VendorAdapter):
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
        code = _text(answer.get("code"))
        if code and set(code) == {"0"}:  # "00" (documented), or a number 0 if sent as one
            code = OK
        return code, _text(answer.get("message"))[:200]

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
    def _time(self, raw: object) -> tuple[Any, str | None]:
        text = _text(raw) or None
        return vendor_time_to_utc(text, self.account.timezone, *TIME_FORMATS), text

    def _report(self, entry: dict[str, Any]) -> ReportIn:
        send_id = vendor_id(entry.get("sendId"))
        code = _text(entry.get("status"))
        number = _text(entry.get("mobile"))
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
        number = _text(entry.get("mobile"))
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

    def pull_reports(self, pending: PendingSource, sink: PullSink | None = None) -> list[ReportIn]:
        return parse_each(self._pull("/api/v1/report", sink), self._report, sink)

    def pull_inbound(self, sink: PullSink | None = None) -> list[InboundIn]:
        return parse_each(self._pull("/api/v1/mo", sink), self._inbound, sink)

    # ----------------------------------------------------------------- pushes
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
