"""paasw_v2: the adapter (HTTP calls, parsers) and its account settings; the reading of the vendor's
document is in the package docstring, its code tables in codes.py."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sms_gateway import failures
from sms_gateway.clock import to_vendor_time, utcnow
from sms_gateway.errors import SubmitRejected, VendorUnavailable
from sms_gateway.models import (
    BalanceIn,
    InboundIn,
    MessageKind,
    PullSink,
    ReportIn,
    Status,
    Submission,
    SubmitOutcome,
)
from sms_gateway.phone import cn_mobile, redact_numbers
from sms_gateway.vendors import toolkit
from sms_gateway.vendors.base import PendingSource, VendorAdapter, parse_each
from sms_gateway.vendors.paasw_v2.codes import (
    BALANCE,
    DEFAULT_TOKEN_LIFETIME,
    DELIVER,
    MO,
    OK,
    PRODUCT_IDS,
    SEND,
    SEND_TEMPLATE,
    TIME_FORMAT,
    TOKEN,
    text_of,
    vendor_id,
)
from sms_gateway.vendors.paasw_v2.readings import PaaswV2Readings
from sms_gateway.vendors.settings import Codes, Secret, Text, VendorCredentials, VendorOptions
from sms_gateway.vendors.toolkit import DIGITS, carries_sign, frame_sign


class Credentials(VendorCredentials):
    app_id: Secret
    secret: Secret


class Options(VendorOptions):
    """The account options listed in the module docstring."""

    body_format: Literal["json", "form"] = "json"
    default_ext_no: Text | None = None
    retryable_codes: Codes = frozenset()
    poll_reports: bool = True
    poll_inbound: bool = True


class PaaswV2Adapter(PaaswV2Readings, VendorAdapter):
    credentials_model = Credentials
    options_model = Options
    credentials: Credentials
    options: Options
    vendor = "paasw_v2"
    max_recipients_per_call = 1000
    supports_templates = True
    native_scheduling = True
    push_kinds = frozenset({"report", "mo"})
    pulls_reports = True
    pulls_inbound = True

    # ----------------------------------------------------------------- options
    def _form(self) -> bool:
        return self.options.body_format == "form"

    def _endpoint(self, pair: tuple[str, str | None]) -> tuple[str, bool]:
        """(path, as a form?) for an operation, following `body_format`."""
        if pair[1] is not None and self._form():
            return pair[1], True
        return pair[0], False

    # ----------------------------------------------------------------- numbers
    def vendor_number(self, e164: str) -> str:
        return cn_mobile(e164, self.vendor)

    # ----------------------------------------------------------------- HTTP
    def _post(self, path: str, form: bool, fields: dict[str, Any], *, sends: bool) -> dict[str, Any]:
        if form:
            payload = {
                k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in fields.items()
            }
            body: dict[str, Any] = {"data": payload}
        else:
            body = {"json": fields}
        # exact: a 20-digit batchId must not go through float. 001 names no answer for a stale
        # token: a 401/403 is one more refusal (VendorAdapter.with_token).
        answer = self.http.json("POST", self.url(path), sends=sends, exact=True, **body)
        if not isinstance(answer, dict) or "code" not in answer:
            raise failures.garbled(f"paasw_v2 {path}", "answered JSON without a code", sends=sends)
        return answer

    @staticmethod
    def _code(answer: dict[str, Any]) -> str:
        return toolkit.code_of(answer.get("code"))

    @staticmethod
    def _message(answer: dict[str, Any]) -> str:
        return str(answer.get("message") or answer.get("msg") or "")

    # ----------------------------------------------------------------- token
    def _fetch_token(self) -> tuple[str, int]:
        path, form = self._endpoint(TOKEN)
        answer = self._post(
            path, form, {"appId": self.credentials.app_id, "secret": self.credentials.secret}, sends=False
        )
        code = self._code(answer)
        if code != OK:
            # Wrong appId/secret: an operator fixes the accounts document; retries end in the DLQ.
            raise VendorUnavailable(f"paasw_v2 refused the token request: code {code}")
        data = answer.get("data")
        data = data if isinstance(data, dict) else {}
        token = text_of(data.get("token"))
        if token is None:
            raise VendorUnavailable("paasw_v2 token answer has no data.token")
        try:
            lifetime = int(data.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        return token, lifetime

    def _refused(self, answer: dict[str, Any]) -> bool:
        """Any non-zero code: the document lists none ("0为成功，其它为错误码"), so none is known
        to be a content, number or balance error, and each one is worth a fresh token."""
        return self._code(answer) != OK

    def _refusal(self, answer: dict[str, Any]) -> str | None:
        return f"code {self._code(answer)}: {self._message(answer)}" if self._refused(answer) else None

    def _call(
        self, pair: tuple[str, str | None], fields: dict[str, Any], *, sends: bool = False
    ) -> dict[str, Any]:
        """A token-bearing call; any refusal renews the token and makes the call once more."""
        path, form = self._endpoint(pair)
        return self.with_token(
            self._fetch_token,
            lambda token: self._post(path, form, {"token": token, **fields}, sends=sends),
            self._refusal,
            path,
        )

    def _checked(self, answer: dict[str, Any], what: str) -> dict[str, Any]:
        """The answer of a pull or balance call; a non-zero code is transient for a poller."""
        code = self._code(answer)
        if code != OK:
            raise VendorUnavailable(f"paasw_v2 {what} refused: code {code}: {self._message(answer)[:100]}")
        return answer

    # ----------------------------------------------------------------- send
    def submit(self, submission: Submission) -> list[SubmitOutcome]:
        numbers = [self.vendor_number(item.recipient) for item in submission.items]
        fields: dict[str, Any] = {
            "mobile": ",".join(numbers),
            "productId": PRODUCT_IDS[MessageKind(submission.kind)],
        }
        ext_no = submission.ext_no or text_of(self.options.default_ext_no)
        if ext_no:
            if not DIGITS.match(ext_no):
                raise SubmitRejected("invalid_ext_no", "paasw_v2 extNo (拓展码) must be digits")
            fields["extNo"] = ext_no
        if submission.send_at is not None and submission.send_at > utcnow():
            fields["time"] = to_vendor_time(submission.send_at, self.account.timezone, TIME_FORMAT)
        if submission.template is not None:
            endpoint = SEND_TEMPLATE
            fields["templateId"] = submission.template.id
            # JSON: the object of the document's example; form: its JSON text (see _post).
            fields["params"] = dict(submission.template.params)
        else:
            endpoint = SEND
            msg = frame_sign(submission.content or "", submission.sign)
            if not carries_sign(msg):
                raise SubmitRejected("no_sign", "paasw_v2 needs a 【sign】: give 'sign' or set the account's")
            fields["msg"] = msg
        answer = self._call(endpoint, fields, sends=True)
        if submission.template is not None and self._refused(answer) and isinstance(fields["params"], dict):
            # 001 L196 types params as String ("JsonArray") while its example (L207-L210) sends an
            # object: a refused object is tried once more as JSON text (a refused call sent nothing).
            fields["params"] = json.dumps(fields["params"], ensure_ascii=False)
            answer = self._call(endpoint, fields, sends=True)
        code = self._code(answer)
        if code != OK:
            # Refused twice, the second time with a fresh token: nothing was sent.
            description = redact_numbers(self._message(answer))[:300] or "paasw_v2 refused the send"
            if code in self.options.retryable_codes:
                raise VendorUnavailable(f"paasw_v2 send answered code {code}")
            raise SubmitRejected(code, description)
        data = answer.get("data")
        try:
            batch_id: str | None = vendor_id(data.get("batchId") if isinstance(data, dict) else None)
            status, vendor_status, description = Status.SUBMITTED, OK, self._message(answer) or "请求成功"
        except ValueError as exc:
            # Accepted, but without an id no report can ever be matched: say so, once and final.
            batch_id, status, vendor_status, description = None, Status.UNKNOWN, OK, f"accepted, but {exc}"
        return [
            SubmitOutcome(item.message_id, item.recipient, status, batch_id, vendor_status, description)
            for item in submission.items
        ]

    # ----------------------------------------------------------------- reports and MO
    def _pull(self, pair: tuple[str, str | None], what: str) -> list[Any]:
        answer = self._checked(self._call(pair, {}), what)
        entries = self._records(answer)
        if entries is None:
            raise VendorUnavailable(f"paasw_v2 {what} answer has no data array")
        return entries

    def pull_reports(self, pending: PendingSource, sink: PullSink | None = None) -> list[ReportIn]:
        if not self.options.poll_reports:
            return []
        return parse_each(self._pull(DELIVER, "report pull"), self._report, sink)

    def pull_inbound(self, sink: PullSink | None = None) -> list[InboundIn]:
        if not self.options.poll_inbound:
            return []
        return parse_each(self._pull(MO, "MO pull"), self._inbound, sink)

    # ----------------------------------------------------------------- balance
    def balance(self) -> BalanceIn:
        answer = self._checked(self._call(BALANCE, {}), "balance")
        data = answer.get("data")
        raw = data.get("balance") if isinstance(data, dict) else None
        try:
            amount = Decimal(str(raw).strip())
        except InvalidOperation as exc:
            raise VendorUnavailable("paasw_v2 balance answer has no data.balance") from exc
        if not amount.is_finite():
            raise VendorUnavailable("paasw_v2 balance answer has no data.balance")
        return BalanceIn(amount=amount, currency="CNY", raw=answer)
