"""action_v1: the `/sms?action=...` gateway (vendor document 004_cb8a16e64a688ed7.txt).

- One endpoint, `POST {base_url}/sms`, form-encoded, `rt=json`; the action picks the operation.
- Password plain, or MD5 when the account option `md5_password` is true: send signs
  password+extno+content+mobile, p2p signs password+extno+mobileContentList (line breaks removed),
  the others sign the password alone. The document does not say the digest's case; we send
  lower-case hex, the usual reading (option `md5_uppercase` for gateways that want upper case).
- A send answers per recipient (`mid`, `result`): one call can partly succeed.
- Report and MO pulls are destructive: each record is handed out once.
- Pushes mix MO (flag 0) and reports (flag 1) in one JSON array, acked with plain text `OK`.
- STATUS 102 (too many numbers, "建议200以内") refuses the call, so nothing left: it is resent in
  calls of at most 200 numbers (halved again if still refused).
- p2p rows are separated by line breaks: a line break inside a text becomes a space, so it
  cannot start a bogus row (the MD5 is over the rows with line breaks removed).
- Balance is in 厘 (1/1000 yuan), negative on post-paid accounts (`chargeType` POSTCHARGE):
  those are marked postpaid and raise no SMS Balance Low.

Account options: `extno` (access number, required by most gateways), `md5_password` (bool),
`md5_uppercase` (bool), `report_pull_size` (10..10000, default 1000), `mo_pull_size` (10..1000,
default 1000), `p2p_line_separator` ("\r\n" by default: 004 L117 says "换行" while its example
URL (L133) uses "\r"; CRLF ends a row under either reading).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sms_gateway import failures
from sms_gateway.clock import vendor_time_to_utc
from sms_gateway.errors import PushRejected, SubmitRejected, VendorUnavailable
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
from sms_gateway.phone import from_vendor
from sms_gateway.vendors.base import PendingSource, VendorAdapter, json_body, parse_each, push_batch
from sms_gateway.vendors.settings import Secret, Text, VendorCredentials, VendorOptions
from sms_gateway.vendors.toolkit import frame_sign

# STATUS table (document section 7): the outcome of the whole request.
STATUS_CODES: dict[str, str] = {
    "0": "鉴权成功",
    "1": "消息包格式错误",
    "2": "IP鉴权错误",
    "3": "账号密码不正确",
    "4": "版本号错误",
    "5": "其它错误",
    "6": "接入点错误（如账户本身开的是CMPP接入）",
    "7": "账号状态异常（账号已停用）",
    "21": "连接过多",
    "100": "系统内部错误，一般情况下例如：提交手机号码为 电信，但是该账号没用可用的电信接出点",
    "102": "单次提交的号码数过多（建议200以内）",
}
# STATUS codes worth retrying: throttling, unspecified errors, and account/credential problems
# that an operator fixes in the accounts document (retries end in the DLQ, which pages someone).
RETRYABLE_STATUS = {"2", "3", "5", "6", "7", "21"}

# RESULT table (document section 8): per recipient of a send or p2p call.
RESULT_CODES: dict[str, tuple[Status, str]] = {
    "0": (Status.SUBMITTED, "提交成功"),
    "10": (Status.REJECTED, "原发号码错误，即extno错误"),
    "15": (Status.FAILED, "余额不足"),
    "17": (Status.REJECTED, "账号签名无效"),
}

# STAT table (document section 9): delivery reports. Anything else is an operator failure code,
# kept raw as undelivered; MO:NNNN carries the upstream gateway's own code.
STAT_CODES: dict[str, tuple[Status, str]] = {
    "DELIVRD": (Status.DELIVERED, "短信投递成功"),
    "EXPIRED": (Status.EXPIRED, "Message validity period has expired"),
    "DELETED": (Status.UNDELIVERED, "Message has been deleted."),
    "REJECTED": (Status.REJECTED, "Message is in a rejected state"),
    "MA:0001": (Status.REJECTED, "全局黑名单号码"),
    "MA:0002": (Status.REJECTED, "内容非法"),
    "MA:0003": (Status.UNDELIVERED, "无法找到下级路由"),
    "MA:0004": (Status.UNKNOWN, "未知"),
    "MA:0005": (Status.UNDELIVERED, "目的号码格式错误"),
    "MA:0006": (Status.REJECTED, "系统拒绝"),
    "MA:0009": (Status.UNKNOWN, "未定义错误"),
    "MA:0011": (Status.UNDELIVERED, "未知系统内部错误"),
    "MA:0012": (Status.REJECTED, "防钓鱼"),
    "MA:0013": (Status.UNDELIVERED, "非法错误的包时序"),
    "MA:0014": (Status.UNDELIVERED, "非法的OP_ISDN号段"),
    "MA:0021": (Status.UNDELIVERED, "号码格式错误"),
    "MA:0022": (Status.REJECTED, "号码超过半小时下发次数限制"),
    "MA:0023": (Status.REJECTED, "客户黑名单号码"),
    "MA:0024": (Status.REJECTED, "内容未报备"),
    "MA:0025": (Status.UNDELIVERED, "不支持该短信"),
    "MA:0026": (Status.UNDELIVERED, "分条发送，组包超时"),
    "MA:0027": (Status.REJECTED, "通道黑名单"),
    "MA:0028": (Status.REJECTED, "全局黑名单号段"),
    "MA:0029": (Status.REJECTED, "通道黑名单号段"),
    "MA:0030": (Status.REJECTED, "直接产生拒绝报告"),
    "MO:200": (Status.UNDELIVERED, "不支持分条短信"),
    "MO:0254": (Status.UNDELIVERED, "转发提交超时"),
    "MO:0255": (Status.UNDELIVERED, "转发提交过程中，连接断开"),
}

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
FLAG_MO, FLAG_REPORT = 0, 1
POSTCHARGE = "POSTCHARGE"
# STATUS 102 "单次提交的号码数过多（建议200以内）": the call was refused; resent in calls this size.
TOO_MANY_NUMBERS = "STATUS:102"
SUGGESTED_NUMBERS_PER_CALL = 200
LINE_BREAKS = re.compile(r"\r\n|\r|\n")


def one_line(text: str) -> str:
    """A p2p text on one row: rows of mobileContentList are separated by line breaks, so a line
    break inside a text would start a bogus row (and break the MD5). Each becomes a space."""
    return LINE_BREAKS.sub(" ", text)


def _fewer_numbers(exc: SubmitRejected, items: list[OutboundItem]) -> list[list[OutboundItem]] | None:
    if exc.vendor_status != TOO_MANY_NUMBERS:
        return None
    if len(items) > SUGGESTED_NUMBERS_PER_CALL:
        return failures.chunked(items, SUGGESTED_NUMBERS_PER_CALL)
    return failures.halves(items)


def stat_status(stat: str) -> tuple[Status, str]:
    code = stat.strip()
    if code in STAT_CODES:
        return STAT_CODES[code]
    if code.startswith("MO:"):
        return Status.UNDELIVERED, "上级网关返回值，具体含义需上级网关解释"
    return Status.UNDELIVERED, "运营商返回的失败代码"


def _text(value: object, *, strip: bool = True) -> str:
    """A pushed or pulled field as text, whatever JSON type it came in (numbers, NaN, objects):
    raw vendor values are stored as text, never as values the table may refuse."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip() if strip else value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    raise ValueError("a field is not text or a number")


