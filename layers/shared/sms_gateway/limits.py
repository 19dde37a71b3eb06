"""Bounds on what a vendor or a backend hands us, checked before or while parsing.

Python's json module recurses once per nesting level and keeps every collection whole, so a body
nested 100,000 levels deep raises RecursionError and one with a few million elements eats the
memory of a small function. Everything that reaches us (pushes, pulled answers, SQS send
requests) goes through load_json, which refuses such input with a short reason (never quoting a
value) before any of it becomes Python objects deeper than the table could hold anyway.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

MAX_PUSH_BYTES = 1_000_000  # far above any documented push (1000 records), far below Lambda's 6 MB
MAX_PULL_BYTES = 8_000_000  # action_v1 hands out up to 10,000 records a pull
MAX_SEND_REQUEST_BYTES = 262_144  # SQS's own limit for one message
# DynamoDB nests maps and lists 32 levels at most; no vendor record goes past four or five.
MAX_DEPTH = 32
MAX_ITEMS = 20_000  # elements of one array or members of one object
SAMPLE_BYTES = 2_048  # what is kept of a body too large to keep whole

# A JSON string, escapes included: brackets inside strings do not nest anything.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class InputRefused(ValueError):
    """Input outside the bounds, or not JSON. ``too_large`` distinguishes 413 from 400."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large


def nesting_depth(text: str, limit: int) -> int:
    """The deepest nesting of arrays and objects, counting no further than ``limit + 1``."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        else:
            depth -= 1
    return deepest


def _largest_collection(value: Any, limit: int) -> int:
    """The size of the largest array or object, walked without recursion."""
    largest, stack = 0, [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        largest = max(largest, len(current))
        if largest > limit:
            return largest
        stack.extend(c for c in children if isinstance(c, dict | list))
    return largest


def _non_finite(name: str) -> str:
    # NaN and Infinity are not JSON, and no table can store them: keep the vendor's text.
    return name


def load_json(
    data: bytes | str,
    *,
    max_bytes: int,
    max_depth: int = MAX_DEPTH,
    max_items: int = MAX_ITEMS,
    exact: bool = False,
) -> Any:
    """Parse JSON within bounds; InputRefused (a ValueError) with a short reason otherwise.

    ``exact`` reads decimals as Decimal, never float: for ids and amounts that must not round.
    """
    size = len(data)
    if size > max_bytes:
        raise InputRefused(f"body too large ({size} bytes; at most {max_bytes})", too_large=True)
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputRefused("body is not UTF-8") from exc
    else:
        text = data
    text = text.removeprefix("\ufeff")  # a byte order mark is not part of the JSON
    if not text.strip():
        raise InputRefused("empty body")
    if nesting_depth(text, max_depth) > max_depth:
        raise InputRefused(f"nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_float=Decimal if exact else float, parse_constant=_non_finite)
    except json.JSONDecodeError as exc:
        raise InputRefused(f"body is not valid JSON (line {exc.lineno} column {exc.colno})") from exc
    except (ValueError, RecursionError) as exc:  # an integer of more than 4300 digits, for one
        raise InputRefused(f"body is not readable JSON ({type(exc).__name__})") from exc
    if _largest_collection(value, max_items) > max_items:
        raise InputRefused(f"an array or object of more than {max_items} elements")
    return value
