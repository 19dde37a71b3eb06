"""``make demo``: the whole application on this machine, against all five vendor simulators.

Why it exists: one command that shows the project working end to end with nothing but Python:
the vendor simulators (``simulators/``), the local runner as a subprocess (the real template and
handlers from ``sam build`` on an embedded AWS), and a realistic scenario of about 300
recipients on six accounts of the five vendors (two action_v1 accounts):

* grouped sends (requests with the same content, sign and kind become one vendor call, counted
  on the simulators), an action_v1 ``p2p`` request, template sends (paasw_v1, paasw_v2),
  international numbers in six countries with sender ids (intl_v1);
* scheduled messages: one held in SQS (action_v1 cannot schedule), two scheduled by the vendor
  (paasw_v2 ``time``, intl_v1 ``sendTime``), all due 12 s after they are published;
* a partly failing call (action_v1 answers RESULT 15 for three numbers of one call), and a token
  expiry between two waves of sends (paasw_v1 and paasw_v2 must fetch new tokens);
* reports and MO pushed by some accounts and polled from others, every balance polled, one of
  them (a pre-paid account down to 50 yuan) below its threshold;
* failover (``failover_demo.py``): after the main scenario, one vendor goes down mid-run and its
  traffic moves to the other account of its route, with zero duplicates at the simulators.

Each simulator decides every recipient's outcome: delivered, or a failure its vendor's report
codes can express. The demo follows the bus (the runner's events tap queue) with a live count on
stderr, then prints a summary per vendor, the scenario's checks and the functions' invocations.
It exits 0 only when every recipient reached the final status its simulator decided, with every
event that implies: ``SMS Submitted`` (or ``SMS Submit Failed``), an ``SMS Delivery Report``,
an ``SMS Inbound`` per reply, an ``SMS Balance`` per account and the ``SMS Balance Low``.
Otherwise it lists what is missing and exits 1. The runner's log is kept in
``.aws-sam/demo-runner.log``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local_runner.failover_demo import FailoverDemo
from local_runner.testing import PROJECT_ROOT, RunnerFailed, RunningRunner, start_runner

TOKEN = "demo-callback-token-0123456789abcdef"  # noqa: S105 - a local demo's callback token
LOG_FILE = PROJECT_ROOT / ".aws-sam" / "demo-runner.log"
FINAL = ("delivered", "undelivered", "expired", "rejected", "failed", "unknown")
SUBMITTED, SUBMIT_FAILED, REPORT = "SMS Submitted", "SMS Submit Failed", "SMS Delivery Report"
INBOUND, BALANCE, BALANCE_LOW = "SMS Inbound", "SMS Balance", "SMS Balance Low"
VENDORS = ("action_v1", "paasw_v1", "paasw_v2", "intl_v1", "pwd_v1")
SCHEDULE_SECONDS = 12  # the scheduled messages are due this long after they are published
LATER = ("pwd_v1", "intl_v1")  # their requests are published in the second part of wave 1

# The failures each vendor's report codes can express. paasw_v1's document has one failure code
# ("4") for undelivered and expired alike, so its simulator is never asked for "expired".
FAILURES = {
    "action_v1": ("undelivered", "expired", "rejected"),
    "paasw_v1": ("undelivered", "rejected"),
    "paasw_v2": ("undelivered", "expired", "rejected"),
    "intl_v1": ("undelivered", "expired", "rejected"),
    "pwd_v1": ("undelivered", "expired", "rejected"),
}
INTL_NUMBERS = (  # mobile ranges of six countries, E.164
    "+234803100{:04d}",
    "+4479111{:05d}",
    "+659123{:04d}",
    "+3361234{:04d}",
    "+49151234{:05d}",
    "+61412{:06d}",
)

# What the simulators count: their send, token and pull endpoints.
SEND_ENDPOINTS = {
    "action_v1": ("/sms?action=send", "/sms?action=p2p"),
    "paasw_v1": ("/sms/send", "/sms/sendTemplate"),
    "paasw_v2": ("/message/send", "/msg/send", "/message/sendTemplate", "/msg/sendTemplate"),
    "intl_v1": ("/api/v1/international/sms/send",),
    "pwd_v1": ("/api/v1/send",),
}
TOKEN_ENDPOINTS = ("/api/token", "/message/token", "/message/tokenApi")
PULL_ENDPOINTS = {
    "action_v1": ("/sms?action=report", "/sms?action=mo"),
    "paasw_v1": ("/sms/deliver", "/sms/smsUp"),
    "paasw_v2": ("/message/deliver", "/message/mo"),
    "intl_v1": ("/api/v1/international/sms/status",),
    "pwd_v1": ("/api/v1/report", "/api/v1/mo"),
}


# --------------------------------------------------------------------------- the accounts


@dataclass
class Account:
    name: str
    vendor: str
    credentials: dict[str, str]
    options: dict[str, Any]
    sign: str
    reports: str  # how its reports come back: push | poll | push+poll
    mo: str | None  # how its MO come back: push | poll | None (no MO in the vendor's document)
    threshold: float  # balance_low_threshold, yuan
    balance: Any = None  # the simulator's balance in the vendor's unit (None: the simulator's default)
    low: bool = False  # expected below its threshold
    index: int = 0
    sim: Any = None
    next_number: int = 1

    def document(self, base_url: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "vendor": self.vendor,
            "base_url": base_url,
            "credentials": self.credentials,
            "options": self.options,
            "sign": self.sign,
            "callback_token": TOKEN,
            "timezone": "Asia/Shanghai",
            "balance_low_threshold": self.threshold,
            "default": self.name == "cn-action",
        }

    @property
    def international(self) -> bool:
        return self.vendor == "intl_v1"

    def numbers(self, count: int) -> list[str]:
        """Fresh numbers, written as a backend would (unique in their last four digits)."""
        first, self.next_number = self.next_number, self.next_number + count
        if self.international:
            return [INTL_NUMBERS[n % len(INTL_NUMBERS)].format(n) for n in range(first, first + count)]
        return [f"13{self.index}0{n:07d}" for n in range(first, first + count)]

    def on_the_wire(self, number: str) -> str:
        """The number as the simulator sees it."""
        return number.lstrip("+") if self.international else number


def demo_accounts() -> list[Account]:
    accounts = [
        Account(
            "cn-action",
            "action_v1",
            {"account": "922011", "password": "demo-secret"},
            {"extno": "106900", "md5_password": True},
            "圆通快递",
            reports="push",
            mo="push",
            threshold=100,
        ),
        Account(
            "cn-action-bulk",
            "action_v1",
            {"account": "922012", "password": "demo-secret-2"},
            {"extno": "106901"},
            "圆通快递",
            reports="poll",
            mo="poll",
            threshold=100,
            balance=50_000,  # 厘: a pre-paid account down to 50 yuan
            low=True,
        ),
        Account(
            "cn-paasw",
            "paasw_v1",
            {"app_id": "0189457543", "secret": "23f757bad208226ec301e117e40006ed"},
            {
                "multi_kind": True,
                "template_texts": {"SF_PICKUP": "您的快件已到${station}，取件码${code}。"},
            },
            "顺丰速运",
            reports="push",
            mo="push",
            threshold=50,
        ),
        Account(
            "cn-paasw2",
            "paasw_v2",
            {"app_id": "0189457544", "secret": "gw7ewiz4eJ5646grg"},
            {"body_format": "form"},
            "中通快递",
            reports="poll",
            mo="poll",
            threshold=100,
        ),
        Account(
            "cn-pwd",
            "pwd_v1",
            {"account": "acme", "password": "p@ss-demo"},
            {"balance_unit": "fen"},
            "韵达快递",
            reports="poll",
            mo="push",
            threshold=100,
            balance=1_234_500,  # fen: 12,345.00 yuan
        ),
        Account(
            "intl",
            "intl_v1",
            {"app_key": "demo-app-key", "app_secret": "demo-app-secret"},
            {"sign_in_content": False, "sender_id": "ACME"},
            "Acme",
            reports="push+poll",
            mo=None,
            threshold=20,
        ),
    ]
    for index, account in enumerate(accounts):
        account.index = index
    return accounts


# --------------------------------------------------------------------------- the scenario


@dataclass
class Request:
    body: dict[str, Any]
    account: Account
    wave: int = 1  # 2: published after the token expiry
    group: str | None = None  # requests meant to share one vendor call
    feature: str = ""
    schedule_in: float | None = None  # send_at, in seconds after publishing
    published: float = 0.0  # time.time()

    @property
    def id(self) -> str:
        return str(self.body["id"])

    @property
    def numbers(self) -> list[str]:
        if "p2p" in self.body:
            return [p["to"] for p in self.body["p2p"]]
        return list(self.body["to"])

    @property
    def due(self) -> float:
        """When it is due: published, or its send_at when later."""
        return self.published + (self.schedule_in or 0.0)

    def stamp(self) -> None:
        self.published = time.time()
        if self.schedule_in is not None:
            send_at = datetime.now(UTC) + timedelta(seconds=self.schedule_in)
            self.body["send_at"] = send_at.isoformat(timespec="milliseconds")


@dataclass
class Recipient:
    request: Request
    number: str  # as the backend wrote it
    e164: str
    planned: str  # the outcome its simulator was told to give ("failed": refused at submit)
    events: dict[tuple[str, str], float] = field(default_factory=dict)  # (type, status) -> arrival
    status: str = "pending"
    final_at: float | None = None

    @property
    def account(self) -> Account:
        return self.request.account

    @property
    def key(self) -> str:
        return f"{self.request.id} {self.e164}"

    @property
    def submitted(self) -> bool:
        return any(kind in (SUBMITTED, SUBMIT_FAILED) for kind, _ in self.events)

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def finals(self) -> set[str]:
        return {status for _, status in self.events if status in FINAL}


class Scenario:
    """The send requests, the outcome each simulator gives each number, and the replies."""

    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = {a.name: a for a in accounts}
        self.requests: list[Request] = []
        self.plan: dict[tuple[str, str], str] = {}  # (account, number) -> outcome
        self.refusals: dict[tuple[str, str], int] = {}  # (account, number) -> action_v1 RESULT
        self.replies: list[tuple[Account, str, str]] = []  # (account, from number, content)
        self.run = uuid.uuid4().hex[:6]
        self._ids = Counter[str]()
        self._build()

    def _add(self, account: Account, what: str, numbers: list[str] | None = None, **fields: Any) -> Request:
        self._ids[account.name] += 1
        body: dict[str, Any] = {
            "id": f"demo-{self.run}-{account.name}-{what}-{self._ids[account.name]}",
            "account": account.name,
        }
        if numbers is not None:
            body["to"] = numbers
        request = Request(
            body,
            account,
            wave=fields.pop("wave", 1),
            group=fields.pop("group", None),
            feature=fields.pop("feature", ""),
            schedule_in=fields.pop("schedule_in", None),
        )
        body.update(fields)
        body["tags"] = {"demo": self.run, "campaign": what}
        self.requests.append(request)
        return request

    def _grouped(
        self, account: Account, what: str, requests: int, each: int, content: str, wave: int = 1
    ) -> None:
        """Requests with the same content, sign and kind: one vendor call between them."""
        for _ in range(requests):
            self._add(
                account,
                what,
                account.numbers(each),
                content=content,
                sign=account.sign,
                kind="notification",
                wave=wave,
                group=f"{account.name}:{what}:{wave}",
                feature="grouped",
            )

    def _build(self) -> None:
        a = self.accounts
        soon = {"schedule_in": SCHEDULE_SECONDS}

        action = a["cn-action"]  # reports and MO pushed
        self._grouped(action, "parcel", 6, 8, "您的快件已到达驿站，请凭取件码取件。")
        codes = action.numbers(6)
        texts = [
            {"to": n, "content": f"您的验证码是{246810 + i}，5分钟内有效。"} for i, n in enumerate(codes)
        ]
        self._add(action, "codes", p2p=texts, kind="verification", feature="p2p")
        campaign = action.numbers(20)
        for number in campaign[4:7]:
            self.refusals[(action.name, number)] = 15  # 余额不足, in the send answer
        self._add(
            action,
            "campaign",
            campaign,
            content="秋季特惠，本周寄件八折。",
            kind="marketing",
            feature="partial",
        )
        reminder = "您预约的上门取件将在一小时内到达。"
        self._add(action, "reminder", action.numbers(4), content=reminder, feature="scheduled-sqs", **soon)

        bulk = a["cn-action-bulk"]  # reports and MO polled
        self._grouped(bulk, "notice", 4, 10, "您的包裹已发出，请留意查收。")

        paasw = a["cn-paasw"]  # pushed; wave 2 after its token expired
        self._grouped(paasw, "delivery", 5, 6, "您的快件今日派送，请保持电话畅通。")
        pickup = {"id": "SF_PICKUP", "params": {"station": "南山驿站", "code": "8-2-1024"}}
        self._add(paasw, "pickup", paasw.numbers(8), template=pickup, feature="template")
        self._grouped(paasw, "delivery", 3, 6, "您的快件今日派送，请保持电话畅通。", wave=2)

        paasw2 = a["cn-paasw2"]  # polled, form bodies; wave 2 after its token expired
        self._grouped(paasw2, "signed", 5, 6, "您的快件已签收，感谢使用中通快递。")
        code = {"id": "ZT_CODE", "params": {"code": "523648", "minute": "5"}}
        self._add(paasw2, "verify", paasw2.numbers(8), template=code, kind="verification", feature="template")
        evening = "今晚8点前下单，明日必达。"
        self._add(paasw2, "evening", paasw2.numbers(4), content=evening, feature="scheduled-native", **soon)
        self._grouped(paasw2, "signed", 3, 4, "您的快件已签收，感谢使用中通快递。", wave=2)

        pwd = a["cn-pwd"]  # reports polled (masked numbers), MO pushed; a task per request
        for _ in range(4):
            self._add(pwd, "notice", pwd.numbers(10), content="您的快件已到达，请及时领取。")

        intl = a["intl"]  # pushed, the status poller as safety net
        self._grouped(intl, "shipped", 5, 5, "Your parcel has shipped.")
        window = "Your delivery window starts in 1 hour."
        self._add(
            intl,
            "window",
            intl.numbers(3),
            content=window,
            sender_id="ACMEPOST",
            feature="scheduled-native",
            **soon,
        )

        # Delivered, except the numbers ending in 7, 13 and 19 (mod 20): a failure of each kind
        # the vendor can report.
        for request in self.requests:
            failures = FAILURES[request.account.vendor]
            for number in request.numbers:
                if (request.account.name, number) not in self.refusals:
                    outcome = {7: failures[0], 13: failures[1], 19: failures[-1]}.get(int(number[-4:]) % 20)
                    self.plan[(request.account.name, number)] = outcome or "delivered"

        replies = {
            "cn-action": "收到，谢谢",
            "cn-action-bulk": "退订",
            "cn-paasw": "请放到前台",
            "cn-paasw2": "好的",
            "cn-pwd": "明天再送",
        }
        for name, text in replies.items():
            first = next(r for r in self.requests if r.account.name == name)
            self.replies.append((a[name], first.numbers[1], f"{text} [{self.run}]"))

    def recipients(self) -> list[Recipient]:
        result = []
        for request in self.requests:
            for number in request.numbers:
                key = (request.account.name, number)
                planned = "failed" if key in self.refusals else self.plan[key]
                result.append(
                    Recipient(request, number, number if number[0] == "+" else f"+86{number}", planned)
                )
        return result


# --------------------------------------------------------------------------- simulators


def start_simulators(scenario: Scenario) -> list[dict[str, Any]]:
    from simulators import simulator_for  # noqa: PLC0415 - demo only: not part of the runner

    documents = []
    for account in scenario.accounts.values():
        account.sim = simulator_for(account.document("http://127.0.0.1:0"), start=False).start()
        # Pull until the runner's API is known. The local stack answers pushes more slowly than
        # AWS would: a long push timeout keeps the vendors from pushing everything twice.
        account.sim.configure(delivery="pull", report_delay=0.3, push_timeout=30)
        if account.balance is not None:
            account.sim.set_balance(account.balance)
        documents.append(account.document(account.sim.url))
    for (name, number), outcome in scenario.plan.items():
        if outcome != "delivered":
            account = scenario.accounts[name]
            account.sim.set_outcome(account.on_the_wire(number), outcome)
    for (name, number), code in scenario.refusals.items():
        scenario.accounts[name].sim.set_submit_result(number, code)
    return documents


def connect_pushes(scenario: Scenario, api_url: str) -> None:
    for account in scenario.accounts.values():
        base = f"{api_url}/callbacks/{account.name}"
        report_url = f"{base}/report?token={TOKEN}" if "push" in account.reports else None
        mo_url = f"{base}/mo?token={TOKEN}" if account.mo == "push" else None
        if report_url or mo_url:  # a kind without a URL stays for the pollers
            account.sim.configure(delivery="push", push_report_url=report_url, push_mo_url=mo_url)


def send_calls(account: Account) -> int:
    return sum(account.sim.calls(path) for path in SEND_ENDPOINTS[account.vendor])


def token_calls(account: Account) -> int:
    return sum(account.sim.calls(path) for path in TOKEN_ENDPOINTS)


def calls_carrying(account: Account, numbers: list[str]) -> int:
    """The accepted vendor calls that carried these numbers.

    The simulators record each accepted recipient under its call's id (bizId, batchId, msgId,
    taskId); action_v1 gives every recipient its own mid, so its calls are counted from the
    send requests it received.
    """
    wanted = {account.on_the_wire(n) for n in numbers}
    if account.vendor != "action_v1":
        return len({m["id"] for m in account.sim.messages if m["mobile"] in wanted})
    calls = 0
    for received in account.sim.received:
        if received["endpoint"] in SEND_ENDPOINTS["action_v1"]:
            params = {**received["query"], **received["form"]}
            mobiles = set(params.get("mobile", "").split(","))
            mobiles |= {line.split("#")[0] for line in params.get("mobileContentList", "").splitlines()}
            calls += bool(mobiles & wanted)
    return calls


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
    board: Board, sqs: Any, url: str, progress: Progress, until: Callable[[], bool], deadline: float
) -> bool:
    """Read the bus until ``until()`` holds or the deadline passes."""
    while not until():
        if time.monotonic() >= deadline:
            return False
        board.drain(sqs, url)
        progress.show()
    return True


# --------------------------------------------------------------------------- the verdict


def decided(recipient: Recipient, messages: dict[str, dict[str, dict[str, Any]]]) -> str | None:
    """The final status its simulator decided (None: the number never reached the simulator)."""
    record = messages[recipient.account.name].get(recipient.account.on_the_wire(recipient.number))
    if record is None:
        return None
    if record["status"] == "rejected" and record["outcome"] is None:
        return "failed"  # refused in the send answer
    return str(record["outcome"])


def problems(board: Board) -> list[str]:
    """Everything missing or wrong; empty when the demo passes."""
    missing: dict[str, list[str]] = defaultdict(list)
    wrong: list[str] = []
    messages = {a.name: {m["mobile"]: m for m in a.sim.messages} for a in board.scenario.accounts.values()}
    for recipient in board.recipients:
        status = decided(recipient, messages)
        if status is None:
            expected = [(SUBMITTED, "submitted")]
        elif status == "failed":
            expected = [(SUBMIT_FAILED, "failed")]
        else:
            expected = [(SUBMITTED, "submitted"), (REPORT, status)]
        for event in expected:
            if event not in recipient.events:
                missing[f"{event[0]} ({event[1]})"].append(recipient.key)
        if not recipient.final:
            missing["a final status"].append(recipient.key)
        elif len(recipient.finals) > 1:
            wrong.append(f"{recipient.key}: two final statuses, {sorted(recipient.finals)}")
        elif status is not None and recipient.status != status:
            wrong.append(f"{recipient.key}: {recipient.status}, but its simulator decided {status}")
        if status is not None and status != recipient.planned:
            wrong.append(
                f"{recipient.key}: the simulator decided {status}, the demo asked for {recipient.planned}"
            )
    found = []
    for what, keys in sorted(missing.items(), key=lambda item: item[0] != "a final status"):
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        found.append(f"missing {what} for {len(keys)} recipient(s): {shown}")
    found += wrong[:10] + ([f"... and {len(wrong) - 10} more wrong statuses"] if len(wrong) > 10 else [])
    found += [
        f"missing SMS Inbound on {name}: {content!r}"
        for name, content in sorted(board.replies - set(board.inbound))
    ]
    found += [
        f"missing SMS Balance of {name}"
        for name in sorted(set(board.scenario.accounts) - set(board.balances))
    ]
    found += [f"missing SMS Balance Low of {name}" for name in sorted(board.lows_expected - board.low)]
    found += [f"unexpected SMS Balance Low of {name}" for name in sorted(board.low - board.lows_expected)]
    found += [f"unexpected {stray}" for stray in board.strays[:5]]
    return found


def explain(runner: RunningRunner, recipients: list[Recipient]) -> list[str]:
    """What the table says about recipients without a final event (README: "What happened to
    this SMS?"): their record, and the reports kept for their vendor id."""
    db, table_name, lines = runner.client("dynamodb"), runner.info["table_name"], []
    for recipient in recipients[:3]:
        key = {"pk": {"S": f"MSG#{recipient.request.id}"}, "sk": {"S": f"RCPT#{recipient.e164}"}}
        item = db.get_item(TableName=table_name, Key=key, ConsistentRead=True).get("Item")
        if item is None:
            lines.append(f"{recipient.key}: no record in the table")
            continue
        history = [
            f"{h['M']['status']['S']}/{h['M'].get('vendor_status', {}).get('S', '')}"
            for h in item.get("history", {}).get("L", [])
        ]
        vendor_id = item.get("vendor_message_id", {}).get("S")
        lines.append(f"{recipient.key}: record {item['status']['S']}, history {' → '.join(history)}")
        if vendor_id:
            kept = db.query(
                TableName=table_name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"VID#{recipient.account.name}#{vendor_id}"}},
                ConsistentRead=True,
            )["Items"]
            others = [i["sk"]["S"] for i in kept if not i["sk"]["S"].startswith("RCPT#")]
            lines.append(f"  vendor id {vendor_id}: {len(kept)} items, not lookups: {others or 'none'}")
    return lines


