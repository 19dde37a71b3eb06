"""Kept bodies (pushes and pulls as received), in a form a DynamoDB item (400 KB) can always hold."""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

from sms_gateway.limits import SAMPLE_BYTES

# Inline text up to this size, else compressed up to the other (the item limit is 400 KB,
# attribute names and the rest included).
INLINE_BODY_BYTES = 100_000
PACKED_BODY_BYTES = 300_000


def body_attributes(body: bytes, *, whole: bool = True) -> dict[str, Any]:
    """The text when it is short UTF-8, else the exact bytes compressed (Binary), else a sample
    with the size and a digest."""
    size, digest = len(body), hashlib.sha256(body).hexdigest()
    if whole and size <= INLINE_BODY_BYTES:
        try:
            return {"body": body.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    packed = zlib.compress(body, 6) if whole else b""
    if whole and len(packed) <= PACKED_BODY_BYTES:
        return {"body_z": packed, "body_bytes": size, "body_sha256": digest}
    return {
        "body_sample": body[:SAMPLE_BYTES].decode("utf-8", errors="replace"),
        "body_bytes": size,
        "body_sha256": digest,
        "truncated": True,
    }


def kept_body(item: dict[str, Any]) -> bytes | None:
    """The body of a kept push or pull as it was received; None when only a sample was kept."""
    if "body" in item:
        return str(item["body"]).encode("utf-8")
    if "body_z" in item:
        packed = item["body_z"]
        return zlib.decompress(bytes(packed.value if hasattr(packed, "value") else packed))
    return None
