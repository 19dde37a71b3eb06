"""A scripted action_v1 stand-in for handler tests: checks the signature, assigns mids, answers
per recipient, and hands out queued reports and MO on pull (once each, as the vendor does)."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from tests.support.vendor_server import Received, Reply, VendorServer


@dataclass
class ActionV1Vendor:
    server: VendorServer
    password: str = "s3cret-pass"
    results: dict[str, int] = field(default_factory=dict)  # mobile -> RESULT code (default 0)
    reports: list[dict[str, Any]] = field(default_factory=list)
    mo: list[dict[str, Any]] = field(default_factory=list)
    balance_li: int = 153_278_040
    fail_next: list[int] = field(default_factory=list)  # HTTP statuses to answer next
    sent: dict[str, str] = field(default_factory=dict)  # mobile -> last mid
    _mids: Any = field(default_factory=lambda: itertools.count(0x4C2CA88382720003))

    def __post_init__(self) -> None:
        self.server.responder = self.answer

    @property
    def calls(self) -> list[dict[str, str]]:
        return [r.form for r in self.server.received if r.path == "/sms"]

    def calls_of(self, action: str) -> list[dict[str, str]]:
        return [c for c in self.calls if c.get("action") == action]

    def answer(self, request: Received) -> Reply:
        if self.fail_next:
            return Reply(self.fail_next.pop(0), "<html>busy</html>", "text/html")
        form = request.form
        action = form.get("action")
        signed = {
            "send": form.get("extno", "") + form.get("content", "") + form.get("mobile", ""),
            "p2p": form.get("extno", "")
            + form.get("mobileContentList", "").replace("\n", "").replace("\r", ""),
        }.get(action or "", "")
        if form.get("password") != hashlib.md5((self.password + signed).encode()).hexdigest():
            return Reply(body={"status": "3", "balance": 0, "list": []})
        if action in {"send", "p2p"}:
            if action == "send":
                mobiles = form["mobile"].split(",")
            else:
                mobiles = [line.split("#", 1)[0] for line in form["mobileContentList"].splitlines()]
            if len(mobiles) > 500:
                return Reply(body={"status": "102", "balance": self.balance_li, "list": []})
            listing = []
            for mobile in mobiles:
                mid = f"{next(self._mids):X}"
                self.sent[mobile] = mid
                listing.append({"mid": mid, "mobile": mobile, "result": self.results.get(mobile, 0)})
            return Reply(body={"status": "0", "balance": self.balance_li, "list": listing})
        if action == "balance":
            return Reply(body={"status": 0, "balance": self.balance_li, "chargeType": "PRECHARGE"})
        if action in {"report", "mo"}:
            queue = self.reports if action == "report" else self.mo
            size = int(form.get("size", 1000))
            handed, queue[:] = queue[:size], queue[size:]
            return Reply(body={"status": "0", "balance": self.balance_li, "list": handed})
        return Reply(body={"status": "1", "list": []})

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