def percentile(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    if q == 0.5:
        return f"{statistics.median(ordered):.1f}"
    return f"{ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]:.1f}"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths), *(line(r) for r in cells[1:])])


def vendor_table(board: Board) -> str:
    accounts = list(board.scenario.accounts.values())
    rows: list[list[Any]] = []
    for vendor in [*VENDORS, None]:
        mine = [a for a in accounts if vendor in (None, a.vendor)]
        recipients = [r for r in board.recipients if r.account in mine]
        statuses = Counter(r.status for r in recipients if r.final)
        failed = {status: n for status, n in sorted(statuses.items()) if status != "delivered"}
        latency = [r.final_at - r.request.due for r in recipients if r.final_at is not None]
        inbound = sum(1 for name, _ in board.inbound if board.scenario.accounts[name] in mine)
        rows.append(
            [
                vendor or "total",
                len(mine),
                len(recipients),
                sum(1 for r in recipients if (SUBMITTED, "submitted") in r.events),
                statuses["delivered"],
                sum(failed.values()),
                ", ".join(f"{n} {status}" for status, n in failed.items()) if vendor else "",
                "n/a" if vendor and not any(a.mo for a in mine) else inbound,
                f"{sum(a.sim.calls() for a in mine)} ({sum(send_calls(a) for a in mine)} send)",
                percentile(latency, 0.5),
                percentile(latency, 0.95),
            ]
        )
    headers = ["vendor", "accounts", "sent", "submitted", "delivered", "failed", "failed as", "inbound"]
    return table([*headers, "vendor calls", "send→final median s", "p95 s"], rows)


