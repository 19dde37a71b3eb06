"""The one scripted action_v1 fake of the tests (document 004_cb8a16e64a688ed7.txt), over the
shared HTTP stub: checks the signature (``MD5(password+extno+content+mobile)`` for send,
``MD5(password)`` otherwise), assigns mids, answers per recipient, and hands out queued reports
and MO on pull (once each, as the vendor does). With ``push_url`` set, each send's reports are
pushed there after ``report_delay`` and the acknowledgements kept in ``pushes``. With
``account`` set (the runner's e2e tests) the account and ``rt=json`` are checked as well.
The project's simulator (simulators/action_v1.py) is the full vendor; this fake is for tests
that script single answers."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Self

from tests.support.http_stub import HttpStub, Received, Reply

CHINA = timezone(timedelta(hours=8))
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class ActionV1Vendor:
    server: HttpStub = field(default_factory=HttpStub)
    password: str = "s3cret-pass"
    results: dict[str, int] = field(default_factory=dict)  # mobile -> RESULT code (default 0)
    reports: list[dict[str, Any]] = field(default_factory=list)
    mo: list[dict[str, Any]] = field(default_factory=list)
    balance_li: int = 153_278_040
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses to answer next
    sent: dict[str, str] = field(default_factory=dict)  # mobile -> last mid
    account: str | None = None  # checked, with rt=json, when set
    unavailable_for: set[str] = field(default_factory=set)  # sends to these answer STATUS 5 (其它错误)
    push_url: str | None = None
    report_delay: float = 0.2
    pushes: list[dict[str, Any]] = field(default_factory=list)  # url, body, status, answer
    _mids: Any = field(default_factory=lambda: itertools.count(0x4C2CA88382720003))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server.responder = self.answer

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def calls(self) -> list[dict[str, str]]:
        return [r.form for r in self.server.requests() if r.path == "/sms"]

    def calls_of(self, action: str) -> list[dict[str, str]]:
        return [c for c in self.calls if c.get("action") == action]

    def sends(self) -> list[dict[str, str]]:
        return self.calls_of("send")

    def answer(self, request: Received) -> Reply:
        if self.fail_next:
            return Reply(self.fail_next.pop(0), "<html>busy</html>", "text/html")
        refused = self._refused(request)
        if refused is not None:
            return refused
        form = request.form
        action = form.get("action")
        if action in {"send", "p2p"}:
            return self._send(action, form)
        if action == "balance":
            return Reply(body={"status": 0, "balance": self.balance_li, "chargeType": "PRECHARGE"})
        if action in {"report", "mo"}:
            queue = self.reports if action == "report" else self.mo
            size = int(form.get("size", 1000))
            handed, queue[:] = queue[:size], queue[size:]
            return Reply(body={"status": "0", "balance": self.balance_li, "list": handed})
        return Reply(body={"status": "1", "list": []})

    def _refused(self, request: Received) -> Reply | None:
        """The answer to a call the vendor refuses (path, form, account, signature), else None."""
        if self.account is not None:
            if request.path != "/sms":
                return Reply(404, {"status": "1", "message": "no such path"})
            if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                return Reply(body={"status": "1", "message": "form expected"})
            form = request.form
            if form.get("rt") != "json" or form.get("account") != self.account:
                return Reply(
                    body={"status": "1" if form.get("rt") != "json" else "3", "message": "bad request"}
                )
        form = request.form
        signed = {
            "send": form.get("extno", "") + form.get("content", "") + form.get("mobile", ""),
            "p2p": form.get("extno", "")
            + form.get("mobileContentList", "").replace("\n", "").replace("\r", ""),
        }.get(form.get("action") or "", "")
        if form.get("password") != hashlib.md5((self.password + signed).encode()).hexdigest():
            return Reply(body={"status": "3", "balance": 0, "list": []})
        return None

    def _send(self, action: str, form: dict[str, str]) -> Reply:
        if action == "send":
            mobiles = form["mobile"].split(",")
        else:
            mobiles = [line.split("#", 1)[0] for line in form["mobileContentList"].splitlines()]
        if len(mobiles) > 500:
            return Reply(body={"status": "102", "balance": self.balance_li, "list": []})
        if set(mobiles) & self.unavailable_for:
            return Reply(body={"status": "5", "message": "其它错误"})
        listing = []
        for mobile in mobiles:
            mid = f"{next(self._mids):X}"
            self.sent[mobile] = mid
            listing.append({"mid": mid, "mobile": mobile, "result": self.results.get(mobile, 0)})
        if self.push_url:
            now = datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S")
            report = [
                {"flag": 1, "mid": e["mid"], "mobile": e["mobile"], "stat": "DELIVRD", "time": now}
                for e in listing
            ]
            threading.Timer(self.report_delay, self._push, args=(self.push_url, report)).start()
        return Reply(body={"status": "0", "balance": self.balance_li, "list": listing})

    def _push(self, url: str, records: list[dict[str, Any]]) -> None:
        body = json.dumps(records, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with _NO_PROXY.open(request, timeout=10) as answer:
                status, text = answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        except OSError as exc:
            status, text = 0, str(exc)
        with self._lock:
            self.pushes.append({"url": url, "body": records, "status": status, "answer": text})

    def report_for(
        self, mobile: str, stat: str = "DELIVRD", time: str = "2026-11-23 12:00:03"
    ) -> dict[str, Any]:
        return {
            "flag": 1,
            "mid": self.sent[mobile],
            "spid": "922011",
            "accessCode": "106900",
            "mobile": mobile,
            "stat": stat,
            "time": time,
        }
