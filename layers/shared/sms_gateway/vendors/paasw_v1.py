"""paasw_v1: the paasw open-API gateway, version 1 (vendor document 000_7a67b7f28d852a7e.txt).

What the document says, and how this adapter reads it:

- Auth: `GET /api/token?appId=&secret=` answers `{"code":"10000","token":...,"expires_in":7200}`.
  The same token comes back while it is valid; a reset secret kills it early, and the document
  asks clients to fetch again. The token is shared by every Lambda instance through `self.tokens`
  (memory + the table, with its expiry). A call refused for its token drops that token
  everywhere, fetches one new token and is retried once; a second refusal is transient.
  A token fetched in its last minutes (the vendor answers what is left of its 7200 s) is kept
  until it dies rather than re-fetched on every call inside TokenCache's renewal margin.
- The document has no error list ("错误信息一览: 待更新"), so no code tells a stale token from
  another refusal. Every refusal (a non-`10000` code, HTTP 401/403) drops the token, fetches a
  new one and makes the call once more (`VendorAdapter.with_token`). Refused again: a refusal
  that names the token (token, 令牌, 鉴权) or HTTP 401/403 is transient (credentials an operator
  fixes); any other refuses the call for good (`SubmitRejected`, the vendor's code and message
  kept), except the codes of option `retryable_codes`. A refused call sent nothing.
- Send: `POST /sms/send` (token, phoneNumbers, sign, content, kind) and `POST /sms/sendTemplate`
  (token, phoneNumbers, paramJson, templateId, sign, content). The document names no content
  type: form-encoded, the usual reading (option `json_body` for a JSON object body).
  - phoneNumbers: national mobile numbers, at most 1000 and at most 1500 characters (the field's
    maximum length: 125 numbers), joined with an ASCII comma (the example's full-width "，" is a
    typo of the document). A landline or foreign number is refused alone before the call, so it
    cannot get the whole call refused.
  - sign: always sent bare, without 【】 (the request's sign, else the account's).
  - content: its row says "发送内容，包含【XX】签名" (includes the sign): framed as 【sign】content
    unless it already carries one. Its example has no 【】: option `sign_in_content` = false
    sends the bare text, for a vendor account that adds the sign itself.
  - kind: 1 verification, 2 notification, 3 marketing. Required when the vendor account is
    configured for several kinds, "单一类型不填写" (left out) for a single-kind account: sent
    unless option `multi_kind` is false. sendTemplate's table has no kind: not sent there.
  - paramJson: the example `[{"name":"paramJson"},...]` reads as a list of one-entry
    `{"<name>": "<value>"}` objects: sent so, in the params' order (option
    `param_json_style: "object"` sends one object). sendTemplate also requires `content`: the
    template's text from option `template_texts` with `${name}` filled in, else the template id.
  - The answer carries one `bizId` for the whole call (20 digits: kept as a string even when it
    arrives as a JSON number); every recipient gets it as vendor_message_id, and reports are
    matched by bizId + phone number. The document's answer examples are not valid JSON
    (missing and trailing commas): real answers are assumed valid.
  - No field takes an id of ours, so `call_id` is unused and resubmission is not idempotent.
- Reports: pulled by `GET /sms/deliver` (token, optional sign) and pushed as a JSON array of
  `{phone_number, send_time, report_time, success, code, message, sms_size, biz_id}`. `code`
  10000 is delivered; 1, 4, 5, 6, 7, 8, 9 are the document's failures (REPORT_CODES); any other
  code is undelivered with the raw code kept. Without a code, `success` decides.
- MO: pulled by `GET /sms/smsUp` (token, sign required) and pushed as a JSON array of
  `{phone_number, send_time, content, sign, sequence_id}`; sequence_id is the vendor's MO id.
- Pulls and pushes: the document shows a bare array; a wrapped one (`{"code":..,"data":[..]}`)
  and, for pushes, a single record are accepted as well. Each record is classified by its
  fields (biz_id: report; content: MO), so a vendor that pushes both to one URL still works.
  Field names are read in the document's snake_case and in camelCase (`bizId`, like the send
  answer). Pulled records are handed out once: an unreadable one is logged and skipped.
- Acks, exactly as the document writes them: reports `{"code":10000,"msg":"操作成功"}` (a JSON
  number), MO `{"code":"10000","msg":"请求成功"}` (a JSON string).
- The document says nothing about re-pushing, so a push is acked once its raw body is stored
  and, should storing its records fail, replayed by the reports poller (`ack_once_stored`).
- Balance: `GET /sms/balance` -> `{"code":"10000","balance":100.00}`, read as yuan.
- Times are `yyyy-MM-dd HH:mm:ss` in the account's timezone.

Account options: `multi_kind` (bool; false leaves `kind` out, for single-kind vendor accounts),
`sign_in_content` (bool, default true), `json_body` (bool), `param_json_style` ("array" default, or "object"),
`template_texts` ({template id: text with `${name}` placeholders}), `report_pull_by_sign` (bool:
pull only the account sign's reports, for several accounts sharing one appId), `mo_signs` (list
of signs whose MO are pulled; default the account's sign), `retryable_codes` (list of send
error codes to retry instead of failing the call).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal

from pydantic import Field

from sms_gateway import failures
from sms_gateway.clock import vendor_time_to_utc
from sms_gateway.errors import ConfigurationError, PushRejected, SubmitRejected, VendorUnavailable
from sms_gateway.models import (
    BalanceIn,
    HttpAnswer,
    InboundIn,
    MessageKind,
    PullSink,
    PushBatch,
    PushRequest,
    ReportIn,
    Status,
    Submission,
    SubmitOutcome,
    Template,
)
from sms_gateway.observability import logger
from sms_gateway.phone import cn_mobile, from_vendor, redact_numbers
from sms_gateway.vendors.base import PendingSource, VendorAdapter, json_body, parse_each, push_batch
from sms_gateway.vendors.settings import Codes, Secret, VendorCredentials, VendorOptions
from sms_gateway.vendors.toolkit import bare_sign, code_of, frame_sign, vendor_id

OK: Final = "10000"
DEFAULT_TOKEN_LIFETIME = 7200
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# Report codes (document section 4.2): 10000 received; the others are failures.
REPORT_CODES: dict[str, tuple[Status, str]] = {
    OK: (Status.DELIVERED, "用户接收成功"),
    "1": (Status.FAILED, "提交失败"),
    "4": (Status.UNDELIVERED, "失败"),
    "5": (Status.REJECTED, "屏蔽词"),
    "6": (Status.REJECTED, "审核驳回"),
    "7": (Status.REJECTED, "黑/白名单"),
    "8": (Status.REJECTED, "超频"),
    "9": (Status.UNKNOWN, "未知"),
}

# Answer codes: the document lists none besides 10000 ("错误信息一览: 待更新", to be updated), so
# no refusal is documented as a content, number or balance error, and every refusal first gets a
# fresh token and one more try (VendorAdapter.with_token). The vendor's code and message are kept.
# A refusal that still names the token after that is a credential problem an operator fixes.
# "phoneNumbers ... 最多1000 ... 最大长度 1500": both hold.
MAX_PHONE_NUMBERS_CHARS = 1500

KIND_CODES: dict[MessageKind, str] = {
    MessageKind.VERIFICATION: "1",
    MessageKind.NOTIFICATION: "2",
    MessageKind.MARKETING: "3",
}

# Where a wrapped answer or push keeps its records.
LIST_KEYS = ("data", "list", "result", "records", "rows", "reports", "mos")
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")

# ---------------------------------------------------------------------------- pure helpers


def field(entry: dict[str, Any], *names: str) -> Any:
    """The first present, non-empty field among the names (snake_case and camelCase)."""
    for name in names:
        value = entry.get(name)
        if value not in (None, ""):
            return value
    return None


def report_status(code: str, success: object = None) -> tuple[Status, str]:
    if code in REPORT_CODES:
        return REPORT_CODES[code]
    if not code and isinstance(success, bool):
        return (Status.DELIVERED, "success=true") if success else (Status.UNDELIVERED, "success=false")
    return Status.UNDELIVERED, "未知的状态代码"


def records_of(body: object) -> list[Any] | None:
    """The records of a bare array, or of an object wrapping one; None when neither."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in LIST_KEYS:
            inner = body.get(key)
            if isinstance(inner, list):
                return inner
            if isinstance(inner, dict):
                nested = records_of({k: v for k, v in inner.items() if k in LIST_KEYS})
                if nested is not None:
                    return nested
    return None


