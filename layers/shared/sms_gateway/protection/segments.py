"""Segments and encoding, counted the way carriers count them (3GPP TS 23.038 / 23.040).

A text that fits the GSM-7 default alphabet is sent in 7-bit units: 160 in one SMS, 153 a part of
a concatenated one (the user data header takes 7). The extension table's characters (``^{}\\[~]|€``
and form feed) take an escape unit and so count double, and a part never splits an escape pair.
Anything else (Chinese, most emoji) is UCS-2: 70 in one SMS, 67 a part, each UTF-16 code unit
counting once, so an emoji outside the BMP counts two and a part never splits a surrogate pair.
The sign (【sign】) travels in the text and is counted with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, kw_only=True)
class MessageSize:
    encoding: Encoding
    segments: int
    cost: Decimal | None = None


def encoding_of(text: str) -> Encoding:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        return Encoding.GSM7
    return Encoding.UCS2


def _units(text: str, encoding: Encoding) -> list[int]:
    """The width of each character in the encoding's units (an escape pair or surrogate pair is 2)."""
    if encoding is Encoding.GSM7:
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def segments_of(text: str, encoding: Encoding) -> int:
    units = _units(text, encoding)
    single, part = (GSM7_SINGLE, GSM7_PART) if encoding is Encoding.GSM7 else (UCS2_SINGLE, UCS2_PART)
    if sum(units) <= single:
        return 1
    # Parts are filled character by character: a character that does not fit starts the next part.
    parts, used = 1, 0
    for width in units:
        if used + width > part:
            parts, used = parts + 1, 0
        used += width
    return parts


def signed_text(content: str, sign: str | None) -> str:
    """The text as the phone receives it: the 【sign】 in front, unless the content carries one."""
    if not sign or content.lstrip().startswith("【"):
        return content
    return f"【{sign}】{content}"


def measure(content: str, sign: str | None, price_per_segment: Decimal | None = None) -> MessageSize:
    text = signed_text(content, sign)
    encoding = encoding_of(text)
    count = segments_of(text, encoding)
    cost = None if price_per_segment is None else price_per_segment * count
    return MessageSize(encoding=encoding, segments=count, cost=cost)
