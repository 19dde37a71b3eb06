"""paasw_v1: the vendor's code tables and the pure readings of its fields (see the package docstring)."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from sms_gateway.models import (
    MessageKind,
    Status,
)

OK: Final = "10000"

DEFAULT_TOKEN_LIFETIME = 7200

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# Report codes (document section 4.2): 10000 received; the others are failures.
REPORT_CODES: dict[str, tuple[Status, str]] = {
    OK: (Status.DELIVERED, "用户接收成功"),
    "1": (Status.FAILED, "提交失败"),
    "4": (Status.UNDELIVERED, "失败"),
    "5": (Status.REJECTED, "屏蔽词"),
    "6": (Status.REJECTED, "审核驳回"),
    "7": (Status.REJECTED, "黑/白名单"),
    "8": (Status.REJECTED, "超频"),
    "9": (Status.UNKNOWN, "未知"),
}

# Answer codes: the document lists none besides 10000 ("错误信息一览: 待更新", to be updated), so
# no refusal is documented as a content, number or balance error, and every refusal first gets a
# fresh token and one more try (VendorAdapter.with_token). The vendor's code and message are kept.
# A refusal that still names the token after that is a credential problem an operator fixes.
# "phoneNumbers ... 最多1000 ... 最大长度 1500": both hold.
MAX_PHONE_NUMBERS_CHARS = 1500

KIND_CODES: dict[MessageKind, str] = {
    MessageKind.VERIFICATION: "1",
    MessageKind.NOTIFICATION: "2",
    MessageKind.MARKETING: "3",
}

# Where a wrapped answer or push keeps its records.
LIST_KEYS = ("data", "list", "result", "records", "rows", "reports", "mos")

PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def field(entry: dict[str, Any], *names: str) -> Any:
    """The first present, non-empty field among the names (snake_case and camelCase)."""
    for name in names:
        value = entry.get(name)
        if value not in (None, ""):
            return value
    return None


def report_status(code: str, success: object = None) -> tuple[Status, str]:
    if code in REPORT_CODES:
        return REPORT_CODES[code]
    if not code and isinstance(success, bool):
        return (Status.DELIVERED, "success=true") if success else (Status.UNDELIVERED, "success=false")
    return Status.UNDELIVERED, "未知的状态代码"


def records_of(body: object) -> list[Any] | None:
    """The records of a bare array, or of an object wrapping one; None when neither."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in LIST_KEYS:
            inner = body.get(key)
            if isinstance(inner, list):
                return inner
            if isinstance(inner, dict):
                nested = records_of({k: v for k, v in inner.items() if k in LIST_KEYS})
                if nested is not None:
                    return nested
    return None


def is_report(entry: dict[str, Any]) -> bool:
    return field(entry, "biz_id", "bizId") is not None


def is_inbound(entry: dict[str, Any]) -> bool:
    return "content" in entry and not is_report(entry)


def json_text(value: object) -> str:
    """Compact JSON as the vendor's examples write it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
