"""paasw_v1: the adapter (HTTP calls, parsers) and its account settings; the reading of the vendor's
document is in the package docstring, its code tables in codes.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from sms_gateway import failures
from sms_gateway.errors import ConfigurationError, SubmitRejected, VendorUnavailable
from sms_gateway.models import (
    BalanceIn,
    InboundIn,
    PullSink,
    ReportIn,
    Status,
    Submission,
    SubmitOutcome,
    Template,
)
from sms_gateway.observability import logger
from sms_gateway.phone import cn_mobile, redact_numbers
from sms_gateway.vendors.base import PendingSource, VendorAdapter, parse_each
from sms_gateway.vendors.paasw_v1.codes import (
    DEFAULT_TOKEN_LIFETIME,
    KIND_CODES,
    MAX_PHONE_NUMBERS_CHARS,
    OK,
    PLACEHOLDER,
    field,
    json_text,
    records_of,
)
from sms_gateway.vendors.paasw_v1.readings import PaaswV1Readings
from sms_gateway.vendors.settings import Codes, Secret, VendorCredentials, VendorOptions
from sms_gateway.vendors.toolkit import bare_sign, code_of, frame_sign, vendor_id


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


class PaaswV1Adapter(PaaswV1Readings, VendorAdapter):
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
            return json_text(template.params)
        return json_text([{name: value} for name, value in template.params.items()])

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
