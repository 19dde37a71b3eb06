"""paasw_v2 simulator: document 001_61f7708193d5d38a.txt (paasw gateway HTTP API v2.0).

Enforced as the document says:

* Every call is a POST. The ``/message/...`` endpoints take a JSON body, the ``/msg/...``
  endpoints an ``application/x-www-form-urlencoded`` form; the other content type is refused.
  Token: ``/message/token`` (JSON) or ``/message/tokenApi`` (form) with appId + secret ->
  ``{"code":0,"message":"请求成功","data":{"expires_in":…,"token":…}}``. A token lives 7200 s,
  the same token is answered while valid; ``expire_tokens()`` plays a reset secret.
* Send: ``/message/send`` (JSON), ``/msg/send`` (form); template: ``/message/sendTemplate``
  (JSON), ``/msg/sendTemplate`` (form). ``mobile`` is an ASCII-comma list of at most 1000
  numbers; ``msg`` carries its 【sign】; ``productId`` 1/2/3 is required; ``extNo`` digits;
  ``time`` empty or ``yyyy-MM-dd HH:mm:ss`` China time (the report comes only after it).
* The send answer is ``{"code":0,"message":"请求成功","data":{"batchId":<number>}}`` where
  batchId is a 20-digit JSON NUMBER, beyond 64 bits like the document's 39036632588910887018;
  reports carry the same batchId as a STRING.
* ``/message/deliver`` and ``/message/mo`` (JSON) answer ``{"code":0,"message":…,"count":n,
  "data":[…]}``, each record handed out once; ``/message/balance`` (JSON) and ``/msg/balance``
  (form) answer ``{"code":0,"message":…,"data":{"balance":…}}`` (yuan).
* Pushes: ``{"count":n,"data":[…]}`` for reports (mobile, chnRptDate, chnRptCode, batchId) and
  for MO (mobile, extNo, content, replyDate). The document asks no ack body: HTTP 200 is
  accepted. It says nothing about re-pushing: a refused push is retried ``push_retries`` (2)
  times.
* Report codes: ``DELIVRD`` is the only success; failures are carrier codes such as ``DB:0141``.

The document lists no error codes ("0为成功，其它为错误码"); the non-zero integer codes below are
this simulator's own. Every error answer is ``{"code": <int>, "message": "<reason>", "data": null}``.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from .base import (
    CN_MOBILE,
    BaseSimulator,
    SimRequest,
    VendorError,
    as_int_code,
    iter_chunks,
    json_reply,
    split_mobiles,
)

OK = 0
ERR_PARAM = 10001  # missing/invalid field
ERR_AUTH = 10002  # appId or secret wrong
ERR_TOKEN = 10003  # token invalid or expired: fetch a new one
ERR_TOO_MANY = 10004  # more than 1000 numbers
ERR_FORMAT = 10005  # wrong content type or malformed body
ERR_TIME = 10006  # time not yyyy-MM-dd HH:mm:ss
ERR_MOBILE = 10007  # a number is not an 11-digit mainland mobile

MAX_NUMBERS = 1000
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SIGN_IN_MSG = re.compile(r"【[^【】]+】")


class PaaswV2Simulator(BaseSimulator):
    vendor = "paasw_v2"
    PARAM_ERROR = ERR_PARAM
    HAS_TOKENS = True
    DEFAULT_BALANCE = 532.0
    OUTCOME_CODES: ClassVar[dict[str, Any]] = {
        "delivered": "DELIVRD",
        "undelivered": "DB:0141",
        "blacklisted": "DB:0141",
        "expired": "EXPIRED",
        "rejected": "REJECTD",
        "unknown": "UNKNOWN",
    }
    # path -> (methods, handler); the content type each path demands is in BODY_TYPE
    ROUTES: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {
        "/message/token": (("POST",), "h_token"),
        "/message/tokenApi": (("POST",), "h_token"),
        "/message/send": (("POST",), "h_send"),
        "/msg/send": (("POST",), "h_send"),
        "/message/sendTemplate": (("POST",), "h_send_template"),
        "/msg/sendTemplate": (("POST",), "h_send_template"),
        "/message/deliver": (("POST",), "h_deliver"),
        "/message/mo": (("POST",), "h_mo"),
        "/message/balance": (("POST",), "h_balance"),
        "/msg/balance": (("POST",), "h_balance"),
    }
    FORM_PATHS: ClassVar[set[str]] = {"/message/tokenApi", "/msg/send", "/msg/sendTemplate", "/msg/balance"}

    def reject(self, code, reason, http_status=200):
        return VendorError(
            json_reply({"code": as_int_code(code), "message": reason, "data": None}, http_status), reason
        )

    # ------------------------------------------------------------------ parameters & auth

    def _params(self, req: SimRequest) -> dict:
        """Body parameters in the content type this path demands."""
        if req.path in self.FORM_PATHS:
            if not req.is_form:
                raise self.reject(
                    ERR_FORMAT,
                    f"{req.path} takes a form (application/x-www-form-"
                    f"urlencoded), not {req.media_type or 'no content type'}",
                )
            return dict(req.form)
        if not req.is_json:
            raise self.reject(
                ERR_FORMAT,
                f"{req.path} takes a JSON body (application/json), not {req.media_type or 'no content type'}",
            )
        if req.json_error:
            raise self.reject(ERR_FORMAT, req.json_error)
        if not isinstance(req.json, dict):
            raise self.reject(ERR_FORMAT, "JSON body must be an object")
        return dict(req.json)

    def _text(self, params: dict, name: str) -> str:
        value = params.get(name)
        if value is None:
            return ""
        if isinstance(value, (dict, list)):
            raise self.reject(ERR_PARAM, f"{name} must be a string")
        return str(value).strip()

    def _require(self, params: dict, *names: str) -> None:
        missing = [
            n
            for n in names
            if params.get(n) in (None, "") or (isinstance(params.get(n), str) and not params[n].strip())
        ]
        if missing:
            raise self.reject(ERR_PARAM, f"missing required parameter(s): {', '.join(missing)}")

    def _check_token(self, params: dict) -> None:
        self._require(params, "token")
        with self._lock:
            valid = self.tokens.valid(self._text(params, "token"))
        if not valid:
            raise self.reject(
                ERR_TOKEN,
                "token 无效或已过期 (token invalid or expired: fetch a new one from /message/token)",
            )

    # ------------------------------------------------------------------ handlers

    def h_token(self, req: SimRequest):
        params = self._params(req)
        self._require(params, "appId", "secret")
        if self._text(params, "appId") != self.credentials.get("app_id") or self._text(
            params, "secret"
        ) != self.credentials.get("secret"):
            raise self.reject(ERR_AUTH, "appId 或 secret 错误 (wrong appId or secret)")
        with self._lock:
            token, expires_in = self.tokens.issue()
        return json_reply(
            {"code": OK, "message": "请求成功", "data": {"expires_in": expires_in, "token": token}}
        )

    def h_send(self, req: SimRequest):
        params = self._params(req)
        self._check_token(params)
        self._require(params, "mobile", "msg", "productId")
        msg = self._text(params, "msg")
        if not SIGN_IN_MSG.search(msg):
            raise self.reject(ERR_PARAM, "msg must carry its sign as 【签名】")
        return self._accept(params, msg)

    def h_send_template(self, req: SimRequest):
        params = self._params(req)
        self._check_token(params)
        self._require(params, "mobile", "templateId", "params", "productId")
        values = params["params"]
        if isinstance(values, str):  # the form variant (or a JSON string) carries JSON text
            try:
                values = json.loads(values)
            except ValueError:
                raise self.reject(ERR_PARAM, "params must be JSON (an object or array of values)") from None
        if not isinstance(values, (dict, list)):
            raise self.reject(ERR_PARAM, "params must be a JSON object or array")
        template_id = self._text(params, "templateId")
        content = f"template {template_id} {json.dumps(values, ensure_ascii=False)}"
        return self._accept(params, content, template_id=template_id, template_params=values)

    def _accept(self, params: dict, content: str, **extra: Any):
        product = self._text(params, "productId")
        if product not in ("1", "2", "3"):
            raise self.reject(ERR_PARAM, f"productId must be 1, 2 or 3, not {product!r}")
        ext_no = self._text(params, "extNo")
        if ext_no and not ext_no.isdigit():
            raise self.reject(ERR_PARAM, f"extNo must be digits, not {ext_no!r}")
        send_time = self._text(params, "time")
        scheduled = None
        if send_time:
            try:
                scheduled = self.parse_time(send_time, TIME_FORMAT)
            except ValueError:
                raise self.reject(ERR_TIME, f"time must be yyyy-MM-dd HH:mm:ss, not {send_time!r}") from None
        mobiles = split_mobiles(self._text(params, "mobile"))
        if len(mobiles) > MAX_NUMBERS:
            raise self.reject(
                ERR_TOO_MANY, f"mobile has {len(mobiles)} numbers; at most {MAX_NUMBERS} per call"
            )
        bad = [m for m in mobiles if not CN_MOBILE.match(m)]
        if bad:
            raise self.reject(
                ERR_MOBILE, f"not a mainland mobile number (ASCII-comma separated, 11 digits): {bad[:5]}"
            )
        for mobile in mobiles:
            code = self.submit_result_for(mobile)
            if code is not None and str(code) != str(OK):
                raise self.reject(code, f"submit rejected for {mobile} (simulator rule)")
        batch_id = self._new_batch_id()
        for mobile in mobiles:
            self.new_message(
                batch_id,
                mobile,
                content,
                scheduled=scheduled,
                scheduled_text=send_time or None,
                ext_no=ext_no,
                product_id=product,
                **extra,
            )
        return json_reply({"code": OK, "message": "请求成功", "data": {"batchId": batch_id}})

    def h_deliver(self, req: SimRequest):
        self._check_token(self._params(req))
        data = [self._report_record(m) for m in self.take_reports()]
        return json_reply({"code": OK, "message": "请求成功", "count": len(data), "data": data})

    def h_mo(self, req: SimRequest):
        self._check_token(self._params(req))
        data = [self._mo_record(mo) for mo in self.take_mos()]
        return json_reply({"code": OK, "message": "请求成功", "count": len(data), "data": data})

    def h_balance(self, req: SimRequest):
        self._check_token(self._params(req))
        return json_reply({"code": OK, "message": "请求成功", "data": {"balance": self.balance}})

    # ------------------------------------------------------------------ reports & MO

    def _new_batch_id(self) -> int:
        # "3" + 13-digit milliseconds + 6-digit counter: 20 digits, always above 2**64
        return int(f"3{int(self.now() * 1000):013d}{next(self._ids) % 10**6:06d}")

    def _report_record(self, msg: dict) -> dict:
        return {
            "mobile": msg["mobile"],
            "chnRptDate": self.fmt_time(msg["reported_at"]),
            "chnRptCode": str(msg["code"]),
            "batchId": msg["id"],
        }

    def _mo_record(self, mo: dict) -> dict:
        return {
            "mobile": mo["mobile"],
            "extNo": mo["ext_no"],
            "content": mo["content"],
            "replyDate": self.fmt_time(mo["received_at"]),
        }

    def report_push_bodies(self, reports):
        return [
            {"count": len(chunk), "data": [self._report_record(m) for m in chunk]}
            for chunk in iter_chunks(reports, 100)
        ]

    def mo_push_bodies(self, mos):
        return [
            {"count": len(chunk), "data": [self._mo_record(mo) for mo in chunk]}
            for chunk in iter_chunks(mos, 100)
        ]
