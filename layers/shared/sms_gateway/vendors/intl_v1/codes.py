"""intl_v1: the vendor's code tables and the pure readings of its fields (see the package docstring)."""

from __future__ import annotations

from datetime import datetime

from sms_gateway.clock import vendor_time_to_utc
from sms_gateway.models import (
    Status,
)

API = "/api/v1/international/sms"

SEND_TIME_FORMAT = "%Y%m%d%H%M%S"

# Report timestamps, by length: the examples' 14 digits, and the table's 12.
REPORT_TIME_FORMATS = {14: "%Y%m%d%H%M%S", 12: "%Y%m%d%H%M"}

MAX_PAIRS_PER_STATUS_CALL = 500

STATUS_WINDOW_DAYS = 30

ACK = '{"code":0,"msg":"ok"}'

# ResultCode table (document chapter 6): code -> (name, meaning).
RESULT_CODES: dict[str, tuple[str, str]] = {
    "0": ("OK", "操作成功"),
    "1001": ("ParamError", "参数错误"),
    "1002": ("AppKeyError", "用户名错误"),
    "1003": ("PasswordError", "密码错误"),
    "1004": ("BindIpError", "IP绑定错误"),
    "1005": ("AccountStop", "帐户已停用"),
    "1006": ("ContentError", "内容错误"),
    "1007": ("MobileError", "手机号码错误"),
    "1008": ("ExtNumberError", "扩展错误"),
    "1009": ("AmountNotEnough", "额度不足"),
    "1010": ("TimeSuperRange", "查询时间超出范围"),
    "1011": ("SendTimeError", "发送时间格式错误"),
    "1012": ("NoReportError", "未查询到状态报告"),
    "9999": ("other", "未知错误，请联系管理员"),
}

# A send refused with one of these will be refused again: its recipients are failed for good.
# 1009 (no credit) is final as in action_v1 (RESULT 15): a late top-up should not release old
# verification codes; SMS Balance Low warns before it happens.
PERMANENT_SEND_CODES = frozenset({"1001", "1006", "1007", "1008", "1009", "1010", "1011"})

# Refusals that can be one number's: the whole call is refused (no per-number answer), so the
# call is split to find it (see submit). Our own validation (phonenumbers) runs first.
PER_NUMBER_CODES = frozenset({"1001", "1007"})

# Everything else (credentials 1002/1003, IP binding 1004, a stopped account 1005, 9999, codes
# outside the table) is retried: an operator fixes it in the accounts document or with the
# vendor, and retries that still fail end in the dead-letter queue, which raises an alarm.
NO_REPORT = "1012"

# `status` of a pulled report (4.5: "0：发送成功，1：状态没返回 2：发送失败").
DELIVERED, NO_STATUS_YET, FAILED = "0", "1", "2"

# `status` of a pushed report (5.4: "0：发送成功，1：发送失败"); its example shows 2, read as failed too.
PUSHED_FAILED = frozenset({"1", FAILED})

# `errorCode` of a failed report (status 2): the SMPP stat words; anything else, like the
# document's `16`, is an operator failure code kept raw as undelivered.
ERROR_CODES: dict[str, tuple[Status, str]] = {
    "UNDELIV": (Status.UNDELIVERED, "undeliverable"),
    "EXPIRED": (Status.EXPIRED, "validity period expired"),
    "REJECTD": (Status.REJECTED, "rejected"),
    "REJECTED": (Status.REJECTED, "rejected"),
    "DELETED": (Status.UNDELIVERED, "deleted"),
    "UNKNOWN": (Status.UNKNOWN, "unknown"),
}


def report_status(status: object, error_code: str, *, pushed: bool = False) -> tuple[Status, str] | None:
    """The canonical status of a report, or None when it is not final (pulled status 1) or unreadable."""
    code = str(status).strip()
    if code == DELIVERED:
        return Status.DELIVERED, "delivered"
    if code not in (PUSHED_FAILED if pushed else {FAILED}):
        return None
    known = ERROR_CODES.get(error_code.strip().upper())
    if known:
        return known
    if error_code.strip().upper() in {"DELIVRD", "ACCEPTD"}:
        return Status.UNDELIVERED, f"status 2 (failed) with errorCode {error_code.strip()}"
    return Status.UNDELIVERED, "operator failure code"


def result_name(code: str) -> str:
    name, meaning = RESULT_CODES.get(code, ("unknown", "ResultCode outside the document's table"))
    return f"{name}: {meaning}"


def report_time(raw: str | None, timezone: str) -> datetime | None:
    text = (raw or "").strip()
    fmt = REPORT_TIME_FORMATS.get(len(text))
    return vendor_time_to_utc(text, timezone, fmt) if fmt and text.isdigit() else None


def text_of(value: object) -> str:
    """A vendor id or field as a string, normalised once (ids can be JSON numbers)."""
    return "" if value is None else str(value).strip()
