"""Event source mapping FilterCriteria: EventBridge-style patterns matched against records.

Why it exists: Lambda drops the records no filter matches before it builds a batch (the
template's stream filter keeps only the items that become events). Implemented: exact values
and lists of values on nested keys (the subset the template uses), plus ``exists``,
``prefix``, ``anything-but`` and ``numeric`` as the usual neighbours. Any other operator is
refused when the runner starts, never silently ignored.

Semantics as in EventBridge: every key of the pattern must match (AND), a list in the pattern
matches when any of its entries matches (OR), a list in the record matches when any element
matches, and several filters of one mapping are OR-ed. For SQS, ``body`` is matched as JSON
when the body is a JSON object (as Lambda does), else as the plain string.
"""

from __future__ import annotations

import json
from typing import Any

_MISSING = object()
SUPPORTED_OPERATORS = frozenset({"exists", "prefix", "anything-but", "numeric"})


class UnsupportedPattern(ValueError):
    pass


def validate(pattern: Any, where: str = "pattern") -> None:
    if not isinstance(pattern, dict):
        raise UnsupportedPattern(f"{where}: a pattern is a JSON object")
    for key, value in pattern.items():
        if isinstance(value, dict):
            validate(value, f"{where}.{key}")
        elif isinstance(value, list):
            for entry in value:
                if isinstance(entry, dict):
                    unknown = set(entry) - SUPPORTED_OPERATORS
                    if unknown or len(entry) != 1:
                        raise UnsupportedPattern(
                            f"{where}.{key}: unsupported filter operator {sorted(entry)}"
                        )
                elif isinstance(entry, list):
                    raise UnsupportedPattern(f"{where}.{key}: nested lists are not a pattern")
        else:
            raise UnsupportedPattern(f"{where}.{key}: pattern values are objects or lists, not {value!r}")


def matches_any(patterns: tuple[dict[str, Any], ...] | list[dict[str, Any]], record: Any) -> bool:
    """No filters: everything matches."""
    return not patterns or any(matches(p, record) for p in patterns)


def matches(pattern: dict[str, Any], record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    for key, expected in pattern.items():
        actual = record.get(key, _MISSING)
        if isinstance(expected, dict):
            if not matches(expected, actual):
                return False
        elif not _value_matches(expected, actual):
            return False
    return True


def _value_matches(alternatives: list[Any], actual: Any) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    for alternative in alternatives:
        if isinstance(alternative, dict):
            if _operator(alternative, actual, values):
                return True
        elif actual is not _MISSING and any(_equal(alternative, v) for v in values):
            return True
    return False


def _equal(expected: Any, value: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if isinstance(expected, (int, float)) and isinstance(value, (int, float)):
        return float(expected) == float(value)
    return bool(expected == value)


def _operator(operator: dict[str, Any], actual: Any, values: list[Any]) -> bool:
    ((name, argument),) = operator.items()
    if name == "exists":
        return (actual is not _MISSING) is bool(argument)
    if actual is _MISSING:
        return False
    if name == "prefix":
        return any(isinstance(v, str) and v.startswith(str(argument)) for v in values)
    if name == "anything-but":
        excluded = argument if isinstance(argument, list) else [argument]
        return all(not any(_equal(e, v) for e in excluded) for v in values)
    if name == "numeric":
        return any(_numeric(argument, v) for v in values)
    raise UnsupportedPattern(f"unsupported filter operator {name!r}")


def _numeric(conditions: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    checks = {"<": float.__lt__, "<=": float.__le__, "=": float.__eq__, ">": float.__gt__, ">=": float.__ge__}
    for op, bound in zip(conditions[::2], conditions[1::2], strict=False):
        if op not in checks or not checks[op](float(value), float(bound)):
            return False
    return True


def sqs_filter_view(record: dict[str, Any]) -> dict[str, Any]:
    """The record as Lambda's SQS filtering sees it: a JSON body is matched as an object."""
    body = record.get("body")
    try:
        parsed = json.loads(body) if isinstance(body, str) else body
    except ValueError:
        parsed = body
    return {**record, "body": parsed if isinstance(parsed, dict) else body}
