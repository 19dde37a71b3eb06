"""``make demo``'s failover scenario (issue 13): one vendor goes down mid-run and its traffic moves
to the other account of its route, with zero duplicates.

Two accounts of their own (a pwd_v1 primary, an action_v1 backup with weight 0) on a route that
matches the tag ``demo=failover``, so the main scenario never reaches them. After the main
scenario has passed:

1. a first wave of requests is served by the primary;
2. the primary's simulator goes down for sends (its fault switch: HTTP 503 on every send, which
   the simulators document as "not processed": nothing was sent);
3. the second wave goes out a few requests per SendFunction batch: each batch's call to the
   primary is refused and its recipients are sent by the backup in the same invocation, until
   the primary's circuit opens (``SMS Route Health``) and the route skips it altogether.

Checked: every (message, recipient) reached exactly one simulator exactly once, each has one
``SMS Submitted`` naming the account that served it, the second wave's events show why (the
attempts), and the circuit's opening was published.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

PRIMARY, BACKUP = "fo-primary", "fo-backup"
ROUTE = "failover"
TAGS = {"demo": "failover"}
SUBMITTED, ROUTE_HEALTH = "SMS Submitted", "SMS Route Health"
FIRST_WAVE, SECOND_WAVE, PER_BATCH = 4, 12, 2  # requests; two numbers each
DOWN_FOR_CALLS, PRIMARY_SEND_PATH = 1000, "/api/v1/send"


def _account(name: str, vendor: str, credentials: dict[str, str], base_url: str) -> dict[str, Any]:
    return {
        "name": name,
        "vendor": vendor,
        "base_url": base_url,
        "credentials": credentials,
        "sign": "圆通快递",
        "timezone": "Asia/Shanghai",
        "balance_low_threshold": 1,
    }


class FailoverDemo:
    def __init__(self) -> None:
        from simulators import simulator_for  # noqa: PLC0415 - demo only: not part of the runner

        self.accounts = [
            _account(PRIMARY, "pwd_v1", {"account": "fo-pwd", "password": "fo-pass-123"}, ""),
            _account(BACKUP, "action_v1", {"account": "922099", "password": "fo-action-1"}, ""),
        ]
        self.sims: dict[str, Any] = {}
        for account in self.accounts:
            sim = simulator_for({**account, "base_url": "http://127.0.0.1:0"}, start=False).start()
            sim.configure(delivery="pull", report_delay=0.3)
            account["base_url"] = sim.url
            self.sims[account["name"]] = sim
        self.submitted: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.health: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []

    def extend(self, document: dict[str, Any]) -> dict[str, Any]:
        """The accounts document with this scenario's two accounts and its route."""
        route = {
            "name": ROUTE,
            "match": {"tags": TAGS},
            "accounts": [{"account": PRIMARY}, {"account": BACKUP, "weight": 0}],
        }
        return {
            **document,
            "accounts": [*document["accounts"], *self.accounts],
            "routes": [*document.get("routes", []), route],
        }

    def stop(self) -> None:
        for sim in self.sims.values():
            sim.stop()

    # ------------------------------------------------------------------ the run
    def run(self, sqs: Any, send_url: str, events_url: str, timeout: float = 60.0) -> list[str]:
        """Runs the scenario, prints what happened; the problems found (empty: it passed)."""
        deadline = time.monotonic() + timeout
        first = [self._request(f"fo-1-{n}") for n in range(FIRST_WAVE)]
        self._publish(sqs, send_url, first)
        if not self._follow(sqs, events_url, first, deadline):
            return [f"failover: the first wave was not submitted in {timeout:.0f} s"]
        # The vendor goes down. Stopping its server would not do: a kept-alive connection still
        # gets answers. Its fault switch answers every send 503, unprocessed.
        self.sims[PRIMARY].inject_fault("5xx", count=DOWN_FOR_CALLS, path=PRIMARY_SEND_PATH)
        second = [self._request(f"fo-2-{n}") for n in range(SECOND_WAVE)]
        for start in range(0, SECOND_WAVE, PER_BATCH):
            batch = second[start : start + PER_BATCH]
            self._publish(sqs, send_url, batch)
            if not self._follow(sqs, events_url, batch, deadline):
                return [f"failover: the second wave was not submitted in {timeout:.0f} s"]
        opened = self._follow(sqs, events_url, [], deadline, until=lambda: bool(self.health))
        self._report(first, second)
        return self._problems(first, second, opened)

    def _request(self, message_id: str) -> dict[str, Any]:
        base = 10 * len(self.requests)
        request = {
            "id": message_id,
            "to": [f"1980000{base + k:04d}" for k in (1, 2)],
            "content": "您的快件已到驿站",
            "tags": TAGS,
        }
        self.requests.append(request)
        return request

    @staticmethod
    def _publish(sqs: Any, url: str, requests: list[dict[str, Any]]) -> None:
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(r, ensure_ascii=False)} for i, r in enumerate(requests)
        ]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"the send queue refused requests: {answer['Failed']}")

    def _follow(
        self,
        sqs: Any,
        url: str,
        requests: list[dict[str, Any]],
        deadline: float,
        until: Any = None,
    ) -> bool:
        wanted = {(r["id"], f"+86{n}") for r in requests for n in r["to"]}
        done = until or (lambda: wanted <= set(self.submitted))
        while not done():
            if time.monotonic() >= deadline:
                return False
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in answer.get("Messages", []):
                self._take(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return True

    def _take(self, event: dict[str, Any]) -> None:
        detail = event.get("detail") or {}
        if event.get("detail-type") == SUBMITTED and str(detail.get("message_id", "")).startswith("fo-"):
            self.submitted.setdefault((detail["message_id"], detail["recipient"]), []).append(detail)
        elif event.get("detail-type") == ROUTE_HEALTH and detail.get("account") == PRIMARY:
            self.health.append(detail)

    # ------------------------------------------------------------------ the verdict
    def _served(self, requests: list[dict[str, Any]]) -> Counter[str]:
        return Counter(
            self.submitted[(r["id"], f"+86{n}")][0]["account"]
            for r in requests
            for n in r["to"]
            if (r["id"], f"+86{n}") in self.submitted
        )

    def _report(self, first: list[dict[str, Any]], second: list[dict[str, Any]]) -> None:
        print(f"\nfailover: route {ROUTE!r} = {PRIMARY} (pwd_v1) then {BACKUP} (action_v1)")
        print(f"  before {PRIMARY} went down: {dict(self._served(first))}")
        print(f"  after:                     {dict(self._served(second))}")
        for request in [second[0], second[-1]]:
            detail = self.submitted[(request["id"], f"+86{request['to'][0]}")][0]
            tried = " → ".join(
                f"{a['account']} {a['delivery']} ({a['reason'][-32:]})" for a in detail["attempts"]
            )
            print(f"  {request['id']}: {tried}")
        for change in self.health:
            print(f"  SMS Route Health: {change['account']} {change['previous_state']} → {change['state']}")

    def _problems(self, first: list[dict[str, Any]], second: list[dict[str, Any]], opened: bool) -> list[str]:
        found: list[str] = []
        at_vendors = Counter(
            m["mobile"] for sim in self.sims.values() for m in sim.messages if m["status"] != "rejected"
        )
        numbers = [n for r in self.requests for n in r["to"]]
        twice = [n for n in numbers if at_vendors[n] != 1]
        if twice:
            found.append(
                f"failover: {len(twice)} number(s) not sent exactly once at the vendors: {twice[:3]}"
            )
        if self._served(first) != Counter({PRIMARY: 2 * len(first)}):
            found.append(f"failover: the first wave was not all served by {PRIMARY}: {self._served(first)}")
        if self._served(second) != Counter({BACKUP: 2 * len(second)}):
            found.append(f"failover: the second wave was not all served by {BACKUP}: {self._served(second)}")
        refused = [
            d
            for r in second
            for d in self.submitted.get((r["id"], f"+86{r['to'][0]}"), [])
            if d.get("attempts", [{}])[0].get("account") == PRIMARY
        ]
        if not refused:
            found.append(f"failover: no attempt on {PRIMARY} is in the second wave's events")
        if not opened or self.health[0]["state"] != "open":
            found.append(f"failover: no SMS Route Health opening {PRIMARY}'s circuit")
        return found
