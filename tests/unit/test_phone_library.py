"""The layer ships phonenumberslite, not phonenumbers: the same parsing metadata without the
geocoder, carrier and timezone data (19.5 MB the gateway never reads).

The expectations in data/e164_expectations.json were recorded with the full phonenumbers 9.0.43
(`python tests/unit/test_phone_library.py` re-records them with whatever library is installed),
for every number-like string in tests/ and events/. The test proves that the library the project
runs with now gives the same E.164 results through phone.py's own functions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sms_gateway.errors import UnsupportedRecipient
from sms_gateway.phone import from_vendor, to_e164

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
EXPECTATIONS = Path(__file__).with_name("data") / "e164_expectations.json"
# A digit run of 7 to 15 digits, optionally after + or 00, with the spaces and dashes senders use.
NUMBER_LIKE = re.compile(r"(?<![\w.])(?:\+|00)?\d[\d -]{5,18}\d(?![\w.])")


def number_like_strings() -> list[str]:
    found: set[str] = set()
    for base in ("tests", "events"):
        for path in (ROOT / base).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".json", ".txt", ".xml", ".yaml", ".yml"}:
                for match in NUMBER_LIKE.finditer(path.read_text(encoding="utf-8", errors="ignore")):
                    text = match.group().strip()
                    if 7 <= len(re.sub(r"\D", "", text)) <= 15:
                        found.add(text)
    return sorted(found)


def results(raw: str) -> dict[str, str | None]:
    try:
        e164: str | None = to_e164(raw)
    except UnsupportedRecipient:
        e164 = None
    return {
        "to_e164": e164,
        "from_vendor": from_vendor(raw),
        "from_vendor_international": from_vendor(raw, international_digits=True),
    }


def test_phonenumberslite_gives_the_recorded_e164_results() -> None:
    # Given the results the full phonenumbers library gave for every number used in tests/ and events/
    recorded: dict[str, dict[str, str | None]] = json.loads(EXPECTATIONS.read_text(encoding="utf-8"))
    assert len(recorded) > 100
    assert sum(1 for r in recorded.values() if r["to_e164"]) > 50  # valid numbers, not only refusals

    # When the installed library parses them through phone.py
    now = {raw: results(raw) for raw in recorded}

    # Then every result is the same
    differing = {raw: (recorded[raw], now[raw]) for raw in recorded if now[raw] != recorded[raw]}
    assert differing == {}


if __name__ == "__main__":
    EXPECTATIONS.parent.mkdir(exist_ok=True)
    table = {raw: results(raw) for raw in number_like_strings()}
    EXPECTATIONS.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"recorded {len(table)} numbers in {EXPECTATIONS}")