def _raw_time(value: object) -> str | None:
    """The pushed `time` kept as the vendor wrote it, as text whatever its JSON type (a time that
    is not one of ours is kept raw; it only leaves occurred_at empty)."""
    if value is None or value == "":
        return None
    return value.strip() if isinstance(value, str) else json.dumps(value, default=str)[:65]


def result_status(result: object) -> tuple[Status, str]:
    code = str(result).strip()
    return RESULT_CODES.get(code, (Status.FAILED, "未知的提交错误代码"))


class Credentials(VendorCredentials):
    account: Secret
    password: Secret


class Options(VendorOptions):
    """The account options listed in the module docstring."""

    extno: Text = ""
    md5_password: bool = False
    md5_uppercase: bool = False
    report_pull_size: int = 1000
    mo_pull_size: int = 1000
    p2p_line_separator: str = "\r\n"


class ActionV1Adapter(VendorAdapter):
    credentials_model = Credentials
    options_model = Options
    credentials: Credentials
    options: Options
    vendor = "action_v1"
    max_recipients_per_call = 500
    supports_p2p = True
    push_kinds = frozenset({"report", "mo"})
    pulls_reports = True
    pulls_inbound = True

    # ----------------------------------------------------------------- auth
    def _md5(self, text: str) -> str:
        digest = hashlib.md5(text.encode("utf-8")).hexdigest()
        return digest.upper() if self.options.md5_uppercase else digest

    def _password(self, *signed_parts: str) -> str:
        password = self.credentials.password
        if not self.options.md5_password:
            return password
        return self._md5(password + "".join(signed_parts))

    def _extno(self, submission: Submission | None = None) -> str:
        base = self.options.extno
        extension = submission.ext_no if submission and submission.ext_no else ""
        return base + extension

    def _call(
        self,
        form: dict[str, str],
        *,
        sends: bool = False,
        keep: Callable[[bytes], object] | None = None,
    ) -> dict[str, Any]:
        form = {**form, "account": self.credentials.account, "rt": "json"}
        answer = self.http.json("POST", self.url("/sms"), data=form, sends=sends, keep=keep)
        if not isinstance(answer, dict):
            raise failures.garbled("action_v1 /sms", "answered JSON that is not an object", sends=sends)
        status = str(answer.get("status", "")).strip()
        if status != "0":
            description = STATUS_CODES.get(status, "未知的STATUS代码")
            if status in RETRYABLE_STATUS or status not in STATUS_CODES:
                raise VendorUnavailable(f"action_v1 status {status}: {description}")
            raise SubmitRejected(f"STATUS:{status}", description)
        return answer

    # ----------------------------------------------------------------- send
    def submit(self, submission: Submission) -> list[SubmitOutcome]:
        return failures.submit_in_parts(
            [list(submission.items)], lambda part: self._send(submission, part), split=_fewer_numbers
        )

    def _send(self, submission: Submission, items: list[OutboundItem]) -> list[SubmitOutcome]:
        extno = self._extno(submission)
        numbers = {item.recipient: self.vendor_number(item.recipient) for item in items}
        if submission.p2p:
            separator = self.options.p2p_line_separator
            lines = [
                f"{numbers[item.recipient]}#{one_line(frame_sign(item.content or '', submission.sign))}"
                for item in items
            ]
            form = {
                "action": "p2p",
                "mobileContentList": separator.join(lines),
                "extno": extno,
                "password": self._password(extno, "".join(lines)),
            }
        else:
            content = frame_sign(submission.content or "", submission.sign)
            mobile = ",".join(numbers[item.recipient] for item in items)
            form = {
                "action": "send",
                "mobile": mobile,
                "content": content,
                "extno": extno,
                "password": self._password(extno, content, mobile),
            }
        answer = self._call(form, sends=True)
        by_mobile: dict[str, dict[str, Any]] = {}
        for entry in answer.get("list") or []:
            if isinstance(entry, dict) and entry.get("mobile") is not None:
                by_mobile[str(entry["mobile"]).strip()] = entry
        outcomes = []
        for item in items:
            entry = by_mobile.get(numbers[item.recipient])
            if entry is None:
                outcomes.append(
                    SubmitOutcome(
                        item.message_id,
                        item.recipient,
                        Status.UNKNOWN,
                        None,
                        "missing",
                        "the vendor's answer did not list this recipient",
                    )
                )
                continue
            status, description = result_status(entry.get("result"))
            mid = entry.get("mid")
            outcomes.append(
                SubmitOutcome(
                    item.message_id,
                    item.recipient,
                    status,
                    str(mid) if mid not in (None, "") else None,
                    str(entry.get("result")),
                    description,
                )
            )
        return outcomes

    # ----------------------------------------------------------------- reports and MO
    def _report(self, entry: dict[str, Any]) -> ReportIn:
        stat = _text(entry.get("stat"))
        status, description = stat_status(stat)
        raw_time = _raw_time(entry.get("time"))
        return ReportIn(
            vendor_message_id=_text(entry["mid"]),
            recipient=from_vendor(_text(entry["mobile"])),
            status=status,
            vendor_status=stat,
            description=description,
            occurred_at=vendor_time_to_utc(raw_time, self.account.timezone, TIME_FORMAT),
            raw_time=raw_time,
        )

    def _inbound(self, entry: dict[str, Any]) -> InboundIn:
        raw_time = _raw_time(entry.get("time"))
        mid = _text(entry.get("mid"))
        access = _text(entry.get("accessCode"))
        return InboundIn(
            sender=from_vendor(_text(entry["mobile"])),
            content=_text(entry.get("content"), strip=False),
            received_at=vendor_time_to_utc(raw_time, self.account.timezone, TIME_FORMAT),
            raw_time=raw_time,
            ext_no=access or None,
            vendor_message_id=mid or None,
        )

    def _record(self, entry: dict[str, Any]) -> ReportIn | InboundIn:
        if "flag" not in entry or not entry.get("mobile"):
            raise ValueError("each record needs flag and mobile")
        text = _text(entry["flag"])
        flag = int(text) if text.isdigit() and len(text) < 4 else None
        if flag == FLAG_REPORT:
            if not entry.get("mid") or entry.get("stat") in (None, ""):
                raise ValueError("a report (flag 1) needs mid and stat")
            return self._report(entry)
        if flag == FLAG_MO:
            return self._inbound(entry)
        raise ValueError("unknown flag (0 = MO, 1 = report)")

    def parse_push(self, push: PushRequest) -> PushBatch:
        body = json_body(push)
        # One record alone is sometimes pushed without the surrounding array.
        entries = body if isinstance(body, list) else [body] if isinstance(body, dict) else None
        if entries is None:
            raise PushRejected("expected a JSON array of records")
        return push_batch(entries, self._record)

    def push_ack(self, push: PushRequest, batch: PushBatch) -> HttpAnswer:
        return HttpAnswer(200, "OK", "text/plain")

    def _pull(self, action: str, size: int, maximum: int, sink: PullSink | None) -> list[Any]:
        size = max(10, min(maximum, size))
        # Destructive: the raw answer is kept (sink) before anything is read from it.
        answer = self._call(
            {"action": action, "size": str(size), "password": self._password()},
            keep=sink.raw if sink else None,
        )
        entries = answer.get("list") or []
        return entries if isinstance(entries, list) else [entries]

    def pull_reports(self, pending: PendingSource, sink: PullSink | None = None) -> list[ReportIn]:
        entries = [
            e
            for e in self._pull("report", self.options.report_pull_size, 10000, sink)
            if not isinstance(e, dict) or _text(e.get("flag", 1)) == "1"
        ]
        return parse_each(entries, self._report, sink)

    def pull_inbound(self, sink: PullSink | None = None) -> list[InboundIn]:
        entries = [
            e
            for e in self._pull("mo", self.options.mo_pull_size, 1000, sink)
            if not isinstance(e, dict) or _text(e.get("flag", 0)) == "0"
        ]
        return parse_each(entries, self._inbound, sink)

    # ----------------------------------------------------------------- balance
    def balance(self) -> BalanceIn:
        answer = self._call({"action": "balance", "password": self._password()})
        li = Decimal(str(answer.get("balance", "0")))
        # "POSTCHARGE=后付费": the negative balance of the document's example is by design there.
        postpaid = str(answer.get("chargeType", "")).strip().upper() == POSTCHARGE
        return BalanceIn(amount=li / Decimal(1000), currency="CNY", raw=answer, postpaid=postpaid)
