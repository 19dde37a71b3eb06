"""pwd_v1: the vendor's code tables and the pure readings of its fields (see the package docstring)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from sms_gateway.models import (
    Status,
)

T = TypeVar("T")


OK = "00"

# Whole-call answer codes. The document lists only "00"; the others are the project simulator's.
CODES: dict[str, str] = {
    "00": "成功",
    "01": "参数错误 (missing or invalid field)",
    "02": "账号或密码错误 (account or pwd wrong)",
    "03": "号码数超过3000 (more than 3000 numbers)",
    "04": "号码格式错误 (not a mainland mobile number)",
    "05": "extNo 只能为正整数 (extNo not a positive integer)",
}

DEFAULT_RETRY_CODES = ("02",)

# Delivery statuses. The document: pulled DELIVER and pushed DELIVRD are success, "其他值为失败";
# MBBLACK is its pulled example. The rest are the usual CMPP stats (the simulator uses them).
# Anything else is a failure kept raw as undelivered.
REPORT_CODES: dict[str, tuple[Status, str]] = {
    "DELIVER": (Status.DELIVERED, "成功 (pulled)"),
    "DELIVRD": (Status.DELIVERED, "成功 (pushed)"),
    "UNDELIV": (Status.UNDELIVERED, "无法投递"),
    "DELETED": (Status.UNDELIVERED, "已删除"),
    "EXPIRED": (Status.EXPIRED, "超过有效期"),
    "REJECTD": (Status.REJECTED, "被拒绝"),
    "REJECTED": (Status.REJECTED, "被拒绝"),
    "MBBLACK": (Status.REJECTED, "黑名单号码"),
    "BLACK": (Status.REJECTED, "黑名单号码"),
    "UNKNOWN": (Status.UNKNOWN, "未知"),
}

OTHER_FAILURE = (Status.UNDELIVERED, "失败 (非DELIVRD/DELIVER的状态)")

TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S")

EXT_NO = re.compile(r"^[0-9]{1,20}$")

# option balance_unit -> (divisor to the currency unit, currency)
BALANCE_UNITS: dict[str, tuple[Decimal, str]] = {
    "yuan": (Decimal(1), "CNY"),
    "fen": (Decimal(100), "CNY"),
    "li": (Decimal(1000), "CNY"),
    "messages": (Decimal(1), "SMS"),
}


def report_status(code: str) -> tuple[Status, str]:
    return REPORT_CODES.get(code.strip().upper(), OTHER_FAILURE)


def mask_unique_tasks(items: Sequence[T], masked: Callable[[T], str]) -> list[list[T]]:
    """Split items, keeping their order, so that no two in one group share a masked form."""
    groups: list[list[T]] = []
    seen: list[set[str]] = []
    for item in items:
        key = masked(item)
        for group, keys in zip(groups, seen, strict=True):
            if key not in keys:
                group.append(item)
                keys.add(key)
                break
        else:
            groups.append([item])
            seen.append({key})
    return groups


def records_of(data: object) -> list[Any] | None:
    """Records from `data` in any reasonable reading: an array, an object wrapping one array, one
    record. None when it is none of these. Entries that are not objects stay in, to be kept as
    unreadable rather than dropped."""
    if data is None or data == "":
        return []
    if isinstance(data, list):
        return list(data)
    if isinstance(data, dict):
        if any(key in data for key in ("sendId", "mobile", "status", "content")):
            return [data]
        for value in data.values():
            if isinstance(value, list):
                return list(value)
        return [] if not data else None
    return None


def text_of(value: object) -> str:
    """A field as text, whatever JSON type it came in; "" when absent."""
    return "" if value is None else str(value).strip()
