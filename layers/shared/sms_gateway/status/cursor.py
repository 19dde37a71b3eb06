"""Opaque page cursors: a DynamoDB LastEvaluatedKey, bound to the query it came from.

A cursor is only ever handed back to DynamoDB after it was checked to be one of ours for the same
query: a forged or foreign one is a 400, never a ValidationException from DynamoDB (a 500).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sms_gateway.errors import SmsGatewayError

MAX_CURSOR_CHARS = 2048


class InvalidQuery(SmsGatewayError):
    """A request the status API cannot answer as asked (a 400): bad id, number, time or cursor."""


def encode(scope: str, last_key: dict[str, Any] | None) -> str | None:
    """The cursor of the next page, or None when this page was the last."""
    if not last_key:
        return None
    plain = {name: value["S"] for name, value in last_key.items() if "S" in value}
    if len(plain) != len(last_key):
        return None  # every key of the table and its indexes is a string
    text = json.dumps({"q": scope, "k": plain}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(
    scope: str, cursor: str | None, names: frozenset[str], fixed: dict[str, str]
) -> dict[str, Any] | None:
    """The ExclusiveStartKey a cursor stands for; InvalidQuery unless it is ours, for this query.

    ``fixed``: the key attributes the query pins (its partition key): DynamoDB refuses a start key
    outside the query's bounds with a ValidationException."""
    if cursor is None:
        return None
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidQuery("cursor is not valid")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidQuery("cursor is not valid") from None
    if not isinstance(data, dict) or data.get("q") != scope:
        raise InvalidQuery("cursor belongs to another query")
    key = data.get("k")
    if (
        not isinstance(key, dict)
        or set(key) != names
        or not all(isinstance(v, str) and 0 < len(v) <= 1024 for v in key.values())
    ):
        raise InvalidQuery("cursor is not valid")
    if any(key.get(name) != value for name, value in fixed.items()):
        raise InvalidQuery("cursor belongs to another query")
    return {name: {"S": value} for name, value in key.items()}
