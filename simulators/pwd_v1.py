"""pwd_v1 simulator: document 003_3892d23fbe8bd7fb.txt (短信接口文档, account + MD5 pwd).

Every rule below cites its line of document 003 (``003 L<n>``) next to the code:

* Every call is ``POST`` (L28) with ``application/x-www-form-urlencoded`` (L36) fields
  ``account`` and ``pwd`` = MD5 of the password (L15, L41-L43; 32 hex, the document gives no
  case, both are accepted).
* ``/api/v1/send`` (L24): ``mobiles`` (comma list, at most 3000, L45), ``content`` required
  (L46; "建议长度不要超过500字" is advice, not enforced), ``taskId`` optional, "全局唯一" (L44),
  ``extNo`` optional positive integer (L47). Answer ``{"code":"00","data":{"taskId":…},
  "message":"成功"}`` (L52-L58); without a taskId the gateway makes one (a UUID, like the
  document's sendId L95).
* ``/api/v1/report`` (L65) and ``/api/v1/mo`` (L116) hand each record out once. Their numbers are
  MASKED (``135****9831``, L98, L143) and the pulled success status is ``DELIVER`` (L96).
* Pushes: ONE status object per POST (``sendId, mobile, times, status``, L173-L178) with the
  FULL number and success ``DELIVRD`` (L184); ONE MO object per POST (L197-L207). Each is sent
  exactly once, whatever the answer (L167, L191); HTTP 200 is the ack (L187, L210).
* ``/api/v1/queryBalance`` (L216) -> ``{"code":"00","data":{"balance":…,"payment":0|1,
  "paymentName":"预付"|"后付"},"message":"成功"}`` (L239-L247).

Only ``"00"`` is documented (L53): every refusal answers ONE other code, ``UNDOCUMENTED_ERROR``,
with a Chinese reason. "全局唯一" (L44) is an obligation on the sender: what the vendor does
with a reused taskId, whether a pushed MO is offered again by the pull, and one bad number in
a call are readings (``READINGS``; simulators/READINGS.md).
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from .base import (
    BAD_NUMBER,
    CN_MOBILE,
    PULL_HANDOUT,
    BaseSimulator,
    Reading,
    Reply,
    SimRequest,
    VendorError,
    json_reply,
    mask_mobile,
    md5_hex,
    reading,
    split_mobiles,
)

OK = "00"  # 003 L53
#: the one code of every refusal: the document gives only "00" (003 L53)
UNDOCUMENTED_ERROR = "99"

MAX_NUMBERS = 3000  # 003 L45 "最大不超过3000"
#: the report code of a number refused inside an accepted call (reading bad_number=per_number);
#: any non-DELIVRD status is a failure (003 L185)
BAD_NUMBER_CODE = "REJECTD"


class PwdV1Simulator(BaseSimulator):
    vendor = "pwd_v1"
    PARAM_ERROR = UNDOCUMENTED_ERROR
    PUSH_RETRIES = 0  # 003 L167, L191 "只往此地址推送一次"
    READINGS: ClassVar[dict[str, Reading]] = {
        "task_id_reuse": Reading(
            ("send_again", "dedupe", "refuse"),
            "send_again",
            "003 L44 taskId '自定义任务id,全局唯一': an obligation on the sender, nothing more",
            "a send with a taskId already used: sent again as any other, answered 00 and not "
            "sent (deduplicated), or refused with the undocumented error code",
        ),
        "mo_pull": Reading(
            ("push_only", "both"),
            "push_only",
            "003 L112-L161 (MO pull, masked) and L189-L207 (MO push, full number)",
            "a pushed MO is gone from the pull, or offered by the pull as well (masked)",
        ),
        "pull_handout": reading("003 L61-L161", PULL_HANDOUT),
        "bad_number": reading("003 L45", BAD_NUMBER),
    }
    DEFAULT_BALANCE = 200000
    DEFAULT_BALANCE_DETAILS: ClassVar[dict[str, Any]] = {"payment": 0, "payment_name": "预付"}
    # pushed codes; a pulled DELIVRD reads DELIVER (see _pull_status)
    OUTCOME_CODES: ClassVar[dict[str, Any]] = {
        "delivered": "DELIVRD",
        "undelivered": "UNDELIV",
        "blacklisted": "MBBLACK",
        "expired": "EXPIRED",
        "rejected": "REJECTD",
        "unknown": "UNKNOWN",
    }
    ROUTES: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {
        "/api/v1/send": (("POST",), "h_send"),
        "/api/v1/report": (("POST",), "h_report"),
        "/api/v1/mo": (("POST",), "h_mo"),
        "/api/v1/queryBalance": (("POST",), "h_balance"),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._task_ids: set[str] = set()

    def reject(self, code: Any, reason: str, http_status: int = 200) -> VendorError:
        # the shape of the documented answers (003 L52-L58): code, data, message
        return VendorError(
            json_reply({"code": str(code), "data": None, "message": reason}, http_status), reason
        )

    # ------------------------------------------------------------------ auth

    def _form(self, req: SimRequest) -> dict[str, Any]:
        if not req.is_form:  # 003 L36, L77, L128, L228
            raise self.reject(
                UNDOCUMENTED_ERROR,
                f"Content-Type 须为 application/x-www-form-urlencoded, 不是 {req.media_type or 'none'}",
            )
        form = req.form
        missing = [n for n in ("account", "pwd") if not form.get(n)]  # 003 L41-L43 必填
        if missing:
            raise self.reject(UNDOCUMENTED_ERROR, f"缺少必填参数: {', '.join(missing)}")
        expected = md5_hex(self.credentials.get("password", ""))  # 003 L15, L43
        if form["account"] != self.credentials.get("account") or form["pwd"].lower() != expected:
            raise self.reject(UNDOCUMENTED_ERROR, "账号或密码错误")
        return form

    # ------------------------------------------------------------------ handlers

    def h_send(self, req: SimRequest) -> Reply:
        form = self._form(req)
        missing = [n for n in ("mobiles", "content") if not form.get(n, "").strip()]  # 003 L45-L46
        if missing:
            raise self.reject(UNDOCUMENTED_ERROR, f"缺少必填参数: {', '.join(missing)}")
        ext_no = form.get("extNo", "").strip()
        if ext_no and not (ext_no.isdigit() and int(ext_no) > 0):  # 003 L47 "只能为正整数"
            raise self.reject(UNDOCUMENTED_ERROR, f"extNo 只能为正整数, 不是 {ext_no!r}")
        mobiles = split_mobiles(form["mobiles"])  # 003 L45 "用逗号分割"
        if len(mobiles) > MAX_NUMBERS:  # 003 L45 "最大不超过3000"
            raise self.reject(UNDOCUMENTED_ERROR, f"mobiles 有{len(mobiles)}个号码, 最大不超过{MAX_NUMBERS}")
        bad = [m for m in mobiles if not CN_MOBILE.match(m)]
        if bad and self.reading("bad_number") == "whole_call":
            raise self.reject(UNDOCUMENTED_ERROR, f"手机号码格式错误: {len(bad)}个")
        for mobile in mobiles:
            code = self.submit_result_for(mobile)
            if code is not None and str(code) != OK:
                raise self.reject(code, "提交失败 (simulator rule)")
        task_id = form.get("taskId", "").strip()
        with self._lock:
            reused = bool(task_id) and task_id in self._task_ids
            if reused and self.reading("task_id_reuse") == "refuse":
                raise self.reject(UNDOCUMENTED_ERROR, "taskId 重复")
            if reused and self.reading("task_id_reuse") == "dedupe":
                return json_reply({"code": OK, "data": {"taskId": task_id}, "message": "成功"})
            task_id = task_id or str(uuid.uuid4())
            self._task_ids.add(task_id)
        for mobile in mobiles:
            outcome = BAD_NUMBER_CODE if mobile in bad else None
            self.new_message(task_id, mobile, form["content"], outcome=outcome, ext_no=ext_no)
        return json_reply({"code": OK, "data": {"taskId": task_id}, "message": "成功"})  # 003 L52-L58

    def h_report(self, req: SimRequest) -> Reply:
        self._form(req)
        data = [  # 003 L93-L107: sendId, status (DELIVER), times, masked mobile, extNo
            {
                "sendId": m["id"],
                "status": _pull_status(m["code"]),
                "times": self.fmt_time(m["reported_at"]),
                "mobile": mask_mobile(m["mobile"]),
                "extNo": m.get("ext_no", ""),
            }
            for m in self.take_reports()
        ]
        return json_reply({"code": OK, "data": self.with_bad_record("report", data), "message": "成功"})

    def h_mo(self, req: SimRequest) -> Reply:
        self._form(req)
        data = [  # 003 L141-L158
            {
                "mobile": mask_mobile(mo["mobile"]),
                "content": mo["content"],
                "times": self.fmt_time(mo["received_at"]),
                # the document's pulled MO show extNo as a number (10)
                "extNo": int(mo["ext_no"]) if mo["ext_no"].isdigit() else mo["ext_no"],
            }
            for mo in self.take_mos()
        ]
        return json_reply({"code": OK, "data": self.with_bad_record("mo", data), "message": "成功"})

    def h_balance(self, req: SimRequest) -> Reply:
        self._form(req)
        return json_reply(
            {
                "code": OK,
                "data": {
                    "balance": self.balance,
                    "payment": self.balance_details["payment"],
                    "paymentName": self.balance_details["payment_name"],
                },
                "message": "成功",
            }
        )

    # ------------------------------------------------------------------ pushes

    def _process_due(self, events: list[tuple[Any, ...]]) -> None:
        # reading mo_pull=both: a pushed MO stays for the pull as well (003 L112-L161, L189-L207)
        if self.reading("mo_pull") == "both" and self.push_targets()[1]:
            mos = [payload for _, _, kind, payload in events if kind == "mo"]
            with self._lock:
                self._mo_queue.extend(mos)
        super()._process_due(events)

    # 003 L169-L178: one status object per POST, full number, DELIVRD for success (L184)
    def report_push_bodies(self, reports: list[dict[str, Any]]) -> list[Any]:
        return [
            {
                "sendId": m["id"],
                "mobile": m["mobile"],
                "times": self.fmt_time(m["reported_at"]),
                "status": str(m["code"]),
            }
            for m in reports
        ]

    # 003 L193-L207: one MO object per POST
    def mo_push_bodies(self, mos: list[dict[str, Any]]) -> list[Any]:
        return [
            {
                "mobile": mo["mobile"],
                "content": mo["content"],
                "times": self.fmt_time(mo["received_at"]),
                "extNo": mo["ext_no"],
            }
            for mo in mos
        ]


def _pull_status(code: Any) -> str:
    """The pulled report says DELIVER (003 L96) where the pushed one says DELIVRD (L184)."""
    return "DELIVER" if str(code) == "DELIVRD" else str(code)
