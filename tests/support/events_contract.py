"""Every event a test reads from the bus is checked against the schema shipped for its detail-type
(schemas/, generated from sms_gateway/contract.py): tests/support/aws.py and the e2e event taps
call ``validate_event`` on each event they receive."""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import Draft4Validator

from tests.support.template import ROOT

SCHEMAS = ROOT / "schemas"


@functools.cache
def _validator(detail_type: str) -> Draft4Validator:
    from sms_gateway.contract import schema_name

    path = SCHEMAS / schema_name(detail_type)
    assert path.is_file(), f"no shipped schema for detail-type {detail_type!r} ({path.name})"
    return Draft4Validator(json.loads(path.read_text()))


def violations(event: dict[str, Any]) -> list[str]:
    """What is wrong with ``event`` against its shipped schema: field paths and messages."""
    detail_type = event.get("detail-type")
    if not isinstance(detail_type, str):
        return ["the event has no detail-type"]
    return [
        f"{detail_type}: {'/'.join(str(p) for p in error.absolute_path) or '(event)'}: {error.message}"
        for error in _validator(detail_type).iter_errors(event)
    ]


def validate_event(event: dict[str, Any]) -> dict[str, Any]:
    """``event``, after asserting that it validates against its shipped schema."""
    problems = violations(event)
    assert not problems, problems
    return event
