"""The live board: what arrives on the bus (the runner's events tap queue) against what the
scenario expects, a live count on stderr, and publishing the send requests."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from local_runner.demo.scenario import (
    BALANCE,
    BALANCE_LOW,
    FINAL,
    INBOUND,
    REPORT,
    SUBMIT_FAILED,
    SUBMITTED,
    Recipient,
    Request,
    Scenario,
)

# --------------------------------------------------------------------------- the bus


class Board:
    """What arrived on the bus, against what the scenario expects."""

    def __init__(self, scenario: Scenario, recipients: list[Recipient]) -> None:
        self.scenario = scenario
        self.recipients = recipients
        self.by_key = {(r.request.id, r.e164): r for r in recipients}
        self.replies = {(account.name, content) for account, _, content in scenario.replies}
        self.inbound: dict[tuple[str, str], float] = {}
        self.balances: dict[str, dict[str, Any]] = {}
        self.low: set[str] = set()
        self.events: Counter[str] = Counter()
        self.strays: list[str] = []
        self.started = time.monotonic()

    def take(self, event: dict[str, Any]) -> None:
        kind, detail = event.get("detail-type", ""), event.get("detail") or {}
        self.events[kind] += 1
        now = time.time()
        if kind in (SUBMITTED, SUBMIT_FAILED, REPORT):
            recipient = self.by_key.get((str(detail.get("message_id")), str(detail.get("recipient"))))
            if recipient is None:
                self.strays.append(f"{kind} about {detail.get('message_id')} {detail.get('recipient')}")
                return
            status = str(detail.get("status"))
            # At least once: deduplicated on (message id, recipient, status) as the README says.
            recipient.events.setdefault((kind, status), now)
            if status in FINAL and recipient.final_at is None:
                recipient.status, recipient.final_at = status, now
            elif recipient.status == "pending":
                recipient.status = status
        elif kind == INBOUND:
            key = (str(detail.get("account")), str(detail.get("content")))
            if key in self.replies:
                self.inbound.setdefault(key, now)
            else:
                self.strays.append(f"{kind} on {key[0]}: {key[1]!r}")
        elif kind in (BALANCE, BALANCE_LOW):
            self.balances[str(detail.get("account"))] = detail
            if kind == BALANCE_LOW:
                self.low.add(str(detail.get("account")))

    @property
    def lows_expected(self) -> set[str]:
        return {a.name for a in self.scenario.accounts.values() if a.low}

    @property
    def done(self) -> bool:
        return (
            all(r.final for r in self.recipients)
            and self.replies <= set(self.inbound)
            and set(self.scenario.accounts) <= set(self.balances)
            and self.lows_expected <= self.low
        )

    def counts(self) -> str:
        total, accounts = len(self.recipients), self.scenario.accounts
        return (
            f"submitted {sum(1 for r in self.recipients if r.submitted)}/{total} | "
            f"final {sum(1 for r in self.recipients if r.final)}/{total} | "
            f"inbound {len(self.inbound)}/{len(self.replies)} | "
            f"balances {len(set(self.balances) & set(accounts))}/{len(accounts)} | "
            f"events {sum(self.events.values())}"
        )

    def drain(self, sqs: Any, url: str, wait_seconds: int = 1) -> int:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        messages = answer.get("Messages", [])
        for message in messages:
            self.take(json.loads(message["Body"]))
        if messages:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        return len(messages)


class Progress:
    """A live line on a terminal's stderr; a line every five seconds when stderr is not one."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def show(self) -> None:
        now = time.monotonic()
        line = f"[{now - self.board.started:5.1f}s] {self.board.counts()}"
        if self.tty and now - self.last >= 0.2:
            sys.stderr.write(f"\r{line}\033[K")
            sys.stderr.flush()
            self.last = now
        elif not self.tty and now - self.last >= 5:
            print(line, file=sys.stderr, flush=True)
            self.last = now

    def clear(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def publish(sqs: Any, queue_url: str, requests: list[Request]) -> None:
    """Ten requests a call: the requests of one group arrive together, in one SendFunction batch."""
    for start in range(0, len(requests), 10):
        chunk = requests[start : start + 10]
        for request in chunk:
            request.stamp()
        answer = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "MessageBody": json.dumps(r.body, ensure_ascii=False)}
                for i, r in enumerate(chunk)
            ],
        )
        if answer.get("Failed"):
            raise RuntimeError(f"the send queue refused requests: {answer['Failed']}")


def follow(
    board: Board, sqs: Any, url: str, progress: Progress, *, until: Callable[[], bool], deadline: float
) -> bool:
    """Read the bus until ``until()`` holds or the deadline passes."""
    while not until():
        if time.monotonic() >= deadline:
            return False
        board.drain(sqs, url)
        progress.show()
    return True
