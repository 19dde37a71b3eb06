"""paasw_v1 simulator: document 000_7a67b7f28d852a7e.txt (paasw gateway HTTP API, v1).

Every rule below cites its line of document 000 (``000 L<n>``) next to the code:

* ``GET /api/token?appId=&secret=`` (L5-L11) answers ``{"code":"10000","message":"操作成功",
  "token":…,"expires_in":…}`` (L16-L21). A token lives 7200 s and the same token is answered
  while it is valid (L13); ``expire_tokens()`` plays the "reset secret" of L14.
* ``POST /sms/send`` (L24-L33) and ``POST /sms/sendTemplate`` (L47-L57); one ``bizId`` covers
  every number of the call (L40, L43).
* ``GET /sms/deliver`` (L70-L76) and ``GET /sms/smsUp`` (L106-L112) answer bare JSON arrays of
  records in the push formats (L83-L94, L117-L125).
* ``GET /sms/balance`` (L151-L164), in yuan.
* Pushes: JSON arrays of reports (L81-L94) and of MO (L130-L141); acks ``{"code":10000}``
  (L97-L101) and ``{"code":"10000"}`` (L143-L147), a string or a number accepted for both.

The document's error list is "待更新" (L170-L172): it names no error code at all. So every
refusal answers ONE code, ``UNDOCUMENTED_ERROR``, with a Chinese reason, and none of them says
"token": an adapter cannot read meaning into a code or a word the document never gave. What a
stale token gets, whether a refused push is re-pushed, whether one bad number refuses the whole
call, whether the content must carry 【sign】 and whether the 1500-character limit holds are
readings (``READINGS``; see simulators/READINGS.md).
"""

from __future__ import annotations

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
    answer_code,
    iter_chunks,
    json_reply,
    reading,
    sms_segments,
    split_mobiles,
    text_reply,
)

OK = "10000"  # 000 L17, L38
#: the one code of every refusal: the document lists none (000 L170-L172 "待更新")
UNDOCUMENTED_ERROR = "99999"

MAX_NUMBERS = 1000  # 000 L30 "最多1000"
MAX_NUMBERS_LENGTH = 1500  # 000 L30 最大长度 1500
MAX_SIGN = 20  # 000 L31
MAX_CONTENT = 1000  # 000 L32, L57
MAX_PARAM_JSON = 100  # 000 L54
MAX_TEMPLATE_ID = 20  # 000 L55

#: report codes, 000 L89: 10000 received; 1 submit failed, 4 failed, 5 blocked word,
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
#: the report code of a number refused inside an accepted call (reading bad_number=per_number)
BAD_NUMBER_CODE = "1"  # 000 L89 "1：提交失败"

#: stale-token answers (reading stale_token): 000 L14 asks for a re-fetch but gives no code
STALE_TOKEN_ANSWERS: dict[str, tuple[int, Any]] = {
    "code_10008": (200, {"code": "10008", "message": "鉴权失败"}),
    "generic": (200, {"code": UNDOCUMENTED_ERROR, "message": "请求失败"}),
    "http_401": (401, "Unauthorized"),
    "http_403": (403, "Forbidden"),
}