def checks(board: Board, tokens_before: dict[str, int]) -> list[tuple[bool | None, str]]:
    """The scenario's features as the simulators and the bus saw them: (held, what); None for
    what is only shown."""
    scenario: Scenario = board.scenario
    found: list[tuple[bool | None, str]] = []
    by_request: dict[int, list[Recipient]] = defaultdict(list)
    for recipient in board.recipients:
        by_request[id(recipient.request)].append(recipient)

    groups: dict[str, list[Request]] = defaultdict(list)
    for request in scenario.requests:
        if request.group:
            groups[request.group].append(request)
    shown, held = [], True
    for requests in groups.values():
        account = requests[0].account
        calls = calls_carrying(account, [n for r in requests for n in r.numbers])
        held &= calls == 1
        shown.append(f"{account.name} {len(requests)}→{calls}")
    found.append((held, "grouped sends, requests → vendor calls: " + ", ".join(shown)))

    p2p = next(r for r in scenario.requests if r.feature == "p2p")
    calls = calls_carrying(p2p.account, p2p.numbers)
    found.append(
        (calls == 1, f"p2p: {p2p.account.name}, {len(p2p.numbers)} texts in {calls} action=p2p call")
    )
    for request in (r for r in scenario.requests if r.feature == "template"):
        mine = by_request[id(request)]
        delivered = sum(1 for r in mine if r.status == "delivered")
        template = request.body["template"]["id"]
        found.append(
            (
                all(r.status == r.planned for r in mine),
                f"template: {request.account.name} {template}, {delivered}/{len(request.numbers)} delivered",
            )
        )

    intl = scenario.accounts["intl"]
    countries = sorted({r.e164[:4] for r in board.recipients if r.account is intl})
    senders = sorted({str(m.get("sender_id")) for m in intl.sim.messages})
    found.append(
        (len(senders) > 1, f"international: {', '.join(countries)}…; sender ids {', '.join(senders)}")
    )

    for request in (r for r in scenario.requests if r.feature.startswith("scheduled")):
        account = request.account
        wire = {account.on_the_wire(n) for n in request.numbers}
        records = [m for m in account.sim.messages if m["mobile"] in wire]
        finals = [r.final_at for r in by_request[id(request)] if r.final_at]
        final = f", final at +{max(finals) - request.published:.1f} s" if finals else ", not final"
        if request.feature == "scheduled-sqs":
            sent = min((m["submitted_at"] for m in records), default=None)
            held = sent is not None and sent >= request.due - 1
            how = f"held in SQS, at the vendor +{sent - request.published:.1f} s" if sent else "never sent"
        else:
            held = bool(records) and all(m["scheduled"] for m in records)
            how = (
                f"scheduled by the vendor for {records[0]['scheduled']} (China time)"
                if held
                else "sent unscheduled"
            )
        found.append((held, f"scheduled: {account.name} due +{request.schedule_in:.0f} s, {how}{final}"))

    partial = next(r for r in scenario.requests if r.feature == "partial")
    got = Counter(r.status for r in by_request[id(partial)])
    refused = got["failed"]
    found.append(
        (
            refused == sum(1 for key in scenario.refusals if key[0] == partial.account.name)
            and calls_carrying(partial.account, partial.numbers) == 1,
            f"partly failing call: {partial.account.name}, 1 call of {len(partial.numbers)}: "
            f"{len(partial.numbers) - refused} accepted, {refused} refused (RESULT 15) as SMS Submit Failed",
        )
    )
    for name, before in tokens_before.items():
        account = scenario.accounts[name]
        wave2 = [r for r in board.recipients if r.account is account and r.request.wave == 2]
        ok = sum(1 for r in wave2 if (SUBMITTED, "submitted") in r.events)
        after = token_calls(account)
        found.append(
            (
                after > before and ok == len(wave2),
                f"token expiry: {name} fetched {after - before} new token(s) after expire_tokens(); "
                f"wave 2 {ok}/{len(wave2)} submitted",
            )
        )

    for account in scenario.accounts.values():
        pushes = account.sim.pushes
        acked = sum(1 for p in pushes if p["accepted"])
        reasons = Counter(
            (p["error"] or "").split(":")[0] or f"HTTP {p['http_status']}"
            for p in pushes
            if not p["accepted"]
        )
        retried = "".join(f", {n} not acked ({reason}) and pushed again" for reason, n in reasons.items())
        pulls = sum(account.sim.calls(path) for path in PULL_ENDPOINTS[account.vendor])
        mo = f", MO {account.mo}" if account.mo else ""
        pushed = f"{len(pushes)} pushes ({acked} acked{retried}); " if pushes else ""
        found.append((None, f"{account.name}: reports {account.reports}{mo}: {pushed}{pulls} pull calls"))

    amounts = []
    for name, detail in sorted(board.balances.items()):
        low = " LOW" if name in board.low else ""
        amounts.append(f"{name} {detail.get('amount')} {detail.get('currency')}{low}")
    found.append((board.low == board.lows_expected, "balances: " + ", ".join(amounts)))
    return found


