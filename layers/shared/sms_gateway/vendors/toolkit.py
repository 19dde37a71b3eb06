"""Pure helpers every vendor adapter shares: vendor ids, code lists and signs.

A leaf (standard library only), so the canonical models and the accounts document use the same
sign rule as the adapters. Token refresh lives with the adapter (VendorAdapter.with_token): it
needs the token cache.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from decimal import Decimal

DIGITS = re.compile(r"^\d+$")
# A sign already in the text: a whole 【...】 at its start or its end.
_SIGNED = re.compile(r"^【[^【】]+】|【[^【】]+】$")


def vendor_id(value: object, *, floats: bool = True, drop_leading_zeros: bool = False) -> str | None:
    """A vendor id (or code) as text, normalised once whatever JSON type it came in; None when
    absent (null, empty, a boolean, an object or an array is no id).

    Ids can exceed int64 (001's 20-digit batchId) and come as a number in one place and a string
    in another: an integral number is written as its digits. ``floats`` False refuses a float
    (ValueError): a caller that parsed with floats may have lost digits. ``drop_leading_zeros``
    reads a digit string as the number it writes ("007" and 7 are one id).
    """
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, float) and not floats:
        raise ValueError("the id arrived as a float and may have lost digits")
    if isinstance(value, float | Decimal):
        with contextlib.suppress(ValueError, OverflowError, ArithmeticError):
            if value == int(value):
                value = int(value)
    text = str(value).strip()
    if drop_leading_zeros and DIGITS.match(text):
        text = str(int(text))
    return text or None


def code_of(value: object) -> str:
    """A code as text: "10000" and 10000 are the same code; "" when absent."""
    return vendor_id(value) or ""


def codes(value: object, default: Iterable[str] = ()) -> frozenset[str]:
    """A list of codes (an account option) as a set of texts: one code alone counts as a list of
    one, numbers and strings alike (429 and "429"); None gives ``default``."""
    if value is None:
        return frozenset(default)
    items = value if isinstance(value, list | tuple | set | frozenset) else [value]
    return frozenset(code for code in (code_of(item) for item in items) if code)


def bare_sign(sign: str | None) -> str | None:
    """A sign without its 【】 and surrounding spaces; None when nothing is left."""
    bare = sign.strip().removeprefix("【").removesuffix("】").strip() if sign else ""
    return bare or None


def carries_sign(text: str) -> bool:
    return _SIGNED.search(text) is not None


def frame_sign(content: str, sign: str | None) -> str:
    """The content with 【sign】 in front, for vendors that carry the sign in the text; left as it
    is when there is no sign or the text already carries one."""
    if not sign or carries_sign(content):
        return content
    return f"【{sign}】{content}"
