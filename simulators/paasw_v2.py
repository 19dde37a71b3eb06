"""paasw_v2 simulator: document 001_61f7708193d5d38a.txt (paasw gateway HTTP API v2.0).

Every rule below cites its line of document 001 (``001 L<n>``) next to the code:

* Every call is a POST. The ``/message/...`` endpoints take a JSON body (L5, L94), the
  ``/msg/...`` endpoints an ``application/x-www-form-urlencoded`` form (L53, L147); the other
  content type is refused. Token: ``/message/token`` (L6) or ``/message/tokenApi`` (L54) with
  appId + secret (L11-L12) -> ``{"code":0,"message":"请求成功","data":{"expires_in":…,"token":…}}``
  (L41-L48). A token lives 7200 s and the same token is answered while valid (L36);
  ``expire_tokens()`` plays the reset secret of L37.
* Send: ``/message/send`` (L95), ``/msg/send`` (L148); template: ``/message/sendTemplate``
  (L188), ``/msg/sendTemplate`` (L245). Fields L100-L105 and L193-L199.
* The send answer carries ``data.batchId``, typed Long (L132) with a 20-digit example beyond
  64 bits (39036632588910887018): a JSON number here; reports carry it as a string like the
  examples (L329) or a number like the type (L312), by the reading ``report_batch_id``.
* ``/message/deliver`` (L286) and ``/message/mo`` (L345) answer ``{"code":0,"message":…,"count":n,
  "data":[…]}`` (L320-L338, L379-L396); ``/message/balance`` (L403) and ``/msg/balance`` (L445)
  answer ``data.balance`` (L428, yuan).
* Pushes: ``{"count":n,"data":[…]}`` for reports (L485-L518) and for MO (L529-L561). The
  document asks no ack body: HTTP 200 is accepted.
* Report codes: ``DELIVRD`` is the only success; failures are carrier codes such as ``DB:0141``
  (L315).

"0为成功，其它为错误码" (L25) is all the document says about errors: it names no code. So every
refusal answers ONE code, ``UNDOCUMENTED_ERROR``, with a Chinese reason that never says
"token". The stale-token answer, re-pushes, one bad number in a call and the type of template
``params`` are readings (``READINGS``; see simulators/READINGS.md).
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from .base import (
    BAD_NUMBER,
    CN_MOBILE,
    PULL_HANDOUT,
    REPUSH_SILENT,
    BaseSimulator,
    Reading,
    Reply,
    SimRequest,
    VendorError,
    as_int_code,
    iter_chunks,
    json_reply,
    reading,
    split_mobiles,
    text_reply,
)

OK = 0  # 001 L25 "0为成功"
#: the one code of every refusal: the document names none (001 L25 "其它为错误码")
UNDOCUMENTED_ERROR = 99999

MAX_NUMBERS = 1000  # 001 L101, L154, L194, L251 "最多1000"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # 001 L105
SIGN_IN_MSG = re.compile(r"【[^【】]+】")  # 001 L102 "包含【XX】签名", example L113
#: the report code of a number refused inside an accepted call (reading bad_number=per_number);
#: L315 gives only carrier codes such as DB:0141, so this one is the CMPP "rejected" word
BAD_NUMBER_CODE = "REJECTD"

#: stale-token answers (reading stale_token): 001 L37 asks for a re-fetch but gives no code
STALE_TOKEN_ANSWERS: dict[str, tuple[int, Any]] = {
    "code_10020": (200, {"code": 10020, "message": "令牌已失效", "data": None}),
    "generic": (200, {"code": UNDOCUMENTED_ERROR, "message": "请求失败", "data": None}),
    "http_401": (401, "Unauthorized"),
    "http_403": (403, "Forbidden"),
}


class _PaaswV2Records(BaseSimulator):
    """Pulls, balance, report and MO records and pushes of paasw_v2 (001)."""

    # PaaswV2Simulator: how each path's parameters are read and its token checked
    def _params(self, req: SimRequest) -> dict[str, Any]:
        raise NotImplementedError

    def _check_token(self, params: dict[str, Any]) -> None:
        raise NotImplementedError

    def h_deliver(self, req: SimRequest) -> Reply:
        self._check_token(self._params(req))
        data = self.with_bad_record("report", [self._report_record(m) for m in self.take_reports()])
        return json_reply({"code": OK, "message": "请求成功", "count": len(data), "data": data})

    def h_mo(self, req: SimRequest) -> Reply:
        self._check_token(self._params(req))
        data = self.with_bad_record("mo", [self._mo_record(mo) for mo in self.take_mos()])
        return json_reply({"code": OK, "message": "请求成功", "count": len(data), "data": data})

    def h_balance(self, req: SimRequest) -> Reply:
        self._check_token(self._params(req))
        return json_reply({"code": OK, "message": "请求成功", "data": {"balance": self.balance}})

    # ------------------------------------------------------------------ reports & MO

    def _new_batch_id(self) -> int:
        # "3" + 13-digit milliseconds + 6-digit counter: 20 digits, always above 2**64
        return int(f"3{int(self.now() * 1000):013d}{next(self._ids) % 10**6:06d}")

    def _report_record(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {
            "mobile": msg["mobile"],
            "chnRptDate": self.fmt_time(msg["reported_at"]),
            "chnRptCode": str(msg["code"]),
            # 001 L312 Long vs the example L329 string: the reading report_batch_id
            "batchId": int(msg["id"]) if self.reading("report_batch_id") == "number" else msg["id"],
        }

    def _mo_record(self, mo: dict[str, Any]) -> dict[str, Any]:
        return {
            "mobile": mo["mobile"],
            "extNo": mo["ext_no"],
            "content": mo["content"],
            "replyDate": self.fmt_time(mo["received_at"]),
        }

    def report_push_bodies(self, reports: list[dict[str, Any]]) -> list[Any]:
        return [
            {"count": len(chunk), "data": [self._report_record(m) for m in chunk]}
            for chunk in iter_chunks(reports, 100)
        ]

    def mo_push_bodies(self, mos: list[dict[str, Any]]) -> list[Any]:
        return [
            {"count": len(chunk), "data": [self._mo_record(mo) for mo in chunk]}
            for chunk in iter_chunks(mos, 100)
        ]


class PaaswV2Simulator(_PaaswV2Records):
    vendor = "paasw_v2"
    PARAM_ERROR = UNDOCUMENTED_ERROR
    HAS_TOKENS = True
    READINGS: ClassVar[dict[str, Reading]] = {
        "stale_token": Reading(
            tuple(STALE_TOKEN_ANSWERS),
            "code_10020",
            "001 L37, L78 (re-fetch a reset token), L25 (no code named)",
            "the answer to a call with a reset or expired token",
        ),
        "template_params": Reading(
            ("either", "string", "object"),
            "either",
            "001 L196 params typed String 'JsonArray' vs the example L207-L210 (an object)",
            "what /message/sendTemplate accepts as params: a JSON string or an object, only a "
            "string (JSON text), or only an object",
        ),
        "report_batch_id": Reading(
            ("string", "number"),
            "string",
            "001 L312, L494 batchId typed Long vs the examples L329, L335, L509, L515 (strings)",
            "the batchId of a pulled or pushed report: a JSON string as in the examples, or a "
            "JSON number (20 digits, beyond 64 bits) as the type says",
        ),
        "pull_handout": reading("001 L283-L345", PULL_HANDOUT),
        "bad_number": reading("001 L101", BAD_NUMBER),
        "repush": reading("001 L478-L563", REPUSH_SILENT),
    }
    DEFAULT_BALANCE = 532.0
    OUTCOME_CODES: ClassVar[dict[str, Any]] = {
        "delivered": "DELIVRD",
        "undelivered": "DB:0141",
        "blacklisted": "DB:0141",
        "expired": "EXPIRED",
        "rejected": "REJECTD",
        "unknown": "UNKNOWN",
    }
    # path -> (methods, handler); every call is a POST (001 L4, L52, L93, …); form paths below
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
    # 001 L53, L147, L244, L444: 数据格式 form表单
    FORM_PATHS: ClassVar[set[str]] = {"/message/tokenApi", "/msg/send", "/msg/sendTemplate", "/msg/balance"}

    def reject(self, code: Any, reason: str, http_status: int = 200) -> VendorError:
        return VendorError(
            json_reply({"code": as_int_code(code), "message": reason, "data": None}, http_status), reason
        )

    # ------------------------------------------------------------------ parameters & auth

    def _params(self, req: SimRequest) -> dict[str, Any]:
        """Body parameters in the content type this path demands."""
        if req.path in self.FORM_PATHS:
            if not req.is_form:
                raise self.reject(
                    UNDOCUMENTED_ERROR,
                    f"数据格式错误: {req.path} 须为 form表单, 不是 {req.media_type or 'no content type'}",
                )
            return dict(req.form)
        if not req.is_json:
            raise self.reject(  # 001 L5, L94, L187, L285, L344, L402: 数据格式 json
                UNDOCUMENTED_ERROR,
                f"数据格式错误: {req.path} 须为 json, 不是 {req.media_type or 'no content type'}",
            )
        if req.json_error:
            raise self.reject(UNDOCUMENTED_ERROR, f"数据格式错误: {req.json_error}")
        if not isinstance(req.json, dict):
            raise self.reject(UNDOCUMENTED_ERROR, "数据格式错误: JSON body must be an object")
        return dict(req.json)

    def _text(self, params: dict[str, Any], name: str) -> str:
        value = params.get(name)
        if value is None:
            return ""
        if isinstance(value, (dict, list)):  # the 类型 column: String (001 L100-L105, L193-L199)
            raise self.reject(UNDOCUMENTED_ERROR, f"{name} 类型须为 String")
        return str(value).strip()

    def _require(self, params: dict[str, Any], *names: str) -> None:
        # the 是否必填 column of each table (001 L11-L12, L100-L103, L193-L197, L291)
        missing = [
            n
            for n in names
            if params.get(n) in (None, "") or (isinstance(params.get(n), str) and not params[n].strip())
        ]
        if missing:
            raise self.reject(UNDOCUMENTED_ERROR, f"缺少必填参数: {', '.join(missing)}")

    def _check_token(self, params: dict[str, Any]) -> None:
        self._require(params, "token")
        assert self.tokens is not None  # HAS_TOKENS
        with self._lock:
            valid = self.tokens.valid(self._text(params, "token"))
        if not valid:  # 001 L36-L37: a token dies after 7200 s or when the secret is reset
            status, body = STALE_TOKEN_ANSWERS[self.reading("stale_token")]
            if isinstance(body, dict):
                raise VendorError(json_reply(body, status), "stale token")
            raise VendorError(text_reply(body, status), "stale token")

    # ------------------------------------------------------------------ handlers

    def h_token(self, req: SimRequest) -> Reply:
        params = self._params(req)
        self._require(params, "appId", "secret")
        if self._text(params, "appId") != self.credentials.get("app_id") or self._text(
            params, "secret"
        ) != self.credentials.get("secret"):
            raise self.reject(UNDOCUMENTED_ERROR, "appId 或 secret 错误")
        assert self.tokens is not None  # HAS_TOKENS
        with self._lock:
            token, expires_in = self.tokens.issue()
        return json_reply(
            {"code": OK, "message": "请求成功", "data": {"expires_in": expires_in, "token": token}}
        )

    def h_send(self, req: SimRequest) -> Reply:
        params = self._params(req)
        self._check_token(params)
        self._require(params, "mobile", "msg", "productId")  # 001 L101-L103
        msg = self._text(params, "msg")
        if not SIGN_IN_MSG.search(msg):  # 001 L102 "发送内容，包含【XX】签名"
            raise self.reject(UNDOCUMENTED_ERROR, "发送内容须包含【XX】签名")
        return self._accept(params, msg)

    def h_send_template(self, req: SimRequest) -> Reply:
        params = self._params(req)
        self._check_token(params)
        self._require(params, "mobile", "templateId", "params", "productId")  # 001 L194-L197
        values = params["params"]
        accepted = self.reading("template_params")
        if req.is_json and accepted == "string" and not isinstance(values, str):
            raise self.reject(UNDOCUMENTED_ERROR, "params 类型须为 String (JsonArray 文本)")  # 001 L196
        if req.is_json and accepted == "object" and not isinstance(values, dict):
            raise self.reject(UNDOCUMENTED_ERROR, "params 须为 json 对象")  # 001 L207-L210
        if isinstance(values, str):  # the form variant (L253) or a JSON string carries JSON text
            try:
                values = json.loads(values)
            except ValueError:
                raise self.reject(UNDOCUMENTED_ERROR, "params 须为 JSON") from None
        if not isinstance(values, (dict, list)):
            raise self.reject(UNDOCUMENTED_ERROR, "params 须为 JSON 对象或数组")
        template_id = self._text(params, "templateId")
        content = f"template {template_id} {json.dumps(values, ensure_ascii=False)}"
        return self._accept(params, content, template_id=template_id, template_params=values)

    def _accept(self, params: dict[str, Any], content: str, **extra: Any) -> Reply:
        product = self._text(params, "productId")
        if product not in ("1", "2", "3"):  # 001 L103
            raise self.reject(UNDOCUMENTED_ERROR, f"productId 只能为 1、2、3, 不是 {product!r}")
        ext_no = self._text(params, "extNo")
        if ext_no and not ext_no.isdigit():  # 001 L104 拓展码(数字)
            raise self.reject(UNDOCUMENTED_ERROR, f"extNo 须为数字, 不是 {ext_no!r}")
        send_time = self._text(params, "time")
        scheduled = None
        if send_time:  # 001 L105 格式为yyyy-MM-dd HH:mm:ss
            try:
                scheduled = self.parse_time(send_time, TIME_FORMAT)
            except ValueError:
                raise self.reject(
                    UNDOCUMENTED_ERROR, f"time 格式须为 yyyy-MM-dd HH:mm:ss: {send_time!r}"
                ) from None
        mobiles = split_mobiles(self._text(params, "mobile"))  # 001 L101 "多个以,分割"
        if len(mobiles) > MAX_NUMBERS:  # 001 L101 "最多1000"
            raise self.reject(UNDOCUMENTED_ERROR, f"mobile 有{len(mobiles)}个号码, 最多{MAX_NUMBERS}")
        bad = [m for m in mobiles if not CN_MOBILE.match(m)]
        if bad and self.reading("bad_number") == "whole_call":
            raise self.reject(UNDOCUMENTED_ERROR, f"手机号码格式错误: {len(bad)}个")
        for mobile in mobiles:
            code = self.submit_result_for(mobile)
            if code is not None and str(code) != str(OK):
                raise self.reject(code, "提交失败 (simulator rule)")
        batch_id = self._new_batch_id()
        for mobile in mobiles:
            self.new_message(
                batch_id,
                mobile,
                content,
                outcome=BAD_NUMBER_CODE if mobile in bad else None,
                scheduled=scheduled,
                scheduled_text=send_time or None,
                ext_no=ext_no,
                product_id=product,
                **extra,
            )
        return json_reply({"code": OK, "message": "请求成功", "data": {"batchId": batch_id}})
