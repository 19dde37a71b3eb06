"""The delivery engine: a scheduler thread turns due messages into reports and queued MO into
MO records, then pushes them (checking the acknowledgement as the vendor would, with the
vendor's retry policy) or keeps them for the vendor's pull endpoints."""

from __future__ import annotations

import heapq
import http.client
import json
import threading
import time
import urllib.parse
from typing import Any

from .core import Event, SimCore
from .wire import log


class SchedulerMixin(SimCore):
    def wait_idle(self, timeout: float = 5.0, *, patience: float | None = None) -> bool:
        """Wait until every report/MO due within ``timeout`` (simulator seconds from now) is
        delivered (pushed with its retries done, or queued for pull). False if that did not happen
        within ``patience`` wall-clock seconds (default: ``timeout`` plus 30 s, so a loaded machine
        that runs the scheduler late does not fail a test that would pass on an idle one)."""
        with self._lock:
            horizon = self.now() + timeout
        deadline = time.monotonic() + (timeout + 30.0 if patience is None else patience)
        while True:
            with self._lock:
                pending = any(event[0] <= horizon for event in self._events)
                if not pending and self._inflight == 0 and self._busy == 0:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def build_pushes(self, reports: list[dict[str, Any]], mos: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Push requests for due records: reports to the report URL, MO to the MO URL."""
        pushes = [
            {"kind": "report", "url": self.push_report_url, "body": body}
            for body in (self.report_push_bodies(reports) if reports else [])
        ]
        pushes += [
            {"kind": "mo", "url": self.push_mo_url, "body": body}
            for body in (self.mo_push_bodies(mos) if mos else [])
        ]
        return pushes

    def push_targets(self) -> tuple[str | None, str | None]:
        """(report URL, MO URL) actually used for pushing; None keeps that kind for pull."""
        if self.delivery != "push":
            return None, None
        return self.push_report_url, self.push_mo_url

    # ------------------------------------------------------------------ scheduler

    def _schedule(self, due: float, kind: str, payload: Any) -> None:
        # caller holds the lock
        heapq.heappush(self._events, (due, next(self._seq), kind, payload))
        self._wake.notify_all()

    def _run_scheduler(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                now = self.now()
                due = []
                while self._events and self._events[0][0] <= now:
                    due.append(heapq.heappop(self._events))
                if not due:
                    wait = 0.05 if not self._events else min(max(self._events[0][0] - now, 0.001), 0.05)
                    self._wake.wait(wait)
                    continue
                self._busy += 1
            try:
                self._process_due(due)
            except Exception:  # never let one bad record stop the scheduler
                log.exception("%s simulator: delivering due records failed", self.vendor)
            finally:
                with self._lock:
                    self._busy -= 1

    def _process_due(self, events: list[Event]) -> None:
        reports = [payload for _, _, kind, payload in events if kind == "report"]
        mos = [payload for _, _, kind, payload in events if kind == "mo"]
        retries = [payload for _, _, kind, payload in events if kind == "retry"]
        report_url, mo_url = self.push_targets()
        with self._lock:
            for msg in reports:
                msg["status"] = msg["outcome"]
                msg["reported_at"] = self.now()
            if not report_url and self.REPORT_QUEUE:
                self._report_queue.extend(reports)
            if not mo_url:
                self._mo_queue.extend(mos)
        pushes = self.build_pushes(reports if report_url else [], mos if mo_url else [])
        for push in pushes:
            push["body"] = self._garble_push(push)
        for push in pushes:
            self._start_push(dict(push, attempt=1))
        for push in retries:
            self._start_push(push)

    # ------------------------------------------------------------------ pushes

    def _garble_push(self, push: dict[str, Any]) -> Any:
        body = push["body"]
        kinds = ("report", "mo") if push["kind"] == "mixed" else (push["kind"],)
        for kind in kinds:
            if isinstance(body, list):
                garbled = self.with_bad_record(kind, body)
                if garbled is not body:
                    return garbled
            elif isinstance(body, dict) and isinstance(body.get("data"), list):
                data = self.with_bad_record(kind, body["data"])
                if data is not body["data"]:
                    return (
                        {**body, "count": len(data), "data": data}
                        if "count" in body
                        else {**body, "data": data}
                    )
        return body

    def _start_push(self, push: dict[str, Any]) -> None:
        with self._lock:
            self._inflight += 1
        threading.Thread(target=self._do_push, args=(push,), daemon=True, name=f"{self.vendor}-push").start()

    def _do_push(self, push: dict[str, Any]) -> None:
        try:
            data = json.dumps(push["body"], ensure_ascii=False).encode("utf-8")
            headers = {
                "Content-Type": "application/json;charset=UTF-8",
                **self.push_request_headers(),
                **self.push_headers,
            }
            status, answer, error = None, "", None
            try:
                status, answer = _post(push["url"], data, headers, self.push_timeout)
            except Exception as exc:  # refused, reset, timed out: the push failed
                error = f"{type(exc).__name__}: {exc}"
            accepted = error is None and self.ack_ok(push["kind"], status, answer)
            record = {
                "kind": push["kind"],
                "url": push["url"],
                "body": push["body"],
                "headers": headers,
                "attempt": push["attempt"],
                "http_status": status,
                "answer": answer,
                "accepted": accepted,
                "error": error,
                "time": time.time(),
            }
            with self._wake:
                self._pushes.append(record)
                if not accepted and push["attempt"] <= self.push_retries and not self._stopping.is_set():
                    retry = dict(push, attempt=push["attempt"] + 1)
                    self._schedule(self.now() + self.push_retry_interval, "retry", retry)
        except Exception:
            log.exception("%s simulator: push failed unexpectedly", self.vendor)
        finally:
            with self._lock:
                self._inflight -= 1


def _post(url: str, data: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST with http.client, which keeps header names as written (``appKey``, not the
    ``Appkey`` urllib would send) and never goes through a proxy."""
    split = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if split.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(split.hostname or "", split.port, timeout=timeout)
    try:
        target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        connection.request("POST", target, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()
