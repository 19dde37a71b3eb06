"""Reading the metrics a test's code wrote to stdout as CloudWatch embedded metric format (EMF)."""

from __future__ import annotations

import json
from typing import Any

SERVICE = "sms-gateway"  # tests/conftest.py's POWERTOOLS_SERVICE_NAME


def documents(text: str) -> list[dict[str, Any]]:
    """Every EMF document among the lines of ``text`` (other lines are ignored)."""
    found = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            found.append(document)
    return found


def values(text: str, name: str, **dimensions: str) -> list[float]:
    """The values of metric ``name`` in the documents whose dimension set is exactly ``dimensions``
    (plus the service dimension Powertools adds), all of them in order."""
    wanted = {"service": SERVICE, **dimensions}
    out: list[float] = []
    for document in documents(text):
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        (dimension_set,) = directive["Dimensions"]
        names = {m["Name"] for m in directive["Metrics"]}
        if (
            name in names
            and {k: document.get(k) for k in dimension_set} == wanted
            and set(dimension_set) == set(wanted)
        ):
            value = document[name]
            out.extend(value if isinstance(value, list) else [value])
    return out
