"""action_v1 simulator: document 004_cb8a16e64a688ed7.txt (``/sms?action=…`` gateway).

Every rule below cites its line of document 004 (``004 L<n>``) next to the code:

* One path, ``/sms`` (L5), GET or POST (L1, L7); parameters URL-encoded (L9) in the query or a
  form body; ``action`` picks the call (send L17, p2p, balance, report L249, mo) and ``rt=json``
  (L40-L42) is required (this simulator speaks only the documented JSON answers).
* Auth: ``account`` + ``password``, plain or MD5 (L24-L26, L108-L112, L205-L208): an account
  setting (option ``md5_password``); only the configured form is accepted: send
  ``MD5(password+extno+content+mobile)`` (L26), p2p ``MD5(password+extno+mobileContentList)``
  with the list's line breaks removed (L111-L112), the other actions ``MD5(password)`` (L208).
  The document gives no hex case: both are accepted. A wrong account/password: STATUS 3 (L521).
* send: ``mobile`` is a comma list of at most 500 numbers (L30; more: STATUS 102, L542).
  p2p: ``mobileContentList`` lines ``mobile#content`` separated by line breaks (L116-L121; the
  example L133 uses %0d).
* Answers per recipient (L47-L61, L174-L181): ``{"status":"0","balance":<厘>,"list":[{"mid",
  "mobile","result"}]}`` with ``result`` 0 or a RESULT code (L549-L564): 10 extno wrong (L555),
  15 balance too low (pre-paid, L558), 17 sign invalid (L561; only from ``set_submit_result``).
  One call can partly succeed. A malformed number is accepted and fails in its report with
  MA:0021 号码格式错误 (L617-L618).
* balance (L185-L230): ``{"status":0,"balance":<厘>,"chargeType":…}`` (status a number here, as
  in L218); POSTCHARGE accounts have a negative balance by design (L218, L230, L683).
* report / mo pulls (L234-L445) are destructive and honour ``size`` (report: default 1000,
  10..10000, L262; mo: default 1000, 10..1000, L369, the typo ``szie`` L367 is read too;
  out-of-range sizes are clamped). Records carry ``flag`` 1 (report) or 0 (MO) (L318, L427).
* Push (L451-L509): ONE address for both kinds, a JSON array mixing flag 0 (MO) and flag 1
  (report) records; the ack is the plain text ``OK`` (L507-L509).

Errors answer ``{"status": "<STATUS code>", "message": "<reason>"}`` with the STATUS table
(L510-L545). The readings (``READINGS``; simulators/READINGS.md): the STATUS 102 threshold, the
p2p row break and a row that is not ``mobile#content``, the account's charge type, re-pushes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from .base import (
    CN_MOBILE,
    REPUSH_SILENT,
    BaseSimulator,
    Reading,
    Reply,
    SimRequest,
    VendorError,
    iter_chunks,
    json_reply,
    md5_hex,
    reading,
    sms_segments,
    split_mobiles,
)

STATUS_OK = "0"  # 004 L544-L545
STATUS_FORMAT = "1"  # 004 L514-L515 消息包格式错误
STATUS_AUTH = "3"  # 004 L520-L521 账号密码不正确
STATUS_TOO_MANY = "102"  # 004 L541-L542 单次提交的号码数过多（建议200以内）

RESULT_OK = 0  # 004 L563-L564
RESULT_EXTNO = 10  # 004 L554-L555 原发号码错误，即extno错误
RESULT_BALANCE = 15  # 004 L557-L558 余额不足 (17 账号签名无效 comes only from set_submit_result)

MAX_NUMBERS = 500  # 004 L30 "最多500个号码"
ACTIONS = ("send", "p2p", "balance", "report", "mo")
#: the row breaks of the reading p2p_row_break (004 L117 "用换行分割"; the example L133 uses %0d)
ROW_BREAKS = {"any": re.compile(r"\r\n|\r|\n"), "cr": re.compile(r"\r\n|\r"), "lf": re.compile(r"\r?\n")}
POSTPAID_BALANCE = -153278040  # 004 L218, the document's post-paid example


class _ActionV1Records(BaseSimulator):
    """Balance, pulls, record formats and pushes of action_v1 (004); the vendor class holds the sends."""

    def _authenticate(self, params: dict[str, Any], signed: str, numeric: bool = False) -> None:
        raise NotImplementedError  # ActionV1Simulator: it checks the password of every action

    @property
    def charge_type(self) -> str:
        return self.balance_details["charge_type"] or self.reading("charge_type")

    @property
    def extno(self) -> str:
        return str(self.options.get("extno") or "")

    def _balance(self, params: dict[str, Any]) -> Reply:
        self._authenticate(params, "", numeric=True)
        with self._lock:  # 004 L218: status a number here
            return json_reply({"status": 0, "balance": self.balance, "chargeType": self.charge_type})

    def _report(self, params: dict[str, Any]) -> Reply:
        self._authenticate(params, "")
        size = _size(params.get("size"), 10, 10000)  # 004 L262
        records = self.with_bad_record(
            "report", [self._report_record(m) for m in self.take_reports(limit=size)]
        )
        with self._lock:  # 004 L273-L303
            return json_reply({"status": STATUS_OK, "balance": self.balance, "list": records})

    def _mo(self, params: dict[str, Any]) -> Reply:
        self._authenticate(params, "")
        size = _size(params.get("size") or params.get("szie"), 10, 1000)  # 004 L367-L369, L377
        records = self.with_bad_record("mo", [self._mo_record(mo) for mo in self.take_mos(limit=size)])
        with self._lock:  # 004 L382-L412
            return json_reply({"status": STATUS_OK, "balance": self.balance, "list": records})

    # ------------------------------------------------------------------ records & pushes

    def _new_mid(self) -> str:
        # 16 upper-case hex digits like "4C2CA88382720003"
        return f"{int(self.now()) & 0xFFFFFFFF:08X}{next(self._ids) & 0xFFFFFFFF:08X}"

    def new_mo_id(self) -> str:
        return self._new_mid()

    def _report_record(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {  # 004 L277-L285, L466-L474
            "flag": 1,
            "mid": msg["id"],
            "spid": self.credentials.get("account", ""),
            "accessCode": msg.get("access_code", self.extno),
            "mobile": msg["mobile"],
            "stat": str(msg["code"]),
            "time": self.fmt_time(msg["reported_at"]),
        }

    def _mo_record(self, mo: dict[str, Any]) -> dict[str, Any]:
        return {  # 004 L386-L394, L457-L465
            "flag": 0,
            "mid": mo["id"],
            "spid": self.credentials.get("account", ""),
            "accessCode": mo["ext_no"] or self.extno,
            "mobile": mo["mobile"],
            "content": mo["content"],
            "time": self.fmt_time(mo["received_at"]),
        }

    def push_targets(self) -> tuple[str | None, str | None]:
        # The vendor has a single push address for reports and MO (004 L452-L454).
        if self.delivery != "push":
            return None, None
        url = self.push_report_url or self.push_mo_url
        return url, url

    def build_pushes(self, reports: list[dict[str, Any]], mos: list[dict[str, Any]]) -> list[dict[str, Any]]:
        records = [self._mo_record(mo) for mo in mos] + [self._report_record(m) for m in reports]
        url = self.push_report_url or self.push_mo_url
        pushes = []
        for chunk in iter_chunks(records, 100):
            flags = {r["flag"] for r in chunk}
            kind = "mixed" if len(flags) == 2 else ("report" if 1 in flags else "mo")
            pushes.append({"kind": kind, "url": url, "body": chunk})
        return pushes

    def ack_ok(self, kind: str, status: int | None, answer: str) -> bool:  # 004 L507-L509: 响应文本OK
        return status == 200 and answer.strip() == "OK"


class ActionV1Simulator(_ActionV1Records):
    vendor = "action_v1"
    PARAM_ERROR = STATUS_FORMAT
    DEFAULT_BALANCE = 1_000_000  # 厘 (004 L65) = 1000 yuan
    #: charge_type PRECHARGE/POSTCHARGE (None: the reading charge_type); price in 厘 per SMS
    #: segment (0 = free)
    DEFAULT_BALANCE_DETAILS: ClassVar[dict[str, Any]] = {"charge_type": None, "price": 0}
    READINGS: ClassVar[dict[str, Reading]] = {
        "status_102_above": Reading(
            ("500", "200"),
            "500",
            "004 L30 '最多500个号码' vs L542 STATUS 102 '单次提交的号码数过多（建议200以内）'",
            "the number of numbers in one call above which STATUS 102 answers",
        ),
        "p2p_row_break": Reading(
            ("any", "cr", "lf"),
            "any",
            "004 L117 '多个号码之间用换行分割' vs the example L133 (%0d, CR)",
            "what ends a mobileContentList row: CR, LF or CRLF; only CR (CRLF); only LF (CRLF)",
        ),
        "p2p_bad_row": Reading(
            ("reject_call", "skip_row"),
            "reject_call",
            "004 L116-L121: a row is Mobile#Content; silent on a row that is not (a break inside a text)",
            "a row that is not mobile#content refuses the call with STATUS 1, or is skipped",
        ),
        "charge_type": Reading(
            ("PRECHARGE", "POSTCHARGE"),
            "PRECHARGE",
            "004 L218, L230 (chargeType), L683 (post-paid accounts are never short of balance)",
            "the account is pre-paid (RESULT 15 when the balance is short), or post-paid with a "
            "negative balance by design (-153278040 厘 as in L218, unless set_balance says otherwise)",
        ),
        "repush": reading("004 L451-L509", REPUSH_SILENT),
    }
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

    def reject(self, code: Any, reason: str, http_status: int = 200, numeric: bool = False) -> VendorError:
        status = int(code) if numeric else str(code)
        return VendorError(json_reply({"status": status, "message": reason}, http_status), reason)

    def set_balance(self, balance: Any, **details: Any) -> None:
        if "charge_type" not in details and isinstance(balance, (int, float)) and balance < 0:
            details["charge_type"] = "POSTCHARGE"  # a negative balance is a post-paid account (L218)
        super().set_balance(balance, **details)
        self._balance_set = True

    def set_readings(self, readings: dict[str, Any]) -> None:
        super().set_readings(readings)
        if "charge_type" in readings and not getattr(self, "_balance_set", False):
            # a post-paid account by the reading starts from the document's negative balance
            with self._lock:
                post = self.reading("charge_type") == "POSTCHARGE"
                self.balance = POSTPAID_BALANCE if post else self.DEFAULT_BALANCE

    # ------------------------------------------------------------------ routing & auth

    def _params(self, req: SimRequest) -> dict[str, Any]:
        # 004 L1, L7, L9: URL-encoded parameters, GET or POST; a form body wins over the query.
        return {**req.query, **req.form}

    def endpoint_key(self, req: SimRequest) -> str:
        action = self._params(req).get("action", "")
        return f"/sms?action={action}" if action else "/sms"

    def h_sms(self, req: SimRequest) -> Reply:
        params = self._params(req)
        action = params.get("action", "")
        numeric = action == "balance"
        if action not in ACTIONS:  # 004 L17, L102, L199, L249, L356
            raise self.reject(STATUS_FORMAT, f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if params.get("rt", "").lower() != "json":  # 004 L40-L42
            raise self.reject(
                STATUS_FORMAT,
                "rt=json is required (the JSON answers are the ones documented)",
                numeric=numeric,
            )
        handler: Callable[[dict[str, Any]], Reply] = getattr(self, f"_{action}")
        return handler(params)

    def _authenticate(self, params: dict[str, Any], signed: str, numeric: bool = False) -> None:
        """``signed`` is what follows the password inside the MD5 for this action."""
        account, password = params.get("account", ""), params.get("password", "")
        if not account or not password:  # 004 L19-L26
            raise self.reject(
                STATUS_FORMAT,
                "account and password are required (URL-encoded, in the query or a form body)",
                numeric=numeric,
            )
        secret = self.credentials.get("password", "")
        if self.options.get("md5_password"):  # 004 L26, L111, L208
            ok = password.lower() == md5_hex(secret + signed)
            how = "MD5(password" + ("+…" if signed else "") + ")"
        else:
            ok = password == secret
            how = "the plain password"
        if account != self.credentials.get("account") or not ok:  # STATUS 3, 004 L521
            raise self.reject(
                STATUS_AUTH,
                f"账号密码不正确 (account or password wrong; this account expects {how})",
                numeric=numeric,
            )

    # ------------------------------------------------------------------ actions

    def _send(self, params: dict[str, Any]) -> Reply:
        extno, content, mobile = params.get("extno", ""), params.get("content", ""), params.get("mobile", "")
        self._authenticate(params, extno + content + mobile)
        if not mobile.strip() or not content:
            raise self.reject(STATUS_FORMAT, "mobile and content are required")  # 004 L28-L34
        mobiles = split_mobiles(mobile)  # 004 L30 "用半角逗号隔开"
        self._check_count(len(mobiles))
        return self._submit([(m, content) for m in mobiles], extno)

    def _check_count(self, count: int) -> None:
        # 004 L30 at most 500; L542 STATUS 102 "建议200以内": where 102 starts is the reading
        limit = MAX_NUMBERS if self.reading("status_102_above") == "500" else 200
        if count > limit:
            raise self.reject(STATUS_TOO_MANY, f"单次提交的号码数过多: {count}, at most {limit}")

    def _p2p(self, params: dict[str, Any]) -> Reply:
        extno, listing = params.get("extno", ""), params.get("mobileContentList", "")
        # 004 L111-L112: the MD5 covers the list with its line breaks removed
        self._authenticate(params, extno + listing.replace("\r", "").replace("\n", ""))
        rows = [row for row in ROW_BREAKS[self.reading("p2p_row_break")].split(listing) if row.strip()]
        if not rows:
            raise self.reject(
                STATUS_FORMAT, "mobileContentList is required (mobile#content lines)"
            )  # 004 L114-L121
        pairs = []
        for row in rows:  # 004 L116 号码内容格式为：Mobile#Content
            mobile, sep, content = row.partition("#")
            if sep and mobile.strip() and content:
                pairs.append((mobile.strip(), content))
            elif self.reading("p2p_bad_row") == "reject_call":
                raise self.reject(
                    STATUS_FORMAT,
                    f"消息包格式错误: a row is not mobile#content ({len(row)} chars)",
                )
        self._check_count(len(pairs))
        return self._submit(pairs, extno)

    def _submit(self, pairs: list[tuple[str, str]], extno: str) -> Reply:
        # 004 L36-L38, L665: extno is the access code 106XXXXXX; more digits may extend the
        # account's code, never change it (RESULT 10, L555)
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
                    elif self.charge_type == "PRECHARGE" and self.balance < cost:  # RESULT 15, L558, L683
                        result = RESULT_BALANCE
                    else:
                        result = RESULT_OK
                        self.balance -= cost
            result = int(result)
            if result == RESULT_OK:
                # a malformed number is accepted and fails in its report (MA:0021 号码格式错误, L617)
                outcome = None if CN_MOBILE.match(mobile) else "MA:0021"
                self.new_message(mid, mobile, content, outcome=outcome, access_code=access_code)
            else:
                self.record_rejected(mid, mobile, content, result, access_code=access_code)
            listing.append({"mid": mid, "mobile": mobile, "result": result})
        with self._lock:  # 004 L47-L61
            return json_reply({"status": STATUS_OK, "balance": self.balance, "list": listing})


def _size(value: Any, low: int, high: int, default: int = 1000) -> int:
    try:
        size = int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        size = default
    return min(max(size, low), high)
