"""intl_v1 simulator: document 002_a32c135aba693142.txt (international SMS API).

Enforced as the document says:

* Every request carries the headers ``appKey`` and ``appSecret``, the latter the 32-char
  UPPER-case hex MD5 of the secret (``abc123`` -> ``E99A18C428CB38D5F260853678922E03``);
  a wrong appKey answers 1002 AppKeyError, a wrong or lower-case appSecret 1003 PasswordError.
  POST bodies must be ``application/json`` (else 1001 ParamError).
* ``POST /api/v1/international/sms/send``: ``mobile`` (country code + number, digits only,
  ASCII-comma list of at most 1000), ``content`` required, ``senderID`` optional, ``sendTime``
  empty or ``yyyyMMddHHmmss`` (else 1011 SendTimeError; the report comes only after it, read
  as China time). Answer ``{"msg":"ok","code":0,"data":{"msgId":"<18 digits>"}}``; one msgId
  covers all numbers of the call, so a report is identified by msgId + mobile.
* ``GET /api/v1/international/sms/balance`` -> ``data: {balance, currencyName, currencyCode}``.
* ``POST /api/v1/international/sms/status`` with ``{"data":[{"msgId","mobile"},…]}`` is NOT a
  queue: it answers only the pairs asked, at most 500 per call (else 1001), only for messages
  at most 30 days old; ``status`` 0 delivered, 1 no status yet (until the report is due),
  2 failed. When none of the pairs is known the answer is 1012 NoReportError.
* Push: ONE report object per POST, with the same appKey/appSecret headers. The ack must be
  ``{"code":0,…}``; any other answer (non-zero code, not JSON, not HTTP 200, no answer) makes
  the vendor push the same report twice more ("如果返回code是非0将重推两次").
* There is no MO in this document: ``queue_mo`` raises NotImplementedError.

Timestamps are ``yyyyMMddHHmmss`` China time. Every error answer is ``{"code": <ResultCode>,
"msg": "<name>: <reason>"}`` with the document's ResultCode table (1001…1012, 9999).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from .base import (
    BaseSimulator,
    SimRequest,
    VendorError,
    answer_code,
    as_int_code,
    json_reply,
    md5_hex,
    split_mobiles,
)

OK = 0
RESULT_CODES = {
    1001: "ParamError",
    1002: "AppKeyError",
    1003: "PasswordError",
    1004: "BindIpError",
    1005: "AccountStop",
    1006: "ContentError",
    1007: "MobileError",
    1008: "ExtNumberError",
    1009: "AmountNotEnough",
    1010: "TimeSuperRange",
    1011: "SendTimeError",
    1012: "NoReportError",
    9999: "other",
}

BASE = "/api/v1/international/sms"
MAX_NUMBERS = 1000
MAX_STATUS_PAIRS = 500
STATUS_WINDOW = 30 * 86400
TIME_FORMAT = "%Y%m%d%H%M%S"
INTL_MOBILE = re.compile(r"^[1-9]\d{6,14}$")  # E.164 digits without "+"


class IntlV1Simulator(BaseSimulator):
    vendor = "intl_v1"
    PARAM_ERROR = 1001
    HAS_MO = False
    REPORT_QUEUE = False  # the status API looks messages up; it is not a queue
    DEFAULT_BALANCE = 100
    DEFAULT_BALANCE_DETAILS: ClassVar[dict[str, Any]] = {"currency_name": "人民币", "currency_code": "CNY"}
    OUTCOME_CODES: ClassVar[dict[str, Any]] = {
        "delivered": "DELIVRD",
        "undelivered": "UNDELIV",
        "expired": "EXPIRED",
        "rejected": "REJECTD",
        "blacklisted": "UNDELIV",
        "unknown": "UNKNOWN",
    }
    ROUTES: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {
        f"{BASE}/send": (("POST",), "h_send"),
        f"{BASE}/balance": (("GET",), "h_balance"),
        f"{BASE}/status": (("POST",), "h_status"),
    }

    def reject(self, code, reason, http_status=200):
        code = as_int_code(code)
        name = RESULT_CODES.get(code, "other")
        return VendorError(json_reply({"code": code, "msg": f"{name}: {reason}"}, http_status), reason)

    def expected_app_secret(self) -> str:
        return md5_hex(self.credentials.get("app_secret", "")).upper()

    # ------------------------------------------------------------------ auth & body

    def _authenticate(self, req: SimRequest) -> None:
        app_key = req.header("appKey")
        if not app_key:
            raise self.reject(1002, "missing header appKey")
        if app_key != str(self.credentials.get("app_key")):
            raise self.reject(1002, f"unknown appKey {app_key!r}")
        secret = req.header("appSecret")
        if not secret:
            raise self.reject(1003, "missing header appSecret (upper-case 32-hex MD5 of the secret)")
        if secret != self.expected_app_secret():
            hint = " (it must be UPPER-case hex)" if secret.upper() == self.expected_app_secret() else ""
            raise self.reject(1003, f"appSecret is not the MD5 of the secret{hint}")

    def _body(self, req: SimRequest) -> dict:
        if not req.is_json:
            raise self.reject(
                1001, f"Content-Type must be application/json;charset=utf-8, not {req.media_type or 'none'}"
            )
        if req.json_error:
            raise self.reject(1001, req.json_error)
        if not isinstance(req.json, dict):
            raise self.reject(1001, "the body must be a JSON object")
        return req.json

    # ------------------------------------------------------------------ handlers

    def h_send(self, req: SimRequest):
        self._authenticate(req)
        body = self._body(req)
        for name in ("mobile", "content"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise self.reject(1001, f"{name} is required (a string)")
        for name in ("senderID", "sendTime"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise self.reject(1001, f"{name} must be a string")
        send_time = (body.get("sendTime") or "").strip()
        scheduled = None
        if send_time:
            try:
                scheduled = self.parse_time(send_time, TIME_FORMAT)
            except ValueError:
                raise self.reject(1011, f"sendTime must be yyyyMMddHHmmss, not {send_time!r}") from None
        mobiles = split_mobiles(body["mobile"])
        if len(mobiles) > MAX_NUMBERS:
            raise self.reject(1001, f"mobile has {len(mobiles)} numbers; at most {MAX_NUMBERS} per call")
        bad = [m for m in mobiles if not INTL_MOBILE.match(m)]
        if bad:
            raise self.reject(1007, f"numbers must be country code + number, digits only: {bad[:5]}")
        for mobile in mobiles:
            code = self.submit_result_for(mobile)
            if code is not None and str(code) != str(OK):
                raise self.reject(code, f"submit rejected for {mobile} (simulator rule)")
        msg_id = self._new_msg_id()
        for mobile in mobiles:
            self.new_message(
                msg_id,
                mobile,
                body["content"],
                scheduled=scheduled,
                scheduled_text=send_time or None,
                sender_id=body.get("senderID"),
            )
        return json_reply({"msg": "ok", "code": OK, "data": {"msgId": msg_id}})

    def h_balance(self, req: SimRequest):
        self._authenticate(req)
        return json_reply(
            {
                "msg": "ok",
                "code": OK,
                "data": {
                    "balance": self.balance,
                    "currencyName": self.balance_details["currency_name"],
                    "currencyCode": self.balance_details["currency_code"],
                },
            }
        )

    def h_status(self, req: SimRequest):
        self._authenticate(req)
        body = self._body(req)
        pairs = body.get("data")
        if not isinstance(pairs, list) or not pairs:
            raise self.reject(1001, "data must be a non-empty array of {msgId, mobile}")
        if len(pairs) > MAX_STATUS_PAIRS:
            raise self.reject(1001, f"{len(pairs)} pairs asked; at most {MAX_STATUS_PAIRS} per call")
        for pair in pairs:
            if not (
                isinstance(pair, dict)
                and isinstance(pair.get("msgId"), str)
                and pair["msgId"]
                and isinstance(pair.get("mobile"), str)
                and pair["mobile"]
            ):
                raise self.reject(1001, f"each data item needs msgId and mobile strings: {pair!r}")
        oldest = self.now() - STATUS_WINDOW
        with self._lock:
            index = {(m["id"], m["mobile"]): m for m in self._messages if m["status"] != "rejected"}
            found = []
            for pair in pairs:
                msg = index.get((pair["msgId"], pair["mobile"]))
                if msg is not None and msg["submitted_at"] >= oldest:
                    found.append(self._status_record(msg))
        if not found:
            raise self.reject(1012, "none of the (msgId, mobile) pairs has a report in the last 30 days")
        return json_reply({"code": OK, "data": found, "msg": "ok"})

    # ------------------------------------------------------------------ reports

    def _new_msg_id(self) -> str:
        # 18 digits like "240924162017564896": yyMMddHHmmss + 6-digit counter
        return self.fmt_time(self.now(), "%y%m%d%H%M%S") + f"{next(self._ids) % 10**6:06d}"

    def _status_record(self, msg: dict) -> dict:
        if msg["reported_at"] is None:
            return {
                "desc": "状态没返回",
                "errorCode": "",
                "mobile": msg["mobile"],
                "msgId": msg["id"],
                "status": 1,
                "timestamp": "",
            }
        return self._report_record(msg)

    def _report_record(self, msg: dict) -> dict:
        code = str(msg["code"])
        delivered = code == "DELIVRD"
        return {
            "desc": "" if delivered else str(msg["outcome"]),
            "errorCode": code,
            "mobile": msg["mobile"],
            "msgId": msg["id"],
            "status": 0 if delivered else 2,
            "timestamp": self.fmt_time(msg["reported_at"], TIME_FORMAT),
        }

    def report_push_bodies(self, reports):
        return [self._report_record(m) for m in reports]  # one report object per POST

    def push_request_headers(self):
        return {"appKey": str(self.credentials.get("app_key")), "appSecret": self.expected_app_secret()}

    def ack_ok(self, kind, status, answer):
        code = answer_code(answer)
        return status == 200 and code == 0 and not isinstance(code, bool)
