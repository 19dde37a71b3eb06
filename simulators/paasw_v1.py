"""paasw_v1 simulator: document 000_7a67b7f28d852a7e.txt (paasw gateway HTTP API, v1).

Enforced as the document says:

* ``GET /api/token?appId=&secret=`` answers ``{"code":"10000","message":"操作成功","token":…,
  "expires_in":…}``. A token lives 7200 s and the same token is answered while it is valid;
  ``expire_tokens()`` plays the document's "reset secret": calls with an old token get the
  token error below, so a client must fetch a new token and retry.
* ``POST /sms/send`` (token, phoneNumbers, sign, content, kind) and ``POST /sms/sendTemplate``
  (token, phoneNumbers, paramJson, templateId, sign, content). phoneNumbers is an ASCII-comma
  list of at most 1000 numbers; ``sign`` must NOT contain 【】 and has at most 20 characters;
  content at most 1000 characters; kind is 1/2/3 and required when the account is configured
  for several kinds (option ``multi_kind``). Answer ``{"code":"10000","message":"操作成功",
  "bizId":"<20 digits>"}``; one bizId covers all numbers of the call.
* ``GET /sms/deliver`` (token, optional sign) and ``GET /sms/smsUp`` (token, sign required)
  answer a bare JSON array of records in the push formats; each record is handed out once.
* ``GET /sms/balance`` -> ``{"code":"10000","message":"请求成功","balance":100.0}`` (yuan).
* Pushes: a JSON array of reports (``phone_number, send_time, report_time, success, code,
  message, sms_size, biz_id``) and a JSON array of MO (``phone_number, send_time, content,
  sign, sequence_id``). The ack is ``{"code":10000,…}`` for reports and ``{"code":"10000",…}``
  for MO; a string or a number is accepted for both. The document says nothing about
  re-pushing: a refused push is retried ``push_retries`` (2) times.

The document's error list is "待更新" (to be updated), so the error codes below are this
simulator's own, written as strings like the document's ``"10000"``; every error answer is
``{"code": "<code>", "message": "<reason>"}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import (
    CN_MOBILE,
    BaseSimulator,
    SimRequest,
    answer_code,
    iter_chunks,
    json_reply,
    sms_segments,
    split_mobiles,
)

OK = "10000"
ERR_PARAM = "10001"  # missing/invalid field, malformed body
ERR_AUTH = "10002"  # appId or secret wrong
ERR_TOKEN = "10003"  # token invalid or expired: fetch a new one
ERR_TOO_MANY = "10004"  # more than 1000 numbers
ERR_MOBILE = "10005"  # a number is not an 11-digit mainland mobile

MAX_NUMBERS = 1000

#: report codes of the document: 10000 received; 1 submit failed, 4 failed, 5 blocked word,
#: 6 review rejected, 7 black/white list, 8 over frequency, 9 unknown
CODE_MESSAGES = {
    OK: "请求成功",
    "1": "提交失败",
    "4": "失败",
    "5": "屏蔽词",
    "6": "审核驳回",
    "7": "黑/白名单",
    "8": "超频",
    "9": "未知",
}


class PaaswV1Simulator(BaseSimulator):
    vendor = "paasw_v1"
    PARAM_ERROR = ERR_PARAM
    HAS_TOKENS = True
    DEFAULT_BALANCE = 100.0
    OUTCOME_CODES: ClassVar[dict[str, Any]] = {
        "delivered": OK,
        "undelivered": "4",
        "expired": "4",
        "rejected": "6",
        "blacklisted": "7",
        "unknown": "9",
    }
    ROUTES: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {
        "/api/token": (("GET",), "h_token"),
        "/sms/send": (("POST",), "h_send"),
        "/sms/sendTemplate": (("POST",), "h_send_template"),
        "/sms/deliver": (("GET",), "h_deliver"),
        "/sms/smsUp": (("GET",), "h_sms_up"),
        "/sms/balance": (("GET",), "h_balance"),
    }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._mo_sequence = 1234567890

    def reject(self, code, reason, http_status=200):
        return super().reject(str(code), reason, http_status)

    # ------------------------------------------------------------------ parameters & auth

    def _params(self, req: SimRequest) -> dict:
        """GET calls carry query parameters. The document gives no content type for the
        POST calls, so query, form and a JSON object body are all read (body wins)."""
        params = dict(req.query)
        if req.method == "POST":
            if req.is_json:
                if req.json_error:
                    raise self.reject(ERR_PARAM, req.json_error)
                if not isinstance(req.json, dict):
                    raise self.reject(ERR_PARAM, "JSON body must be an object of parameters")
                params.update({k: "" if v is None else str(v) for k, v in req.json.items()})
            else:
                params.update(req.form)
        return params

    def _require(self, params: dict, *names: str) -> None:
        missing = [n for n in names if not str(params.get(n) or "").strip()]
        if missing:
            raise self.reject(ERR_PARAM, f"missing required parameter(s): {', '.join(missing)}")

    def _check_token(self, params: dict) -> None:
        self._require(params, "token")
        with self._lock:
            valid = self.tokens.valid(params["token"])
        if not valid:
            raise self.reject(
                ERR_TOKEN, "token 无效或已过期 (token invalid or expired: fetch a new one from /api/token)"
            )

    # ------------------------------------------------------------------ handlers

    def h_token(self, req: SimRequest):
        params = self._params(req)
        self._require(params, "appId", "secret")
        if params["appId"] != self.credentials.get("app_id") or params["secret"] != self.credentials.get(
            "secret"
        ):
            raise self.reject(ERR_AUTH, "appId 或 secret 错误 (wrong appId or secret)")
        with self._lock:
            token, expires_in = self.tokens.issue()
        return json_reply({"code": OK, "message": "操作成功", "token": token, "expires_in": expires_in})

    def h_send(self, req: SimRequest):
        params = self._params(req)
        self._check_token(params)
        self._require(params, "phoneNumbers", "sign", "content")
        self._check_kind(params)
        return self._accept(params, params["content"])

    def h_send_template(self, req: SimRequest):
        params = self._params(req)
        self._check_token(params)
        self._require(params, "phoneNumbers", "paramJson", "templateId", "sign", "content")
        return self._accept(
            params, params["content"], template_id=params["templateId"], param_json=params["paramJson"]
        )

    def _check_kind(self, params: dict) -> None:
        kind = str(params.get("kind") or "").strip()
        if not kind and self.options.get("multi_kind"):
            raise self.reject(
                ERR_PARAM,
                "kind is required: this account is configured for several "
                "message kinds (1 验证码, 2 普通短信, 3 营销短信)",
            )
        if kind and kind not in ("1", "2", "3"):
            raise self.reject(ERR_PARAM, f"kind must be 1, 2 or 3, not {kind!r}")

    def _accept(self, params: dict, content: str, **extra: Any):
        sign = params["sign"]
        if "【" in sign or "】" in sign:
            raise self.reject(ERR_PARAM, f"sign must not contain 【】: {sign!r}")
        if len(sign) > 20:
            raise self.reject(ERR_PARAM, f"sign longer than 20 characters ({len(sign)})")
        if len(content) > 1000:
            raise self.reject(ERR_PARAM, f"content longer than 1000 characters ({len(content)})")
        mobiles = split_mobiles(params["phoneNumbers"])
        if len(mobiles) > MAX_NUMBERS:
            raise self.reject(
                ERR_TOO_MANY, f"phoneNumbers has {len(mobiles)} numbers; at most {MAX_NUMBERS} per call"
            )
        bad = [m for m in mobiles if not CN_MOBILE.match(m)]
        if bad:
            raise self.reject(
                ERR_MOBILE, f"not a mainland mobile number (ASCII-comma separated, 11 digits): {bad[:5]}"
            )
        for mobile in mobiles:
            code = self.submit_result_for(mobile)
            if code is not None and str(code) != OK:
                raise self.reject(code, f"submit rejected for {mobile} (simulator rule)")
        biz_id = self._new_biz_id()
        for mobile in mobiles:
            self.new_message(biz_id, mobile, content, sign=sign, kind=params.get("kind"), **extra)
        with self._lock:
            self.sign = self.sign or sign
        return json_reply({"code": OK, "message": "操作成功", "bizId": biz_id})

    def h_deliver(self, req: SimRequest):
        params = self._params(req)
        self._check_token(params)
        sign = params.get("sign")
        reports = self.take_reports(predicate=(lambda m: m.get("sign") == sign) if sign else None)
        return json_reply([self._report_record(m) for m in reports])

    def h_sms_up(self, req: SimRequest):
        params = self._params(req)
        self._check_token(params)
        self._require(params, "sign")
        sign = params["sign"]
        mos = self.take_mos(predicate=lambda mo: mo["sign"] in ("", sign))
        return json_reply([self._mo_record(mo) for mo in mos])

    def h_balance(self, req: SimRequest):
        params = self._params(req)
        self._check_token(params)
        return json_reply({"code": OK, "message": "请求成功", "balance": self.balance})

    # ------------------------------------------------------------------ reports & MO

    def _new_biz_id(self) -> str:
        # 20 digits like the document's "39036632588910887018"
        return f"{int(self.now() * 1000):013d}{next(self._ids) % 10**7:07d}"

    def queue_mo(self, mobile, content, ext_no=None, delay=0.0, sign=None, **extra):
        # an MO carries the account's sign, else the sign of the first send
        return super().queue_mo(
            mobile, content, ext_no=ext_no, delay=delay, sign=sign or self.sign or "", **extra
        )

    def new_mo_id(self) -> str:
        with self._lock:
            self._mo_sequence += 1
            return str(self._mo_sequence)

    def _report_record(self, msg: dict) -> dict:
        code = str(msg["code"])
        return {
            "phone_number": msg["mobile"],
            "send_time": self.fmt_time(msg["submitted_at"]),
            "report_time": self.fmt_time(msg["reported_at"]),
            "success": code == OK,
            "code": code,
            "message": CODE_MESSAGES.get(code, "失败"),
            "sms_size": str(sms_segments(msg["content"])),
            "biz_id": msg["id"],
        }

    def _mo_record(self, mo: dict) -> dict:
        return {
            "phone_number": mo["mobile"],
            "send_time": self.fmt_time(mo["received_at"]),
            "content": mo["content"],
            "sign": mo["sign"],
            "sequence_id": int(mo["id"]),
        }

    def report_push_bodies(self, reports):
        return [[self._report_record(m) for m in chunk] for chunk in iter_chunks(reports, 100)]

    def mo_push_bodies(self, mos):
        return [[self._mo_record(mo) for mo in chunk] for chunk in iter_chunks(mos, 100)]

    def ack_ok(self, kind, status, answer):
        # reports are acked with {"code":10000}, MO with {"code":"10000"}: accept either form
        return status == 200 and answer_code(answer) in (10000, "10000")
