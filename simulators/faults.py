"""Fault injection: vendor calls that fail (503, gateway errors, non-JSON, timeouts) and pushes
or pulls carrying one unreadable record."""

from __future__ import annotations

from typing import Any

from .core import SimCore
from .wire import FAULT_KINDS, UNREADABLE_RECORD


class FaultsMixin(SimCore):
    def inject_fault(
        self,
        kind: str,
        count: int = 1,
        path: str | None = None,
        seconds: float | None = None,
        then: str = "answer",
    ) -> None:
        """Make the next ``count`` matching vendor calls fail.

        ``5xx``: HTTP 503 (not processed). ``502``/``504``: a gateway error, processed or not
        as the reading ``gateway_error`` says. ``non_json``: HTTP 200 with an HTML page. ``timeout``: sleep
        ``seconds`` (default ``fault_timeout``) and then ``answer`` normally (the call IS
        processed, as a slow vendor would) or ``drop`` the connection unprocessed.
        ``path`` is a request path (``/sms/send``) or an endpoint key (``/sms?action=send``);
        ``None`` matches every vendor call.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {kind!r}")
        if then not in ("answer", "drop"):
            raise ValueError("then must be 'answer' or 'drop'")
        if int(count) < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(
                {"kind": kind, "count": int(count), "path": path, "seconds": seconds, "then": then}
            )

    def inject_bad_record(self, kind: str = "report", count: int = 1) -> None:
        """The next ``count`` pushes or pulls carrying ``kind`` records (``report`` or ``mo``) hold
        one unreadable record among the good ones. The documents show only well-formed records,
        yet their JSON examples are not always valid (vendor-docs README): a receiver must keep
        the good ones. Vendors that push one object per POST (002, 003) garble pulls only."""
        if kind not in ("report", "mo"):
            raise ValueError("kind must be 'report' or 'mo'")
        if int(count) < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._bad_records[kind] += int(count)

    def with_bad_record(self, kind: str, records: list[Any]) -> list[Any]:
        """``records`` plus one unreadable record when one is due for this kind (pulls call this)."""
        with self._lock:
            if not records or self._bad_records[kind] <= 0:
                return records
            self._bad_records[kind] -= 1
        return [*records, dict(UNREADABLE_RECORD)]

    def _take_fault(self, path: str, endpoint: str) -> dict[str, Any] | None:
        # caller holds the lock
        for fault in self._faults:
            if fault["path"] in (None, path, endpoint):
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self._faults.remove(fault)
                return fault
        return None
