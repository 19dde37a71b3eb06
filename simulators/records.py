"""Records: every request received, calls per endpoint, every push, message and MO, the pull
queues, and what the simulator state looks like from outside (all under the one lock)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .core import SimCore


class RecordsMixin(SimCore):
    @property
    def received(self) -> list[dict[str, Any]]:
        """Every vendor request received (control calls excluded), oldest first."""
        with self._lock:
            return list(self._received)

    def calls(self, path: str | None = None) -> int:
        """Vendor calls for a path or endpoint key (``/sms`` counts every action of
        action_v1, ``/sms?action=send`` only sends); all calls when ``path`` is None."""
        with self._lock:
            return sum(
                n
                for key, n in self._calls.items()
                if path is None or key == path or key.split("?")[0] == path
            )

    def calls_by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    @property
    def pushes(self) -> list[dict[str, Any]]:
        """Every push attempt: kind, url, body, headers, attempt, http_status, answer,
        accepted, error, time."""
        with self._lock:
            return [dict(p) for p in self._pushes]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """One record per submitted recipient: id (the vendor message id), mobile,
        content, status (submitted, a final outcome name, or rejected), outcome, code,
        scheduled, submitted_at, due_at, reported_at and vendor extras."""
        with self._lock:
            return [dict(m) for m in self._messages]

    @property
    def mos(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._mos]

    def pending_pull(self) -> dict[str, int]:
        with self._lock:
            return {"reports": len(self._report_queue), "mo": len(self._mo_queue)}

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "vendor": self.vendor,
                "name": self.name,
                "url": self.url,
                "calls": dict(self._calls),
                "received": len(self._received),
                "pushes": self.pushes,
                "messages": self.messages,
                "mos": self.mos,
                "pending_pull": self.pending_pull(),
                "config": self.config(),
                "balance": self.balance,
                "faults": [dict(f) for f in self._faults],
                "readings": dict(self.readings),
                "bad_records_pending": {k: n for k, n in self._bad_records.items() if n > 0},
            }

    # ------------------------------------------------------------------ MO

    def queue_mo(
        self, mobile: str, content: str, ext_no: str | None = None, delay: float = 0.0, **extra: Any
    ) -> dict[str, Any]:
        """An uplink message from ``mobile`` reaching the vendor ``delay`` seconds from now;
        then pushed or kept for pull per the delivery mode. ``ext_no`` is the extension
        (action_v1: the access code) the user replied to."""
        if not self.HAS_MO:
            raise NotImplementedError(f"{self.vendor} has no MO (uplink) in its document")
        arrives = self.now() + float(delay)
        mo = {
            "id": self.new_mo_id(),
            "mobile": str(mobile),
            "content": str(content),
            "ext_no": "" if ext_no is None else str(ext_no),
            "received_at": arrives,
            **extra,
        }
        with self._wake:
            self._mos.append(mo)
            self._schedule(arrives, "mo", mo)
        return dict(mo)

    def new_mo_id(self) -> str:
        return str(next(self._ids))

    # ------------------------------------------------------------------ messages (for vendors)

    def new_message(
        self,
        msg_id: Any,
        mobile: str,
        content: str,
        *,
        scheduled: float | None = None,
        scheduled_text: str | None = None,
        outcome: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Record one accepted recipient and schedule its report."""
        now = self.now()
        outcome = outcome or self.outcome_for(mobile)
        start = now
        if scheduled is not None and self.honor_schedule:
            start = max(now, scheduled)
        msg = {
            "id": str(msg_id),
            "mobile": mobile,
            "content": content,
            "status": "submitted",
            "outcome": outcome,
            "code": self.report_code(outcome),
            "scheduled": scheduled_text,
            "submitted_at": now,
            "due_at": start + self.report_delay,
            "reported_at": None,
            **extra,
        }
        with self._wake:
            self._messages.append(msg)
            if outcome != "none":
                self._schedule(msg["due_at"], "report", msg)
        return msg

    def record_rejected(
        self, msg_id: Any, mobile: str, content: str, code: Any, **extra: Any
    ) -> dict[str, Any]:
        """Record a recipient refused at submit time (no report will come)."""
        msg = {
            "id": str(msg_id),
            "mobile": mobile,
            "content": content,
            "status": "rejected",
            "outcome": None,
            "code": code,
            "scheduled": None,
            "submitted_at": self.now(),
            "due_at": None,
            "reported_at": None,
            **extra,
        }
        with self._lock:
            self._messages.append(msg)
        return msg

    def find_messages(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self._messages if predicate(m)]

    def take_reports(
        self, limit: int | None = None, predicate: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Hand out queued reports once (pulls are destructive)."""
        return self._take(self._report_queue, limit, predicate)

    def take_mos(
        self, limit: int | None = None, predicate: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        return self._take(self._mo_queue, limit, predicate)

    def _take(
        self,
        queue: list[dict[str, Any]],
        limit: int | None,
        predicate: Callable[[dict[str, Any]], bool] | None,
    ) -> list[dict[str, Any]]:
        # Under the reading pull_handout=twice (documents silent on it) a record stays queued
        # until a second pull has handed it out as well.
        handouts = 2 if self.readings.get("pull_handout") == "twice" else 1
        with self._lock:
            taken: list[dict[str, Any]] = []
            kept: list[dict[str, Any]] = []
            for item in queue:
                if (limit is None or len(taken) < limit) and (predicate is None or predicate(item)):
                    taken.append(item)
                    seen = self._handed_out.get(id(item), 0) + 1
                    if seen < handouts:
                        self._handed_out[id(item)] = seen
                        kept.append(item)
                    else:
                        self._handed_out.pop(id(item), None)
                else:
                    kept.append(item)
            queue[:] = kept
            return taken
