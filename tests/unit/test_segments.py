"""Segments as carriers count them: reference texts around each boundary (issue 14, item 4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sms_gateway.protection.segments import Encoding, measure

pytestmark = pytest.mark.unit

EMOJI = "\U0001f600"  # outside the BMP: two UTF-16 units

# (text, sign, encoding, segments)
REFERENCE: list[tuple[str, str | None, Encoding, int]] = [
    ("a" * 160, None, Encoding.GSM7, 1),
    ("a" * 161, None, Encoding.GSM7, 2),
    ("a" * 306, None, Encoding.GSM7, 2),
    ("a" * 307, None, Encoding.GSM7, 3),
    ("Hello @£$¥ èéù", None, Encoding.GSM7, 1),
    # Extension characters count double: 80 euros are 160 units, one more character makes 162.
    ("€" * 80, None, Encoding.GSM7, 1),
    ("€" * 80 + "a", None, Encoding.GSM7, 2),
    ("{}" * 40, None, Encoding.GSM7, 1),
    # An escape pair is never split: 152 units and a euro do not fit 153 in one part.
    ("a" * 152 + "€" + "a" * 10, None, Encoding.GSM7, 2),
    ("a" * 152 + "€" + "a" * 152, None, Encoding.GSM7, 3),
    ("中" * 70, None, Encoding.UCS2, 1),
    ("中" * 71, None, Encoding.UCS2, 2),
    ("中" * 134, None, Encoding.UCS2, 2),
    ("中" * 135, None, Encoding.UCS2, 3),
    # One character outside GSM-7 makes the whole text UCS-2.
    ("a" * 70, None, Encoding.GSM7, 1),
    ("a" * 69 + "中", None, Encoding.UCS2, 1),
    ("a" * 70 + "中", None, Encoding.UCS2, 2),
    # An emoji is two UTF-16 units, and a surrogate pair is never split.
    (EMOJI * 35, None, Encoding.UCS2, 1),
    (EMOJI * 35 + "a", None, Encoding.UCS2, 2),
    ("a" * 68 + EMOJI, None, Encoding.UCS2, 1),
    ("a" * 69 + EMOJI, None, Encoding.UCS2, 2),
    ("a" * 66 + EMOJI + "a" * 66, None, Encoding.UCS2, 3),
    # The 【sign】 is part of the text: 【圆通快递】 is 6 characters and makes ASCII UCS-2.
    ("中" * 64, "圆通快递", Encoding.UCS2, 1),
    ("中" * 65, "圆通快递", Encoding.UCS2, 2),
    ("a" * 64, "圆通快递", Encoding.UCS2, 1),
    # Content already carrying its sign is not signed twice.
    ("【圆通快递】" + "中" * 64, "圆通快递", Encoding.UCS2, 1),
]


@pytest.mark.parametrize(("text", "sign", "encoding", "segments"), REFERENCE)
def test_a_reference_text_has_the_carriers_encoding_and_segments(
    text: str, sign: str | None, encoding: Encoding, segments: int
) -> None:
    # Given a reference text and the sign it is sent with
    # When it is measured
    size = measure(text, sign)
    # Then its encoding and segment count are the carriers'
    assert (size.encoding, size.segments) == (encoding, segments)
    assert size.cost is None


def test_cost_is_the_price_per_segment_times_the_segments() -> None:
    # Given a three-part Chinese text and a price of 0.045 a segment
    # When it is measured
    size = measure("中" * 135, None, Decimal("0.045"))
    # Then it costs three segments
    assert size.cost == Decimal("0.135")
