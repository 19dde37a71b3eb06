"""intl_v1 simulator: document 002_a32c135aba693142.txt (international SMS API).

Every rule below cites its line of document 002 (``002 L<n>``) next to the code:

* Every request carries the headers ``appKey`` and ``appSecret`` (L10, L24-L32), the latter the
  32-char UPPER-case hex MD5 of the secret (``abc123`` -> ``E99A18C428CB38D5F260853678922E03``,
  L30-L32); a wrong appKey answers 1002 AppKeyError (L486), a wrong or lower-case appSecret 1003
  PasswordError (L490). POST bodies are ``application/json`` (L21, L72; else 1001 ParamError).
* ``POST /api/v1/international/sms/send`` (L97-L100): ``mobile`` (country code + number, ASCII-
  comma list of at most 1000, L111), ``content`` required (L115-L118), ``senderID`` optional
  (L120-L123), ``sendTime`` empty or ``yyyyMMddHHmmss`` (L128-L129; else 1011 SendTimeError,
  L522). Answer ``{"msg":"ok","code":0,"data":{"msgId":…}}`` (L173-L179); one msgId covers all
  numbers of the call, so a report is identified by msgId + mobile (L171).
* ``GET /api/v1/international/sms/balance`` (L185-L188) -> ``data: {balance, currencyName,
  currencyCode}`` (L214-L227).
* ``POST /api/v1/international/sms/status`` (L247-L250) with ``{"data":[{"msgId","mobile"},…]}``
  (L258-L271) answers only the pairs asked, at most 500 per call, last 30 days (L245);
  ``status`` 0 sent, 1 no status yet, 2 failed (L336). None known: 1012 NoReportError (L526).
* Push: ONE report object per POST (L432-L441), with the same appKey/appSecret headers
  (L376-L390); ack ``{"code":0,…}`` (L451-L469); a non-zero code is re-pushed twice (L463).
* There is no MO in this document: ``queue_mo`` raises NotImplementedError.

Every error answer is ``{"code": <ResultCode>, "msg": "<name>: <reason>"}`` with the document's
ResultCode table (L473-L532). The readings (``READINGS``; simulators/READINGS.md): the report
timestamps' clock and digits, whether content must carry 【sign】, the pushed failure status,
one bad number in a call, and what counts as a non-ack to re-push.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from .base import (
    BAD_NUMBER,
    BaseSimulator,
    Reading,
    Reply,
    SimRequest,
    VendorError,
    answer_code,
    as_int_code,
    json_reply,
    md5_hex,
    reading,
    split_mobiles,
)

OK = 0  # 002 L48, L478
RESULT_CODES = {  # 002 L473-L532
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
MAX_NUMBERS = 1000  # 002 L111 "最多1000个"
MAX_STATUS_PAIRS = 500  # 002 L245 "一次最多取500条"
STATUS_WINDOW = 30 * 86400  # 002 L245 "最近30天"
TIME_FORMAT = "%Y%m%d%H%M%S"  # 002 L129 "20191224100212"
INTL_MOBILE = re.compile(r"^[1-9]\d{6,14}$")  # 002 L111-L113: 国家区号+手机号码, digits
#: 002 L111-L112: a 手机号码 (mobile), e.g. 8613800138000; only China's mobile plan is known here
CN_INTL_MOBILE = re.compile(r"^861\d{10}$")
SIGN_IN_CONTENT = re.compile(r"^【[^【】]+】")  # 002 L118 "【签名】+内容"
#: timestamp formats of the reading timestamp_digits x timestamp_clock
TIMESTAMP_FORMATS = {
    ("14", "24h"): "%Y%m%d%H%M%S",  # the examples L359, L440: 20240924050907
    ("14", "12h"): "%Y%m%d%I%M%S",
    ("12", "24h"): "%Y%m%d%H%M",  # the field description L331, L414: 202211042057
    ("12", "12h"): "%Y%m%d%I%M",
}
#: the report code of a number refused inside an accepted call (reading bad_number=per_number)
BAD_NUMBER_CODE = "UNDELIV"  # 002 L346 "如：DELIVRD, UNDELIV等"


class _IntlV1Reports(BaseSimulator):
    """Report records, status lookups and pushes of intl_v1 (002)."""

    def expected_app_secret(self) -> str:
        return md5_hex(self.credentials.get("app_secret", "")).upper()

    # ------------------------------------------------------------------ reports

    def _new_msg_id(self) -> str:
        # 18 digits like "240924162017564896": yyMMddHHmmss + 6-digit counter
        return self.fmt_time(self.now(), "%y%m%d%H%M%S") + f"{next(self._ids) % 10**6:06d}"

    def _status_record(self, msg: dict[str, Any]) -> dict[str, Any]:
        if msg["reported_at"] is None:  # 002 L336 "1：状态没返回"
            return {
                "desc": "状态没返回",
                "errorCode": "",
                "mobile": msg["mobile"],
                "msgId": msg["id"],
                "status": 1,
                "timestamp": "",
            }
        return self._report_record(msg)

    def _report_record(self, msg: dict[str, Any], failed_status: int = 2) -> dict[str, Any]:
        code = str(msg["code"])
        delivered = code == "DELIVRD"
        fmt = TIMESTAMP_FORMATS[(self.reading("timestamp_digits"), self.reading("timestamp_clock"))]
        return {  # 002 L318-L346 (pull), L401-L429 (push)
            "desc": "" if delivered else str(msg["outcome"]),
            "errorCode": code,
            "mobile": msg["mobile"],
            "msgId": msg["id"],
            "status": 0 if delivered else failed_status,
            "timestamp": self.fmt_time(msg["reported_at"], fmt),
        }

    def report_push_bodies(self, reports: list[dict[str, Any]]) -> list[Any]:
        # one report object per POST (002 L432-L441); the failed status is a reading (L419 vs L439)
        failed = int(self.reading("push_failed_status"))
        return [self._report_record(m, failed_status=failed) for m in reports]

    def push_request_headers(self) -> dict[str, str]:  # 002 L376-L390: the same appKey/appSecret headers
        return {"appKey": str(self.credentials.get("app_key")), "appSecret": self.expected_app_secret()}

    def ack_ok(self, kind: str, status: int | None, answer: str) -> bool:
        # 002 L451-L469: the answer carries code 0; L463 re-pushes a non-zero code
        code = answer_code(answer)
        if status == 200 and code == 0 and not isinstance(code, bool):
            return True
        if self.reading("repush_on") == "nonzero_code":
            # only a readable non-zero code is re-pushed: an HTTP error or garbled answer is not
            return code is None
        return False


class IntlV1Simulator(_IntlV1Reports):
    vendor = "intl_v1"
    PARAM_ERROR = 1001
    HAS_MO = False
    REPORT_QUEUE = False  # the status API looks messages up; it is not a queue (002 L258-L271)
    PUSH_RETRIES = 2  # 002 L463 "如果返回code是非0将重推两次"
    READINGS: ClassVar[dict[str, Reading]] = {
        "timestamp_clock": Reading(
            ("24h", "12h"),
            "24h",
            "002 L331, L414 timestamp; the example L359 (050907) sits 12 h from its msgId L357 (170907)",
            "report timestamps on a 24-hour clock, or a 12-hour clock without AM/PM",
        ),
        "timestamp_digits": Reading(
            ("14", "12"),
            "14",
            "002 L331, L414 '格式为：202211042057' (12 digits) vs the examples L359, L440 (14 digits)",
            "report timestamps yyyyMMddHHmmss, or yyyyMMddHHmm",
        ),
        "content_sign": Reading(
            ("optional", "required"),
            "optional",
            "002 L118 '格式：【签名】+内容' vs the example L135 without 【】",
            "whether content must start with 【sign】 (else 1006 ContentError, L502)",
        ),
        "push_failed_status": Reading(
            ("2", "1"),
            "2",
            "002 L419 pushed status '0：发送成功，1：发送失败' vs the example L439 and the pull L336 (2)",
            "the status of a pushed failure report: 2 as in the example and the pull, or 1 as in the table",
        ),
        "bad_number": reading("002 L111, L506 (1007 MobileError)", BAD_NUMBER),
        "repush_on": Reading(
            ("any_failure", "nonzero_code"),
            "any_failure",
            "002 L463 '如果返回code是非0将重推两次': silent on HTTP errors and unreadable answers",
            "what makes the vendor re-push (twice): any answer that is not {code:0}, or only a "
            "readable non-zero code",
        ),
    }
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

    def reject(self, code: Any, reason: str, http_status: int = 200) -> VendorError:
        code = as_int_code(code)
        name = RESULT_CODES.get(code, "other")
        return VendorError(json_reply({"code": code, "msg": f"{name}: {reason}"}, http_status), reason)

    # ------------------------------------------------------------------ auth & body

    def _authenticate(self, req: SimRequest) -> None:
        # 002 L24-L32: appKey and appSecret = MD5, 32 upper-case hex; 1002 L486, 1003 L490
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

    def _body(self, req: SimRequest) -> dict[str, Any]:
        if not req.is_json:  # 002 L20-L21, L72: JSON, UTF-8
            raise self.reject(
                1001, f"Content-Type must be application/json;charset=utf-8, not {req.media_type or 'none'}"
            )
        if req.json_error:
            raise self.reject(1001, req.json_error)
        if not isinstance(req.json, dict):
            raise self.reject(1001, "the body must be a JSON object")
        return req.json

    # ------------------------------------------------------------------ handlers

    def h_send(self, req: SimRequest) -> Reply:
        self._authenticate(req)
        body = self._body(req)
        scheduled, send_time = self._check_send_fields(body)
        mobiles = split_mobiles(body["mobile"])  # 002 L111 "用英文字符,隔开"
        bad = self._check_numbers(mobiles)
        msg_id = self._new_msg_id()
        for mobile in mobiles:
            self.new_message(
                msg_id,
                mobile,
                body["content"],
                outcome=BAD_NUMBER_CODE if mobile in bad else None,
                scheduled=scheduled,
                scheduled_text=send_time or None,
                sender_id=body.get("senderID"),
            )
        return json_reply({"msg": "ok", "code": OK, "data": {"msgId": msg_id}})  # 002 L173-L179

    def _check_send_fields(self, body: dict[str, Any]) -> tuple[float | None, str]:
        """The send body's fields as 002 types them; (scheduled epoch or None, sendTime text)."""
        for name in ("mobile", "content"):  # 002 L108-L118 必选
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise self.reject(1001, f"{name} is required (a string)")
        for name in ("senderID", "sendTime"):  # 002 L120-L129 可选 String
            if body.get(name) is not None and not isinstance(body[name], str):
                raise self.reject(1001, f"{name} must be a string")
        send_time = (body.get("sendTime") or "").strip()
        scheduled = None
        if send_time:  # 002 L128-L129; 1011 SendTimeError L522
            try:
                scheduled = self.parse_time(send_time, TIME_FORMAT)
            except ValueError:
                raise self.reject(1011, f"sendTime must be yyyyMMddHHmmss, not {send_time!r}") from None
        if self.reading("content_sign") == "required" and not SIGN_IN_CONTENT.match(body["content"]):
            raise self.reject(1006, "content must be 【签名】+内容")  # 002 L118, 1006 L502
        return scheduled, send_time

    def _check_numbers(self, mobiles: list[str]) -> list[str]:
        """Refuse the call as 002 says; the malformed numbers kept under bad_number=per_number."""
        if len(mobiles) > MAX_NUMBERS:  # 002 L111 "最多1000个"
            raise self.reject(1001, f"mobile has {len(mobiles)} numbers; at most {MAX_NUMBERS} per call")
        bad = [m for m in mobiles if not _is_mobile(m)]
        if bad and self.reading("bad_number") == "whole_call":  # 1007 MobileError L506
            raise self.reject(1007, f"numbers must be country code + number, digits only ({len(bad)} bad)")
        for mobile in mobiles:
            code = self.submit_result_for(mobile)
            if code is not None and str(code) != str(OK):
                raise self.reject(code, f"submit rejected for {mobile} (simulator rule)")
        return bad

    def h_balance(self, req: SimRequest) -> Reply:
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

    def h_status(self, req: SimRequest) -> Reply:
        self._authenticate(req)
        body = self._body(req)
        pairs = body.get("data")  # 002 L258-L271
        if not isinstance(pairs, list) or not pairs:
            raise self.reject(1001, "data must be a non-empty array of {msgId, mobile}")
        if len(pairs) > MAX_STATUS_PAIRS:  # 002 L245
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
        oldest = self.now() - STATUS_WINDOW  # 002 L245
        with self._lock:
            index = {(m["id"], m["mobile"]): m for m in self._messages if m["status"] != "rejected"}
            found = []
            for pair in pairs:
                msg = index.get((pair["msgId"], pair["mobile"]))
                if msg is not None and msg["submitted_at"] >= oldest:
                    found.append(self._status_record(msg))
        if not found:  # 1012 NoReportError L526
            raise self.reject(1012, "none of the (msgId, mobile) pairs has a report in the last 30 days")
        return json_reply({"code": OK, "data": self.with_bad_record("report", found), "msg": "ok"})


def _is_mobile(number: str) -> bool:
    """Country code + mobile number (002 L111-L113); a Chinese landline (86 10…) is not one."""
    if not INTL_MOBILE.match(number):
        return False
    return not number.startswith("86") or bool(CN_INTL_MOBILE.match(number))
