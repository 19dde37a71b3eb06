"""action_v1 simulator: document 004_cb8a16e64a688ed7.txt (``/sms?action=…`` gateway).

Enforced as the document says:

* One path, ``/sms``, GET or POST; parameters URL-encoded in the query or a form body;
  ``action`` picks the call (send, p2p, balance, report, mo) and ``rt=json`` is required
  (this simulator speaks only the documented JSON answers).
* Auth: ``account`` + ``password``. Whether the password is plain or MD5 is an account
  setting (option ``md5_password``); only the configured form is accepted:
  send ``MD5(password+extno+content+mobile)``, p2p ``MD5(password+extno+mobileContentList)``
  with the list's line breaks removed, the other actions ``MD5(password)``. The document
  gives no hex case: both are accepted. A wrong account/password answers STATUS 3.
* send: ``mobile`` is an ASCII-comma list of at most 500 numbers (more: STATUS 102).
  p2p: ``mobileContentList`` lines ``mobile#content`` separated by CR, LF or CRLF (the
  document's own example uses %0d), at most 500 lines as well.
* Answers per recipient: ``{"status":"0","balance":<厘>,"list":[{"mid","mobile","result"}]}``
  with ``status`` a STRING, ``result`` 0 or a RESULT code: 10 extno wrong (extno not
  starting with the account's ``extno`` option), 15 balance too low (pre-paid), 17 sign
  invalid, or what ``set_submit_result`` says; one call can partly succeed. Every recipient
  gets a ``mid``; only result-0 recipients get a report.
* balance: ``{"status":0,"balance":<厘>,"chargeType":"PRECHARGE"|"POSTCHARGE"}`` (status a
  number here, as in the document); negative balances are post-paid.
* report / mo pulls are destructive and honour ``size`` (report: default 1000, 10..10000;
  mo: default 1000, 10..1000; the document's typo ``szie`` is read too; out-of-range
  sizes are clamped). Records carry ``flag`` 1 (report, ``stat``) or 0 (MO, ``content``).
* Push: ONE address for both kinds, a JSON array mixing flag 0 (MO) and flag 1 (report)
  records; the ack is the plain text ``OK``. The document says nothing about re-pushing: a
  refused push is retried ``push_retries`` (2) times.

Errors answer ``{"status": "<STATUS code>", "message": "<reason>"}`` (status a number for
balance) with the document's STATUS table: 1 message format (missing action/rt/fields),
3 account/password, 102 too many numbers.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from .base import (
    CN_MOBILE,
    BaseSimulator,
    SimRequest,
    VendorError,
    iter_chunks,
    json_reply,
    md5_hex,
    sms_segments,
    split_mobiles,
)

STATUS_OK = "0"
STATUS_FORMAT = "1"  # 消息包格式错误
STATUS_AUTH = "3"  # 账号密码不正确
STATUS_TOO_MANY = "102"  # 单次提交的号码数过多

RESULT_OK = 0
RESULT_EXTNO = 10  # 原发号码错误，即extno错误
RESULT_BALANCE = 15  # 余额不足 (17 账号签名无效 comes only from set_submit_result)

MAX_NUMBERS = 500
ACTIONS = ("send", "p2p", "balance", "report", "mo")
LINE_BREAK = re.compile(r"\r\n|\r|\n")


class ActionV1Simulator(BaseSimulator):
    vendor = "action_v1"
    PARAM_ERROR = STATUS_FORMAT
    DEFAULT_BALANCE = 1_000_000  # 厘 = 1000 yuan
    #: charge_type PRECHARGE/POSTCHARGE; price in 厘 per SMS segment (0 = free)
    DEFAULT_BALANCE_DETAILS: ClassVar[dict[str, Any]] = {"charge_type": "PRECHARGE", "price": 0}
    OUTCOME_CODES: ClassVar[dict[str, Any]] = {
        "delivered": "DELIVRD",
        # the CMPP stat word for "not delivered"; outside the STAT table, so read as an operator
        # failure code (undelivered, kept raw). MA:0009 would be 未定义错误 (unknown).
        "undelivered": "UNDELIV",
        "expired": "EXPIRED",
        "rejected": "REJECTED",
        "blacklisted": "MA:0001",
        "unknown": "MA:0004",
    }
    ROUTES: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {"/sms": (("GET", "POST"), "h_sms")}

    def reject(self, code, reason, http_status=200, numeric=False):
        status = int(code) if numeric else str(code)
        return VendorError(json_reply({"status": status, "message": reason}, http_status), reason)

    def set_balance(self, balance, **details):
        if "charge_type" not in details and isinstance(balance, (int, float)) and balance < 0:
            details["charge_type"] = "POSTCHARGE"  # a negative balance is a post-paid account
        super().set_balance(balance, **details)

    @property
    def extno(self) -> str:
        return str(self.options.get("extno") or "")

    # ------------------------------------------------------------------ routing & auth

    def _params(self, req: SimRequest) -> dict:
        # The document: URL-encoded parameters, GET or POST; a form body wins over the query.
        return {**req.query, **req.form}

    def endpoint_key(self, req: SimRequest) -> str:
        action = self._params(req).get("action", "")
        return f"/sms?action={action}" if action else "/sms"

    def h_sms(self, req: SimRequest):
        params = self._params(req)
        action = params.get("action", "")
        numeric = action == "balance"
        if action not in ACTIONS:
            raise self.reject(STATUS_FORMAT, f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if params.get("rt", "").lower() != "json":
            raise self.reject(
                STATUS_FORMAT,
                "rt=json is required (the JSON answers are the ones documented)",
                numeric=numeric,
            )
        return getattr(self, f"_{action}")(params)

    def _authenticate(self, params: dict, signed: str, numeric: bool = False) -> None:
        """``signed`` is what follows the password inside the MD5 for this action."""
        account, password = params.get("account", ""), params.get("password", "")
        if not account or not password:
            raise self.reject(
                STATUS_FORMAT,
                "account and password are required (URL-encoded, in the query or a form body)",
                numeric=numeric,
            )
        secret = self.credentials.get("password", "")
        if self.options.get("md5_password"):
            ok = password.lower() == md5_hex(secret + signed)
            how = "MD5(password" + ("+…" if signed else "") + ")"
        else:
            ok = password == secret
            how = "the plain password"
        if account != self.credentials.get("account") or not ok:
            raise self.reject(
                STATUS_AUTH,
                f"账号密码不正确 (account or password wrong; this account expects {how})",
                numeric=numeric,
            )

    # ------------------------------------------------------------------ actions

    def _send(self, params: dict):
        extno, content, mobile = params.get("extno", ""), params.get("content", ""), params.get("mobile", "")
        self._authenticate(params, extno + content + mobile)
        if not mobile.strip() or not content:
            raise self.reject(STATUS_FORMAT, "mobile and content are required")
        mobiles = split_mobiles(mobile)
        if len(mobiles) > MAX_NUMBERS:
            raise self.reject(STATUS_TOO_MANY, f"{len(mobiles)} numbers in one call; at most {MAX_NUMBERS}")
        return self._submit([(m, content) for m in mobiles], extno)

    def _p2p(self, params: dict):
        extno, listing = params.get("extno", ""), params.get("mobileContentList", "")
        # the MD5 covers the list with its line breaks removed
        self._authenticate(params, extno + listing.replace("\r", "").replace("\n", ""))
        lines = [line for line in LINE_BREAK.split(listing) if line.strip()]
        if not lines:
            raise self.reject(STATUS_FORMAT, "mobileContentList is required (mobile#content lines)")
        if len(lines) > MAX_NUMBERS:
            raise self.reject(STATUS_TOO_MANY, f"{len(lines)} numbers in one call; at most {MAX_NUMBERS}")
        pairs = []
        for line in lines:
            mobile, sep, content = line.partition("#")
            if not sep or not mobile.strip() or not content:
                raise self.reject(STATUS_FORMAT, f"mobileContentList line is not mobile#content: {line!r}")
            pairs.append((mobile.strip(), content))
        return self._submit(pairs, extno)

    def _submit(self, pairs: list[tuple[str, str]], extno: str):
        # extno may extend the account's access code with more digits, never change it
        extno_ok = not extno or (extno.isdigit() and extno.startswith(self.extno))
        access_code = extno or self.extno
        listing = []
        for mobile, content in pairs:
            mid = self._new_mid()
            result = self.submit_result_for(mobile)
            with self._lock:
                if result is None:
                    cost = self.balance_details["price"] * sms_segments(content)
                    if not extno_ok:
                        result = RESULT_EXTNO
                    elif self.balance_details["charge_type"] == "PRECHARGE" and self.balance < cost:
                        result = RESULT_BALANCE
                    else:
                        result = RESULT_OK
                        self.balance -= cost
            result = int(result)
            if result == RESULT_OK:
                # a malformed number is accepted and fails in its report (MA:0021 号码格式错误)
                outcome = None if CN_MOBILE.match(mobile) else "MA:0021"
                self.new_message(mid, mobile, content, outcome=outcome, access_code=access_code)
            else:
                self.record_rejected(mid, mobile, content, result, access_code=access_code)
            listing.append({"mid": mid, "mobile": mobile, "result": result})
        return json_reply({"status": STATUS_OK, "balance": self.balance, "list": listing})

    def _balance(self, params: dict):
        self._authenticate(params, "", numeric=True)
        return json_reply(
            {"status": 0, "balance": self.balance, "chargeType": self.balance_details["charge_type"]}
        )

    def _report(self, params: dict):
        self._authenticate(params, "")
        size = _size(params.get("size"), 10, 10000)
        records = [self._report_record(m) for m in self.take_reports(limit=size)]
        return json_reply({"status": STATUS_OK, "balance": self.balance, "list": records})

    def _mo(self, params: dict):
        self._authenticate(params, "")
        size = _size(params.get("size") or params.get("szie"), 10, 1000)
        records = [self._mo_record(mo) for mo in self.take_mos(limit=size)]
        return json_reply({"status": STATUS_OK, "balance": self.balance, "list": records})

    # ------------------------------------------------------------------ records & pushes

    def _new_mid(self) -> str:
        # 16 upper-case hex digits like "4C2CA88382720003"
        return f"{int(self.now()) & 0xFFFFFFFF:08X}{next(self._ids) & 0xFFFFFFFF:08X}"

    def new_mo_id(self) -> str:
        return self._new_mid()

    def _report_record(self, msg: dict) -> dict:
        return {
            "flag": 1,
            "mid": msg["id"],
            "spid": self.credentials.get("account", ""),
            "accessCode": msg.get("access_code", self.extno),
            "mobile": msg["mobile"],
            "stat": str(msg["code"]),
            "time": self.fmt_time(msg["reported_at"]),
        }

    def _mo_record(self, mo: dict) -> dict:
        return {
            "flag": 0,
            "mid": mo["id"],
            "spid": self.credentials.get("account", ""),
            "accessCode": mo["ext_no"] or self.extno,
            "mobile": mo["mobile"],
            "content": mo["content"],
            "time": self.fmt_time(mo["received_at"]),
        }

    def push_targets(self):
        # The vendor has a single push address for reports and MO.
        if self.delivery != "push":
            return None, None
        url = self.push_report_url or self.push_mo_url
        return url, url

    def build_pushes(self, reports: list[dict], mos: list[dict]) -> list[dict]:
        records = [self._mo_record(mo) for mo in mos] + [self._report_record(m) for m in reports]
        url = self.push_report_url or self.push_mo_url
        pushes = []
        for chunk in iter_chunks(records, 100):
            flags = {r["flag"] for r in chunk}
            kind = "mixed" if len(flags) == 2 else ("report" if 1 in flags else "mo")
            pushes.append({"kind": kind, "url": url, "body": chunk})
        return pushes

    def ack_ok(self, kind, status, answer):
        return status == 200 and answer.strip() == "OK"


def _size(value: Any, low: int, high: int, default: int = 1000) -> int:
    try:
        size = int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        size = default
    return min(max(size, low), high)
