"""The events of protection items, published from the table stream like every other event."""

from __future__ import annotations

from typing import Any

from sms_gateway.detail_types import CANCEL_ACCEPTED, CANCEL_REFUSED, CANCELLED, OPT_IN, OPT_OUT, VERSION
from sms_gateway.store.keys import CANCEL, SUPPRESSION

__all__ = ["CANCELLED", "CANCEL_ACCEPTED", "CANCEL_REFUSED", "OPT_IN", "OPT_OUT", "protection_events"]
PROTECTION_EVENTS = frozenset({SUPPRESSION, CANCEL})


def protection_events(
    kind: str, change: str, new: dict[str, Any], old: dict[str, Any] | None
) -> list[tuple[str, dict[str, Any]]]:
    if kind == SUPPRESSION:
        if old is not None and bool(old.get("opted_out")) == bool(new.get("opted_out")):
            return []
        detail = {
            "version": VERSION,
            "account": new.get("account"),
            "sign": new.get("sign"),
            "recipient": new.get("number"),
            "keyword": new.get("keyword"),
            "source": new.get("source"),
            "occurred_at": new.get("changed_at"),
        }
        return [(OPT_OUT if new.get("opted_out") else OPT_IN, detail)]
    if kind == CANCEL and change == "INSERT":
        detail = {
            "version": VERSION,
            "message_id": new.get("message_id"),
            "outcome": new.get("outcome"),
            "reason": new.get("reason"),
            "occurred_at": new.get("requested_at"),
        }
        return [(CANCEL_ACCEPTED if new.get("outcome") == "cancelled" else CANCEL_REFUSED, detail)]
    return []
