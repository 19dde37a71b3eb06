"""pwd_v1 simulator: document 003_3892d23fbe8bd7fb.txt (短信接口文档, account + MD5 pwd).

Enforced as the document says:

* Every call is ``POST`` with ``application/x-www-form-urlencoded`` fields ``account`` and
  ``pwd`` = MD5 of the password (32 hex; the document gives no case, both are accepted).
* ``/api/v1/send``: ``mobiles`` (ASCII-comma list, at most 3000), ``content`` required,
  ``taskId`` optional and globally unique (a reused taskId is refused), ``extNo`` optional
  positive integer. Answer ``{"code":"00","data":{"taskId":…},"message":"成功"}``; without a
  taskId the gateway makes one (a UUID, like the document's sendId).
* ``/api/v1/report`` and ``/api/v1/mo`` hand each record out once. Their numbers are MASKED
  (``135****9831``) and the pulled success status is ``DELIVER``.
* Pushes: ONE status object per POST (``sendId, mobile, times, status``) with the FULL number
  and success ``DELIVRD``; ONE MO object per POST (``mobile, content, times, extNo``). Each is
  sent exactly once, never again, whatever the answer ("只往此地址推送一次"); HTTP 200 counts
  as accepted in the push log.
* ``/api/v1/queryBalance`` -> ``{"code":"00","data":{"balance":…,"payment":0|1,
  "paymentName":"预付"|"后付"},"message":"成功"}``.

Only ``"00"`` is documented; the non-"00" codes below are this simulator's own. Every error
answer is ``{"code": "<code>", "data": null, "message": "<reason>"}``.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from .base import (
    CN_MOBILE,
    BaseSimulator,
    SimRequest,
    VendorError,
    json_reply,
    mask_mobile,
    md5_hex,
    split_mobiles,
)

OK = "00"
ERR_PARAM = "01"  # missing/invalid field, not a form
ERR_AUTH = "02"  # account or pwd wrong
ERR_TOO_MANY = "03"  # more than 3000 numbers
ERR_MOBILE = "04"  # a number is not an 11-digit mainland mobile
ERR_EXT_NO = "05"  # extNo not a positive integer
ERR_TASK_ID = "06"  # taskId already used

MAX_NUMBERS = 3000


class PwdV1Simulator(BaseSimulator):
    vendor = "pwd_v1"
    PARAM_ERROR = ERR_PARAM
    PUSH_RETRIES = 0  # pushed once and never again
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._task_ids: set[str] = set()

    def reject(self, code, reason, http_status=200):
        return VendorError(
            json_reply({"code": str(code), "data": None, "message": reason}, http_status), reason
        )

    def configure(self, *args, **kwargs):
        # "只往此地址推送一次": whatever is configured, this vendor never re-pushes
        super().configure(*args, **kwargs)
        self.push_retries = 0
        return self

    # ------------------------------------------------------------------ auth

    def _form(self, req: SimRequest) -> dict:
        if not req.is_form:
            raise self.reject(
                ERR_PARAM,
                f"Content-Type must be application/x-www-form-urlencoded, not {req.media_type or 'none'}",
            )
        form = req.form
        missing = [n for n in ("account", "pwd") if not form.get(n)]
        if missing:
            raise self.reject(ERR_PARAM, f"missing required field(s): {', '.join(missing)}")
        expected = md5_hex(self.credentials.get("password", ""))
        if form["account"] != self.credentials.get("account") or form["pwd"].lower() != expected:
            raise self.reject(
                ERR_AUTH, "账号或密码错误 (account or pwd wrong; pwd is the MD5 of the password)"
            )
        return form

    # ------------------------------------------------------------------ handlers

    def h_send(self, req: SimRequest):
        form = self._form(req)
        missing = [n for n in ("mobiles", "content") if not form.get(n, "").strip()]
        if missing:
            raise self.reject(ERR_PARAM, f"missing required field(s): {', '.join(missing)}")
        ext_no = form.get("extNo", "").strip()
        if ext_no and not (ext_no.isdigit() and int(ext_no) > 0):
            raise self.reject(ERR_EXT_NO, f"extNo must be a positive integer, not {ext_no!r}")
        mobiles = split_mobiles(form["mobiles"])
        if len(mobiles) > MAX_NUMBERS:
            raise self.reject(
                ERR_TOO_MANY, f"mobiles has {len(mobiles)} numbers; at most {MAX_NUMBERS} per call"
            )
        bad = [m for m in mobiles if not CN_MOBILE.match(m)]
        if bad:
            raise self.reject(ERR_MOBILE, f"not a mainland mobile number: {bad[:5]}")
        for mobile in mobiles:
            code = self.submit_result_for(mobile)
            if code is not None and str(code) != OK:
                raise self.reject(code, f"submit rejected for {mobile} (simulator rule)")
        task_id = form.get("taskId", "").strip()
        with self._lock:
            if task_id and task_id in self._task_ids:
                raise self.reject(ERR_TASK_ID, f"taskId {task_id!r} already used (全局唯一)")
            task_id = task_id or str(uuid.uuid4())
            self._task_ids.add(task_id)
        for mobile in mobiles:
            self.new_message(task_id, mobile, form["content"], ext_no=ext_no)
        return json_reply({"code": OK, "data": {"taskId": task_id}, "message": "成功"})

    def h_report(self, req: SimRequest):
        self._form(req)
        data = [
            {
                "sendId": m["id"],
                "status": _pull_status(m["code"]),
                "times": self.fmt_time(m["reported_at"]),
                "mobile": mask_mobile(m["mobile"]),
                "extNo": m.get("ext_no", ""),
            }
            for m in self.take_reports()
        ]
        return json_reply({"code": OK, "data": data, "message": "成功"})

    def h_mo(self, req: SimRequest):
        self._form(req)
        data = [
            {
                "mobile": mask_mobile(mo["mobile"]),
                "content": mo["content"],
                "times": self.fmt_time(mo["received_at"]),
                # the document's pulled MO show extNo as a number (10)
                "extNo": int(mo["ext_no"]) if mo["ext_no"].isdigit() else mo["ext_no"],
            }
            for mo in self.take_mos()
        ]
        return json_reply({"code": OK, "data": data, "message": "成功"})

    def h_balance(self, req: SimRequest):
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

    def report_push_bodies(self, reports):
        return [
            {
                "sendId": m["id"],
                "mobile": m["mobile"],
                "times": self.fmt_time(m["reported_at"]),
                "status": str(m["code"]),
            }
            for m in reports
        ]

    def mo_push_bodies(self, mos):
        return [
            {
                "mobile": mo["mobile"],
                "content": mo["content"],
                "times": self.fmt_time(mo["received_at"]),
                "extNo": mo["ext_no"],
            }
            for mo in mos
        ]


def _pull_status(code) -> str:
    """The pulled report says DELIVER where the pushed one says DELIVRD."""
    return "DELIVER" if str(code) == "DELIVRD" else str(code)
