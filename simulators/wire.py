"""What every simulator room and vendor module shares: constants, small helpers, and the HTTP
request and reply as the simulator sees them. Only the Python standard library is used."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import string
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import timedelta, timezone
from typing import Any, TypeVar

log = logging.getLogger("simulators")

#: Vendor timestamps carry no zone: they are China Standard Time unless an account says otherwise.
CHINA_TZ = timezone(timedelta(hours=8), "CST")

#: Outcome names understood by every simulator. Each vendor maps them to its own codes
#: (``OUTCOME_CODES`` in the vendor module). ``none`` means the report never comes.
OUTCOMES = ("delivered", "undelivered", "expired", "rejected", "blacklisted", "unknown", "none")

#: ``5xx`` is a 503 page from the vendor itself; ``502``/``504`` are a gateway in front of it,
#: and whether that gateway had forwarded the request is the reading ``gateway_error``.
FAULT_KINDS = ("5xx", "502", "504", "timeout", "non_json")

#: China mainland mobile numbers as the domestic vendors expect them (no country code).
CN_MOBILE = re.compile(r"^1\d{10}$")

#: what ``inject_bad_record`` adds: valid JSON, but none of any vendor's fields
UNREADABLE_RECORD: dict[str, Any] = {"garbled": "记录不可读"}

T = TypeVar("T")

# --------------------------------------------------------------------------- helpers


def md5_hex(text: str) -> str:
    """Lower-case hex MD5 of ``text`` encoded as UTF-8."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def mask_mobile(mobile: str) -> str:
    """Mask a number the way pwd_v1's pulls show it: ``13512349831`` -> ``135****9831``."""
    if len(mobile) >= 8:
        return mobile[:3] + "****" + mobile[-4:]
    return mobile[:1] + "*" * max(len(mobile) - 2, 0) + mobile[-1:]


def split_mobiles(value: Any) -> list[str]:
    """Split an ASCII-comma separated number list; blanks around and empty items are dropped."""
    if value is None:
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def sms_segments(content: str) -> int:
    """Billing segments of one SMS: 70 characters fit one, longer texts go by 67."""
    length = len(content or "")
    return 1 if length <= 70 else -(-length // 67)


def random_token(length: int = 64) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def answer_code(answer: str) -> Any:
    """The ``code`` field of a JSON object answer, or None when the answer is not one."""
    try:
        body = json.loads(answer)
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def as_int_code(code: Any) -> Any:
    """An error code as an int where it is one (``"1007"`` -> 1007), else unchanged."""
    text = str(code).strip()
    return int(text) if text.lstrip("-").isdigit() else code


def is_vendor_code(text: str) -> bool:
    """A raw vendor code (``MA:0029``, ``DB:0141``, ``16``) has no lower-case letters;
    this keeps a typo of an outcome name (``undelivred``) from passing as a code."""
    return bool(text) and not any(ch.islower() for ch in text)


# --------------------------------------------------------------------------- request / reply


class SimRequest:
    """One HTTP request as the simulator saw it, parsed once."""

    def __init__(self, method: str, path: str, query_string: str, headers: Mapping[str, str], body: bytes):
        self.method = method.upper()
        self.path = path
        self.query_string = query_string
        self.headers = dict(headers.items())
        self.raw = body
        self.text = body.decode("utf-8", "replace")
        self.time = time.time()
        self.query = _first_values(urllib.parse.parse_qs(query_string, keep_blank_values=True))
        self.media_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        self.form: dict[str, str] = {}
        self.json: Any = None
        self.json_error: str | None = None
        if self.media_type == "application/x-www-form-urlencoded":
            self.form = _first_values(
                urllib.parse.parse_qs(self.text, keep_blank_values=True, encoding="utf-8")
            )
        elif self.media_type == "application/json" or self.media_type.endswith("+json"):
            if body.strip():
                try:
                    self.json = json.loads(self.text)
                except ValueError as exc:
                    self.json_error = f"body is not valid JSON: {exc}"
            else:
                self.json_error = "empty body where a JSON body is required"

    @property
    def is_form(self) -> bool:
        return self.media_type == "application/x-www-form-urlencoded"

    @property
    def is_json(self) -> bool:
        return self.media_type == "application/json" or self.media_type.endswith("+json")

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def record(self, endpoint: str) -> dict[str, Any]:
        """The form kept in ``BaseSimulator.received``."""
        return {
            "method": self.method,
            "path": self.path,
            "endpoint": endpoint,
            "query": dict(self.query),
            "headers": dict(self.headers),
            "form": dict(self.form),
            "json": self.json,
            "raw": self.text,
            "time": self.time,
        }


def _first_values(parsed: dict[str, list[str]]) -> dict[str, str]:
    # A repeated key keeps its first value (004's own example repeats action=report).
    return {key: values[0] for key, values in parsed.items()}


class Reply:
    """An HTTP answer: status, body bytes and content type."""

    def __init__(
        self, status: int = 200, body: bytes = b"", content_type: str = "application/json;charset=UTF-8"
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type


def json_reply(obj: Any, status: int = 200) -> Reply:
    # Python ints are written exactly, so a 20-digit id stays a 20-digit number literal.
    return Reply(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"))


def text_reply(text: str, status: int = 200, content_type: str = "text/plain;charset=UTF-8") -> Reply:
    return Reply(status, text.encode("utf-8"), content_type)


class VendorError(Exception):
    """Raised by a vendor handler to answer with the vendor's own error format."""

    def __init__(self, reply: Reply, reason: str = "") -> None:
        super().__init__(reason)
        self.reply = reply


def iter_chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