def is_report(entry: dict[str, Any]) -> bool:
    return field(entry, "biz_id", "bizId") is not None


def is_inbound(entry: dict[str, Any]) -> bool:
    return "content" in entry and not is_report(entry)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Credentials(VendorCredentials):
    app_id: Secret
    secret: Secret


class Options(VendorOptions):
    """The account options listed in the module docstring."""

    multi_kind: bool = True
    sign_in_content: bool = True
    json_body: bool = False
    param_json_style: Literal["array", "object"] = "array"
    template_texts: dict[str, str] = Field(default_factory=dict)
    report_pull_by_sign: bool = False
    mo_signs: list[str] | None = None
    retryable_codes: Codes = frozenset()


class PaaswV1Adapter(VendorAdapter):
    credentials_model = Credentials
    options_model = Options
    credentials: Credentials
    options: Options
    vendor = "paasw_v1"
    max_recipients_per_call = 1000
    supports_templates = True
    max_numbers_chars = MAX_PHONE_NUMBERS_CHARS
    push_kinds = frozenset({"report", "mo"})
    pulls_reports = True
    pulls_inbound = True
    # The document says nothing about re-pushing: ack what is stored, replay it if applying fails.
    ack_once_stored = True

    def _sign(self, submission_sign: str | None = None) -> str | None:
        return bare_sign(submission_sign or self.account.sign)

    # ----------------------------------------------------------------- HTTP and tokens
    def _request(self, method: str, path: str, params: dict[str, str], *, sends: bool = False) -> Any:
        """The decoded JSON answer; decimals kept exact (balances, 20-digit bizIds)."""
        if method == "GET":
            kwargs: dict[str, Any] = {"params": params}
        elif self.options.json_body:
            kwargs = {"json": params}
        else:
            kwargs = {"data": params}
        return self.http.json(method, self.url(path), sends=sends, exact=True, **kwargs)

    def _fetch_token(self) -> tuple[str, int]:
        credentials = {"appId": self.credentials.app_id, "secret": self.credentials.secret}
        answer = self._request("GET", "/api/token", credentials)
        if not isinstance(answer, dict):
            raise VendorUnavailable("paasw_v1 refused the token request")
        token = answer.get("token")
        code = code_of(answer.get("code"))
        if code != OK or not isinstance(token, str) or not token.strip():
            message = str(answer.get("message") or "")[:120]
            raise VendorUnavailable(f"paasw_v1 gave no token: code {code or '-'}: {message}")
        try:
            lifetime = int(str(answer.get("expires_in", DEFAULT_TOKEN_LIFETIME)))
        except ValueError:
            lifetime = DEFAULT_TOKEN_LIFETIME
        lifetime = lifetime if lifetime > 0 else DEFAULT_TOKEN_LIFETIME
        logger.info("paasw_v1 token fetched", extra={"account": self.account.name, "lifetime": lifetime})
        return token.strip(), lifetime

    @staticmethod
    def _refusal(answer: Any) -> str | None:
        """The message of any refusal: none is documented as final, so each one is worth a fresh
        token (VendorAdapter.with_token)."""
        if isinstance(answer, dict) and "code" in answer and code_of(answer.get("code")) != OK:
            return f"code {code_of(answer.get('code'))}: {answer.get('message') or answer.get('msg') or ''}"
        return None

    def _authorized(self, method: str, path: str, params: dict[str, str], *, sends: bool = False) -> Any:
        """One call with the shared token; any refusal renews the token and retries once."""
        return self.with_token(
            self._fetch_token,
            lambda token: self._request(method, path, {"token": token, **params}, sends=sends),
            self._refusal,
            path,
        )

    # ----------------------------------------------------------------- send
    def vendor_number(self, e164: str) -> str:
        # A landline in phoneNumbers gets the whole call refused: refused alone, before the call.
        return cn_mobile(e164, self.vendor)

    def _param_json(self, template: Template) -> str:
        if self.options.param_json_style == "object":
            return _json(template.params)
        return _json([{name: value} for name, value in template.params.items()])

    def _template_content(self, template: Template) -> str:
        text = self.options.template_texts.get(template.id)
        if not text:
            return template.id
        return PLACEHOLDER.sub(lambda m: template.params.get(m.group(1), m.group(0)), text)

    def _send_params(self, submission: Submission, sign: str) -> tuple[str, dict[str, str]]:
        numbers = ",".join(self.vendor_number(item.recipient) for item in submission.items)
        if submission.template is not None:
            return "/sms/sendTemplate", {
                "phoneNumbers": numbers,
                "paramJson": self._param_json(submission.template),
                "templateId": submission.template.id,
                "sign": sign,
                "content": self._template_content(submission.template),
            }
        content = submission.content or ""
        # 000: content "发送内容，包含【XX】签名" (includes the sign), besides the bare `sign` field.
        if self.options.sign_in_content:
            content = frame_sign(content, sign)
        params = {"phoneNumbers": numbers, "sign": sign, "content": content}
        # "如果配置的是支持多种类型则是必传字段 ... 单一类型不填写": sent unless the account says single-kind.
        if self.options.multi_kind:
            params["kind"] = KIND_CODES[submission.kind]
        return "/sms/send", params

    def submit(self, submission: Submission) -> list[SubmitOutcome]:
        sign = self._sign(submission.sign)
        if sign is None:
            raise SubmitRejected(
                "no_sign", "paasw_v1 requires a sign: give one in the request or the account"
            )
        path, params = self._send_params(submission, sign)
        answer = self._authorized("POST", path, params, sends=True)
        if not isinstance(answer, dict) or "code" not in answer:
            # Not an answer we can read: the vendor may have taken the call before writing it.
            raise failures.garbled(f"paasw_v1 {path}", "answered JSON without a code", sends=True)
        code = code_of(answer.get("code"))
        message = str(answer.get("message") or answer.get("msg") or "")
        if code != OK:
            # Refused twice, the second time with a fresh token: nothing was sent.
            description = (redact_numbers(message) or "未知的错误代码")[:300]
            if code in self.options.retryable_codes:
                raise VendorUnavailable(f"paasw_v1 {path} code {code}: {description}")
            raise SubmitRejected(code or "missing", description)
        biz_id = vendor_id(field(answer, "bizId", "biz_id"))
        if biz_id is None:
            # Accepted, but nothing to match its reports with.
            status, description = Status.UNKNOWN, "accepted without a bizId; no report can be matched"
        else:
            status, description = Status.SUBMITTED, message or "操作成功"
        return [
            SubmitOutcome(item.message_id, item.recipient, status, biz_id, code, description)
            for item in submission.items
        ]

    # ----------------------------------------------------------------- reports and MO
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
            return HttpAnswer(200, _json({"code": OK, "msg": "请求成功"}), "application/json;charset=UTF-8")
        return HttpAnswer(200, _json({"code": int(OK), "msg": "操作成功"}), "application/json;charset=UTF-8")

    def _pull(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        answer = self._authorized("GET", path, params)
        entries = records_of(answer)
        if entries is None:
            code = code_of(answer.get("code")) if isinstance(answer, dict) else ""
            if code == OK:
                return []  # nothing waiting, answered without a list
            message = str(answer.get("message") or "")[:120] if isinstance(answer, dict) else ""
            raise VendorUnavailable(f"paasw_v1 {path} answered code {code or '-'}: {message}")
        return entries

    def pull_reports(self, pending: PendingSource, sink: PullSink | None = None) -> list[ReportIn]:
        params: dict[str, str] = {}
        sign = self._sign()
        if self.options.report_pull_by_sign and sign:
            params["sign"] = sign
        return parse_each(self._pull("/sms/deliver", params), self._report, sink)

    def _mo_signs(self) -> list[str]:
        signs = self.options.mo_signs if self.options.mo_signs is not None else [self.account.sign]
        return list(dict.fromkeys(s for s in (self._sign(v) for v in signs if v) if s))

    def pull_inbound(self, sink: PullSink | None = None) -> list[InboundIn]:
        signs = self._mo_signs()
        if not signs:
            raise ConfigurationError("paasw_v1 /sms/smsUp needs a sign: set the account's sign or mo_signs")
        inbound: list[InboundIn] = []
        for sign in signs:
            inbound += parse_each(self._pull("/sms/smsUp", {"sign": sign}), self._inbound, sink)
        return inbound

    # ----------------------------------------------------------------- balance
    def balance(self) -> BalanceIn:
        answer = self._authorized("GET", "/sms/balance", {})
        if not isinstance(answer, dict):
            raise VendorUnavailable("paasw_v1 /sms/balance answered JSON that is not an object")
        code = code_of(answer.get("code"))
        if code != OK or answer.get("balance") in (None, ""):
            message = str(answer.get("message") or "")[:120]
            raise VendorUnavailable(f"paasw_v1 /sms/balance answered code {code or '-'}: {message}")
        try:
            amount = Decimal(str(answer["balance"]).strip())
        except ArithmeticError as exc:
            raise VendorUnavailable("paasw_v1 /sms/balance is not a number") from exc
        return BalanceIn(amount=amount, currency="CNY", raw=answer)