class _PaaswV1Records(BaseSimulator):
    """Report and MO records, ids and pushes of paasw_v1 (000)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._mo_sequence = 1234567890

    # ------------------------------------------------------------------ reports & MO

    def _new_biz_id(self) -> str:
        # 20 digits like the document's "39036632588910887018"
        return f"{int(self.now() * 1000):013d}{next(self._ids) % 10**7:07d}"

    def queue_mo(
        self,
        mobile: str,
        content: str,
        ext_no: str | None = None,
        delay: float = 0.0,
        sign: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        # an MO carries the account's sign, else the sign of the first send
        return super().queue_mo(
            mobile, content, ext_no=ext_no, delay=delay, sign=sign or self.sign or "", **extra
        )

    def new_mo_id(self) -> str:
        with self._lock:
            self._mo_sequence += 1
            return str(self._mo_sequence)

    def _report_record(self, msg: dict[str, Any]) -> dict[str, Any]:
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

    def _mo_record(self, mo: dict[str, Any]) -> dict[str, Any]:
        return {
            "phone_number": mo["mobile"],
            "send_time": self.fmt_time(mo["received_at"]),
            "content": mo["content"],
            "sign": mo["sign"],
            "sequence_id": int(mo["id"]),
        }

    # 000 L81 / L130: "单次推送可能会包含多个" (the batch size of 100 is the simulator's)
    def report_push_bodies(self, reports: list[dict[str, Any]]) -> list[Any]:
        return [[self._report_record(m) for m in chunk] for chunk in iter_chunks(reports, 100)]

    def mo_push_bodies(self, mos: list[dict[str, Any]]) -> list[Any]:
        return [[self._mo_record(mo) for mo in chunk] for chunk in iter_chunks(mos, 100)]

    def ack_ok(self, kind: str, status: int | None, answer: str) -> bool:
        # 000 L97-L101 reports {"code":10000}, L143-L147 MO {"code":"10000"}: accept either form
        return status == 200 and answer_code(answer) in (10000, "10000")


class PaaswV1Simulator(_PaaswV1Records):
    vendor = "paasw_v1"
    PARAM_ERROR = UNDOCUMENTED_ERROR
    HAS_TOKENS = True
    READINGS: ClassVar[dict[str, Reading]] = {
        "stale_token": Reading(
            tuple(STALE_TOKEN_ANSWERS),
            "code_10008",
            "000 L14 (re-fetch a reset token), L170-L172 (error codes 待更新)",
            "the answer to a call with a reset or expired token",
        ),
        "content_sign": Reading(
            ("optional", "required"),
            "optional",
            "000 L32 '发送内容，包含【XX】签名' vs its example without 【】",
            "whether /sms/send content must carry 【sign】",
        ),
        "phone_numbers_limits": Reading(
            ("both", "count"),
            "both",
            "000 L30 '最多1000' and 最大长度 1500",
            "phoneNumbers holds at most 1000 numbers AND 1500 characters, or only the 1000 numbers",
        ),
        "pull_handout": reading("000 L68-L76, L104-L112", PULL_HANDOUT),
        "bad_number": reading("000 L30", BAD_NUMBER),
        "repush": reading("000 L78-L101, L127-L147", REPUSH_SILENT),
    }
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

    def reject(self, code: Any, reason: str, http_status: int = 200) -> VendorError:
        # codes are strings like the document's "10000" (000 L17)
        return super().reject(str(code), reason, http_status)

    # ------------------------------------------------------------------ parameters & auth

    def _params(self, req: SimRequest) -> dict[str, Any]:
        """GET calls carry query parameters. The document gives no content type for the
        POST calls, so query, form and a JSON object body are all read (body wins)."""
        params = dict(req.query)
        if req.method == "POST":
            if req.is_json:
                if req.json_error:
                    raise self.reject(UNDOCUMENTED_ERROR, f"参数错误: {req.json_error}")
                if not isinstance(req.json, dict):
                    raise self.reject(UNDOCUMENTED_ERROR, "参数错误: JSON body must be an object")
                params.update({k: "" if v is None else str(v) for k, v in req.json.items()})
            else:
                params.update(req.form)
        return params

    def _require(self, params: dict[str, Any], *names: str) -> None:
        # the 是否必填 column of each table (000 L10-L11, L29-L33, L52-L57, L75, L111-L112, L156)
        missing = [n for n in names if not str(params.get(n) or "").strip()]
        if missing:
            raise self.reject(UNDOCUMENTED_ERROR, f"缺少必填参数: {', '.join(missing)}")

    def _check_token(self, params: dict[str, Any]) -> None:
        self._require(params, "token")
        assert self.tokens is not None  # HAS_TOKENS
        with self._lock:
            valid = self.tokens.valid(params["token"])
        if not valid:  # 000 L13-L14: a token dies after 7200 s or when the secret is reset
            status, body = STALE_TOKEN_ANSWERS[self.reading("stale_token")]
            if isinstance(body, dict):
                raise VendorError(json_reply(body, status), "stale token")
            raise VendorError(text_reply(body, status), "stale token")

    # ------------------------------------------------------------------ handlers

    def h_token(self, req: SimRequest) -> Reply:
        params = self._params(req)
        self._require(params, "appId", "secret")
        if params["appId"] != self.credentials.get("app_id") or params["secret"] != self.credentials.get(
            "secret"
        ):
            raise self.reject(UNDOCUMENTED_ERROR, "appId 或 secret 错误")
        assert self.tokens is not None  # HAS_TOKENS
        with self._lock:
            token, expires_in = self.tokens.issue()
        return json_reply({"code": OK, "message": "操作成功", "token": token, "expires_in": expires_in})

    def h_send(self, req: SimRequest) -> Reply:
        params = self._params(req)
        self._check_token(params)
        self._require(params, "phoneNumbers", "sign", "content")  # 000 L30-L32
        self._check_kind(params)
        if self.reading("content_sign") == "required" and not _carries_sign(params["content"]):
            raise self.reject(UNDOCUMENTED_ERROR, "发送内容须包含【XX】签名")  # 000 L32
        return self._accept(params, params["content"])

    def h_send_template(self, req: SimRequest) -> Reply:
        params = self._params(req)
        self._check_token(params)
        self._require(params, "phoneNumbers", "paramJson", "templateId", "sign", "content")  # 000 L53-L57
        if len(params["paramJson"]) > MAX_PARAM_JSON:  # 000 L54
            raise self.reject(UNDOCUMENTED_ERROR, f"paramJson 超过{MAX_PARAM_JSON}个字符")
        if len(params["templateId"]) > MAX_TEMPLATE_ID:  # 000 L55
            raise self.reject(UNDOCUMENTED_ERROR, f"templateId 超过{MAX_TEMPLATE_ID}个字符")
        return self._accept(
            params, params["content"], template_id=params["templateId"], param_json=params["paramJson"]
        )

    def _check_kind(self, params: dict[str, Any]) -> None:
        # 000 L33: 1/2/3; required when the account is configured for several kinds
        kind = str(params.get("kind") or "").strip()
        if not kind and self.options.get("multi_kind"):
            raise self.reject(UNDOCUMENTED_ERROR, "kind 必传: 该账号配置了多种短信类型 (1、2、3)")
        if kind and kind not in ("1", "2", "3"):
            raise self.reject(UNDOCUMENTED_ERROR, f"kind 只能为 1、2、3, 不是 {kind!r}")

    def _accept(self, params: dict[str, Any], content: str, **extra: Any) -> Reply:
        sign = params["sign"]
        if "【" in sign or "】" in sign:  # 000 L31 签名不包含【】
            raise self.reject(UNDOCUMENTED_ERROR, f"签名不包含【】: {sign!r}")
        if len(sign) > MAX_SIGN:  # 000 L31
            raise self.reject(UNDOCUMENTED_ERROR, f"签名超过{MAX_SIGN}个字符 ({len(sign)})")
        if len(content) > MAX_CONTENT:  # 000 L32, L57
            raise self.reject(UNDOCUMENTED_ERROR, f"发送内容超过{MAX_CONTENT}个字符 ({len(content)})")
        raw_numbers = params["phoneNumbers"]
        if self.reading("phone_numbers_limits") == "both" and len(raw_numbers) > MAX_NUMBERS_LENGTH:
            raise self.reject(  # 000 L30 最大长度 1500
                UNDOCUMENTED_ERROR, f"phoneNumbers 超过{MAX_NUMBERS_LENGTH}个字符 ({len(raw_numbers)})"
            )
        mobiles = split_mobiles(raw_numbers)  # 000 L30 "多个以,分割"
        if len(mobiles) > MAX_NUMBERS:  # 000 L30 "最多1000"
            raise self.reject(UNDOCUMENTED_ERROR, f"phoneNumbers 有{len(mobiles)}个号码, 最多{MAX_NUMBERS}")
        bad = [m for m in mobiles if not CN_MOBILE.match(m)]
        if bad and self.reading("bad_number") == "whole_call":
            raise self.reject(UNDOCUMENTED_ERROR, f"手机号码格式错误: {len(bad)}个")
        for mobile in mobiles:
            code = self.submit_result_for(mobile)
            if code is not None and str(code) != OK:
                raise self.reject(code, "提交失败 (simulator rule)")
        biz_id = self._new_biz_id()
        for mobile in mobiles:
            outcome = BAD_NUMBER_CODE if mobile in bad else None
            self.new_message(
                biz_id, mobile, content, outcome=outcome, sign=sign, kind=params.get("kind"), **extra
            )
        with self._lock:
            self.sign = self.sign or sign
        return json_reply({"code": OK, "message": "操作成功", "bizId": biz_id})  # 000 L36-L41

    def h_deliver(self, req: SimRequest) -> Reply:
        params = self._params(req)
        self._check_token(params)
        sign = params.get("sign")
        reports = self.take_reports(predicate=(lambda m: m.get("sign") == sign) if sign else None)
        return json_reply(self.with_bad_record("report", [self._report_record(m) for m in reports]))

    def h_sms_up(self, req: SimRequest) -> Reply:
        params = self._params(req)
        self._check_token(params)
        self._require(params, "sign")  # 000 L112: sign required here
        sign = params["sign"]
        mos = self.take_mos(predicate=lambda mo: mo["sign"] in ("", sign))
        return json_reply(self.with_bad_record("mo", [self._mo_record(mo) for mo in mos]))

    def h_balance(self, req: SimRequest) -> Reply:
        params = self._params(req)
        self._check_token(params)
        return json_reply({"code": OK, "message": "请求成功", "balance": self.balance})


def _carries_sign(content: str) -> bool:
    start = content.find("【")
    return start >= 0 and content.find("】", start + 2) > start
