"""Readings: where a vendor document is silent or ambiguous, each reasonable reading is a named
switch (``Reading``); ``simulators/READINGS.md`` lists them with the document lines they cite."""

from __future__ import annotations

from typing import Any


class Reading:
    """One place where a vendor document is silent or ambiguous: the readings it allows.

    ``cite`` names the document lines; ``default`` is the reading used unless chosen otherwise.
    """

    def __init__(self, choices: tuple[str, ...], default: str, cite: str, doc: str) -> None:
        if default not in choices:
            raise ValueError(f"default {default!r} is not one of {choices}")
        self.choices = choices
        self.default = default
        self.cite = cite
        self.doc = doc

    def as_dict(self) -> dict[str, Any]:
        return {"choices": list(self.choices), "default": self.default, "cite": self.cite, "doc": self.doc}


#: Readings every simulator offers.
COMMON_READINGS: dict[str, Reading] = {
    # No document says what a gateway error in front of the vendor means (vendor-docs README:
    # "which refusals mean the call was not sent"): it may have forwarded the request first.
    "gateway_error": Reading(
        ("not_forwarded", "forwarded"),
        "not_forwarded",
        "no document; vendor-docs/README.md 'Where the documents are silent'",
        "an injected 502/504 fault: the gateway answered without forwarding (nothing sent), "
        "or forwarded the request (the SMS was sent) and lost the vendor's answer",
    ),
}

#: The reading of push retries for vendors whose documents say nothing about re-pushing
#: (000, 001, 004): "none" is what they promise, "twice" what 002 does.
REPUSH_SILENT = Reading(
    ("none", "twice"),
    "none",
    "{doc}: silent on re-pushing (only 002 L463 re-pushes twice; 003 L167 pushes once)",
    "re-push a push that was not acked: never, or twice more like 002",
)

#: How a number the vendor cannot send to is answered inside a call, where the document does
#: not say whether one bad number refuses the whole call.
BAD_NUMBER = Reading(
    ("whole_call", "per_number"),
    "whole_call",
    "{doc}: silent on one bad number among good ones",
    "one malformed number refuses the whole call, or the call is accepted and only that "
    "number gets a failed report",
)


#: Whether a pulled record is gone once handed out, where the document does not say.
PULL_HANDOUT = Reading(
    ("once", "twice"),
    "once",
    "{doc}: silent on whether a pulled record is handed out again",
    "a pulled record is handed out once, or by two pulls in a row (a later pull repeats it)",
)


def reading(doc: str, template: Reading) -> Reading:
    """A copy of a shared reading with its citation filled in for one document."""
    return Reading(template.choices, template.default, template.cite.format(doc=doc), template.doc)
