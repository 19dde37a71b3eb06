"""paasw_v2: the paasw gateway HTTP API v2.0 (vendor document 001_61f7708193d5d38a.txt).

What the document says, and what it leaves open (our reading is given after each "->"):

- Every call is a POST. Each operation has a JSON endpoint (`/message/...`) and most have a
  form endpoint (`/msg/...`): token `/message/token` | `/message/tokenApi`, send `/message/send`
  | `/msg/send`, template send `/message/sendTemplate` | `/msg/sendTemplate`, balance
  `/message/balance` | `/msg/balance`. The report and MO pulls, `/message/deliver` and
  `/message/mo`, exist in JSON only. -> The account option `body_format` picks one format for
  every operation that has both; the pulls are always JSON.
- Token: appId + secret -> `data.token` and `data.expires_in` (7200 s); the same token is
  answered while valid, and a reset secret kills it early, so "developers should retry
  fetching the token". The document lists no error codes at all ("0为成功，其它为错误码"), so no
  code tells a stale token from another refusal. -> Every non-zero answer drops the token
  everywhere (memory and table), fetches a new one and makes the call once more
  (`VendorAdapter.with_token`); a refused call sent nothing. Refused again: a message naming
  the token (token, 令牌, 鉴权) is a transient VendorUnavailable; any other code refuses a send
  for good (SMS Submit Failed with the raw code) unless listed in `retryable_codes`.
- The token is kept in `self.tokens` (memory + the table), so concurrent Lambda instances
  share one token.
- Send: `mobile` is a comma list of at most 1000 numbers, `msg` carries its 【sign】,
  `productId` is 1 (verification), 2 (notification) or 3 (marketing), `extNo` is digits,
  `time` is `yyyy-MM-dd HH:mm:ss` for a scheduled send. -> The sign is put in front of the
  content unless the content already starts or ends with a 【...】 sign; a content without any
  sign is refused before any call (the vendor requires it). `time` is the account's timezone;
  it is sent only for a `send_at` still in the future, and optional fields are omitted when
  unset (the document's example sends them as "", which the table marks as not required).
- Template send: `templateId` and `params`. The table calls `params` a "JsonArray" of type
  String, but its example (and the JSON request example) is an object
  `{"code":"523648","minute":"2"}`. -> JSON body: `params` is that object; form body: its JSON
  text. The template carries its own sign, so no sign is sent with it.
- The send answer's `data.batchId` is documented as Long, with an example of 20 digits
  (39036632588910887018) that no 64-bit integer holds; it arrives as a JSON number there and as
  a string in reports. -> Every answer is parsed with Python's json (integers stay exact) and
  `parse_float=Decimal` (no value ever goes through float); `vendor_id()` normalises a batchId
  once, to its decimal digits as a string, whichever form it came in.
- One batchId covers every number of the call: a report is matched on batchId + mobile.
- Report codes (`chnRptCode`): `DELIVRD` is the only success; anything else (the document's
  example is `DB:0141`) is a carrier failure kept raw. -> The usual CMPP stat words map to the
  matching canonical status (EXPIRED -> expired, REJECTD -> rejected, UNKNOWN -> unknown, ...);
  every other code is undelivered with the raw code kept.
- Report and MO pushes are `{"count": n, "data": [...]}` (the pulls answer the same fields plus
  code and message). -> On input we also take a bare array of records and a single record, and
  a record's shape decides what it is (batchId/chnRptCode: a report; content/replyDate: an MO),
  so one push address configured for both kinds still works. `count` is informational: a
  mismatch is logged, never refused. A malformed record refuses the whole push (400, kept in
  the inbox) with a short reason.
- MO records carry no id: the store de-duplicates them on number, content, extNo and time, so
  a repeated push changes nothing (and two identical MO within the same second count once, as
  in the document's own example).
- The push acknowledgement is not specified. -> HTTP 200 with `{"code":0,"message":"请求成功"}`
  (application/json): HTTP 200 is what the document implies, and a body in the vendor's own
  success format is the most likely thing a push client that checks bodies would look for.
  The document says nothing about re-pushing, so a push is acked only once it is stored.
- Pulled reports and MO are handed out once: each pulled record is parsed on its own and a bad
  one is logged and skipped, never allowed to cost the others.
- Balance: `data.balance` in yuan (a Double) -> Decimal, currency CNY.
- Numbers: mainland mobile numbers only, 11 digits without country code; any other number is
  refused alone before the call.

Account options (all optional):
- `body_format`: `"json"` (default) or `"form"`: the endpoints used for token, send, template
  send and balance.
- `default_ext_no`: digits sent as `extNo` when the request gives no `ext_no`.
- `retryable_codes`: send answer codes that are transient (throttling); retried through the
  queue. By default every non-zero send code refuses the call for good (SMS Submit Failed with
  the raw code), since the document names none.
- `poll_reports`, `poll_inbound` (bool, default true): set to false on an account whose reports
  or MO are pushed, to skip the scheduled pulls.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from sms_gateway import failures
from sms_gateway.clock import to_vendor_time, utcnow, vendor_time_to_utc
from sms_gateway.errors import PushRejected, SubmitRejected, VendorUnavailable
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
)
from sms_gateway.observability import logger
from sms_gateway.phone import cn_mobile, from_vendor, redact_numbers
from sms_gateway.vendors import toolkit
from sms_gateway.vendors.base import PendingSource, VendorAdapter, json_body, parse_each, push_batch
from sms_gateway.vendors.settings import Codes, Secret, Text, VendorCredentials, VendorOptions
from sms_gateway.vendors.toolkit import DIGITS, carries_sign, frame_sign

# (JSON endpoint, form endpoint); None where the document has no form variant.
TOKEN = ("/message/token", "/message/tokenApi")
SEND = ("/message/send", "/msg/send")
SEND_TEMPLATE = ("/message/sendTemplate", "/msg/sendTemplate")
BALANCE = ("/message/balance", "/msg/balance")
DELIVER = ("/message/deliver", None)
MO = ("/message/mo", None)

OK = "0"
DEFAULT_TOKEN_LIFETIME = 7200  # the document's expires_in
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# productId (document sections 3-6): 1 验证码, 2 普通短信, 3 营销短信.
PRODUCT_IDS: dict[MessageKind, str] = {
    MessageKind.VERIFICATION: "1",
    MessageKind.NOTIFICATION: "2",
    MessageKind.MARKETING: "3",
}

# chnRptCode (sections 7 and 11): the carrier's own code. Only DELIVRD is a success. The document
# shows DB:0141 as its example; the CMPP stat words are mapped to the matching canonical status.
REPORT_CODES: dict[str, tuple[Status, str]] = {
    "DELIVRD": (Status.DELIVERED, "短信投递成功"),
    "EXPIRED": (Status.EXPIRED, "短信过期未送达"),
    "UNDELIV": (Status.UNDELIVERED, "短信无法投递"),
    "DELETED": (Status.UNDELIVERED, "短信已被删除"),
    "REJECTD": (Status.REJECTED, "短信被拒绝"),
    "REJECTED": (Status.REJECTED, "短信被拒绝"),
    "UNKNOWN": (Status.UNKNOWN, "状态未知"),
    "DB:0141": (Status.UNDELIVERED, "运营商返回的失败代码"),
}
CARRIER_FAILURE = "运营商返回的失败代码"


def report_status(code: str) -> tuple[Status, str]:
    """The canonical status of a chnRptCode: DELIVRD is delivered, anything unknown undelivered."""
    return REPORT_CODES.get(code.strip(), (Status.UNDELIVERED, CARRIER_FAILURE))


def vendor_id(value: object) -> str:
    """A batchId, normalised once: its decimal digits as a string (int, digit string or Decimal).

    Never through float: a 20-digit id does not survive a double. A number written as a string,
    with or without leading zeros, is the same number. Raises ValueError when absent.
    """
    try:
        batch_id = toolkit.vendor_id(value, floats=False, drop_leading_zeros=True)
    except ValueError as exc:
        raise ValueError(f"batchId: {exc}") from exc
    if batch_id is None:
        raise ValueError("batchId is missing")
    return batch_id


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


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


class PaaswV2Adapter(VendorAdapter):
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
        token = _text(data.get("token"))
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
        ext_no = submission.ext_no or _text(self.options.default_ext_no)
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
    def _report(self, entry: dict[str, Any]) -> ReportIn:
        mobile = _text(entry.get("mobile"))
        code = _text(entry.get("chnRptCode"))
        if mobile is None or code is None:
            raise ValueError("a report needs batchId, mobile and chnRptCode")
        status, description = report_status(code)
        raw_time = _text(entry.get("chnRptDate"))
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
        mobile = _text(entry.get("mobile"))
        if mobile is None or "content" not in entry:
            raise ValueError("an MO needs mobile and content")
        raw_time = _text(entry.get("replyDate"))
        content = entry.get("content")
        return InboundIn(
            sender=from_vendor(mobile),
            content="" if content is None else str(content),
            received_at=vendor_time_to_utc(raw_time, self.account.timezone, TIME_FORMAT),
            raw_time=raw_time,
            ext_no=_text(entry.get("extNo")),
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
        if count is not None and _text(count) != str(len(entries)):
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