def function_table(runner: RunningRunner) -> str:
    lines_of: dict[str, list[str]] = defaultdict(list)
    for line in runner.invocations():
        lines_of[line.split()[1]].append(line)
    rows = []
    for function, lines in sorted(lines_of.items()):
        durations = [float(p[12:]) for line in lines for p in line.split() if p.startswith("duration_ms=")]
        not_ok = sum(1 for line in lines if "outcome=ok" not in line and "outcome=2" not in line)
        mean = f"{statistics.mean(durations):.0f}" if durations else "-"
        rows.append([function, len(lines), not_ok, mean, f"{max(durations):.0f}" if durations else "-"])
    return table(["function", "invocations", "not ok", "avg ms", "max ms"], rows)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runner.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--poll-seconds", type=float, default=2.0, help="how often the pollers run locally")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for every outcome")
    parser.add_argument("--verbose", action="store_true", help="echo the runner's log to stderr")
    args = parser.parse_args(argv)
    with contextlib.suppress(AttributeError, ValueError):  # in order with the progress on stderr
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if not (PROJECT_ROOT / ".aws-sam" / "build" / "template.yaml").is_file():
        print("no .aws-sam/build: run `make build` first (make demo does)", file=sys.stderr)
        return 2

    began = time.monotonic()
    scenario = Scenario(demo_accounts())
    accounts = list(scenario.accounts.values())
    recipients = scenario.recipients()
    print(
        f"sms-gateway demo: {len(recipients)} recipients in {len(scenario.requests)} send requests, "
        f"{len(accounts)} accounts of {len(VENDORS)} simulated vendors"
    )
    runner: RunningRunner | None = None
    failover = FailoverDemo()
    try:
        documents = start_simulators(scenario)
        print(
            "starting the local runner (embedded AWS, the stack from .aws-sam/build, a worker per function)"
        )
        started = time.monotonic()
        document = failover.extend({"accounts": documents})
        runner = start_runner(document, poll_seconds=args.poll_seconds, echo=args.verbose)
        print(f"runner ready in {time.monotonic() - started:.1f} s, API {runner.info['api_url']}")
        connect_pushes(scenario, runner.info["api_url"])
        sqs = runner.client("sqs")
        send_url, events_url = runner.info["send_queue_url"], runner.info["events_queue_url"]
        board = Board(scenario, recipients)
        progress = Progress(board)
        deadline = time.monotonic() + args.timeout

        # Wave 1, in two parts as backends publish over time (two SendFunction batches): first the
        # scheduled requests (so they are sent before they are due) and the token accounts.
        wave1 = [r for r in scenario.requests if r.wave == 1]
        first = [r for r in wave1 if r.schedule_in is not None]
        first += [r for r in wave1 if r.schedule_in is None and r.account.vendor not in LATER]
        publish(sqs, send_url, first)
        for account, number, content in scenario.replies:
            account.sim.queue_mo(account.on_the_wire(number), content, delay=2.0)
        follow(board, sqs, events_url, progress, lambda: False, time.monotonic() + 1.5)
        publish(sqs, send_url, [r for r in wave1 if r not in first])
        progress.clear()
        print(
            f"wave 1: {len(wave1)} requests, {sum(len(r.numbers) for r in wave1)} recipients; "
            f"{len(scenario.replies)} replies on their way"
        )

        # Wave 2 once the token accounts' first wave is accepted, and their tokens expired.
        token_accounts = [a for a in accounts if a.sim.HAS_TOKENS]
        wave1_numbers = {
            (r.account.name, r.account.on_the_wire(r.number))
            for r in recipients
            if r.account in token_accounts and r.request.wave == 1
        }

        def accepted() -> bool:
            return wave1_numbers <= {(a.name, m["mobile"]) for a in token_accounts for m in a.sim.messages}

        follow(board, sqs, events_url, progress, accepted, deadline)
        tokens_before = {a.name: token_calls(a) for a in token_accounts}
        for account in token_accounts:
            account.sim.expire_tokens()
        wave2 = [r for r in scenario.requests if r.wave == 2]
        publish(sqs, send_url, wave2)
        progress.clear()
        print(
            f"wave 2: tokens of {', '.join(tokens_before)} expired, then {len(wave2)} requests, "
            f"{sum(len(r.numbers) for r in wave2)} recipients"
        )

        finished = follow(board, sqs, events_url, progress, lambda: board.done, deadline)
        while finished and board.drain(sqs, events_url, wait_seconds=0):
            pass  # duplicates would be harmless; read what is there to count them
        progress.clear()
        print(("all arrived: " if finished else f"timed out after {args.timeout:.0f} s: ") + board.counts())

        print()
        print(vendor_table(board))
        print(
            "failed: every final status but delivered, refusals in the send answer included. vendor calls:\n"
            "every request the simulators answered (sends, tokens, pulls, balances). send→final: from\n"
            "publishing a request (or its send_at, if later) to its final event arriving on the bus.\n"
        )
        scenario_checks = checks(board, tokens_before)
        for held, line in scenario_checks:
            print(f"  {'·' if held is None else '✓' if held else '✗'} {line}")
        print()
        print(function_table(runner))
        print(f"(the runner's log: {LOG_FILE.relative_to(PROJECT_ROOT)})\n")

        found = problems(board)
        if not found:
            found = failover.run(sqs, send_url, events_url)
        elapsed = time.monotonic() - began
        total = len(recipients)
        delivered = sum(1 for r in recipients if r.status == "delivered")
        if found:
            print(f"FAIL after {elapsed:.0f} s:")
            for problem in found:
                print(f"  - {problem}")
            with contextlib.suppress(Exception):  # a diagnosis only
                for line in explain(runner, [r for r in recipients if not r.final]):
                    print(f"  table: {line}")
            errors = [line for line in runner.log_lines() if " ERROR " in line or '"level":"ERROR"' in line]
            for line in errors[-5:]:
                print(f"  runner: {line[:300]}")
            return 1
        not_held = sum(1 for held, _ in scenario_checks if held is False)
        print(
            f"PASS: {total}/{total} recipients on {len(accounts)} accounts of {len(VENDORS)} vendors "
            f"ended as their vendor decided ({delivered} delivered, {total - delivered} failed), "
            f"{len(board.inbound)}/{len(board.replies)} replies, "
            f"{len(set(board.balances) & set(scenario.accounts))}/{len(accounts)} "
            f"balances, in {elapsed:.0f} s" + (f" ({not_held} scenario check(s) ✗ above)" if not_held else "")
        )
        return 0
    except RunnerFailed as exc:
        print(f"the local runner did not start:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if runner is not None:
            code = runner.stop()
            with contextlib.suppress(OSError):
                LOG_FILE.write_text(runner.log_text() + "\n", encoding="utf-8")
            if code != 0:
                print(f"the runner exited with status {code}:\n{runner.log_text(last=30)}", file=sys.stderr)
        for account in accounts:
            if account.sim is not None:
                account.sim.stop()
        failover.stop()


if __name__ == "__main__":
    sys.exit(main())
