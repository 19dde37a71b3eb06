"""The scenario: six accounts of the five vendors, the send requests in two waves, every
recipient's planned outcome, and the simulators that play the vendors."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local_runner.testing import PROJECT_ROOT

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
        self, account: Account, what: str, requests: int, each: int, *, content: str, wave: int = 1
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
        self._grouped(action, "parcel", 6, 8, content="您的快件已到达驿站，请凭取件码取件。")
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
        self._grouped(bulk, "notice", 4, 10, content="您的包裹已发出，请留意查收。")

        paasw = a["cn-paasw"]  # pushed; wave 2 after its token expired
        self._grouped(paasw, "delivery", 5, 6, content="您的快件今日派送，请保持电话畅通。")
        pickup = {"id": "SF_PICKUP", "params": {"station": "南山驿站", "code": "8-2-1024"}}
        self._add(paasw, "pickup", paasw.numbers(8), template=pickup, feature="template")
        self._grouped(paasw, "delivery", 3, 6, content="您的快件今日派送，请保持电话畅通。", wave=2)

        paasw2 = a["cn-paasw2"]  # polled, form bodies; wave 2 after its token expired
        self._grouped(paasw2, "signed", 5, 6, content="您的快件已签收，感谢使用中通快递。")
        code = {"id": "ZT_CODE", "params": {"code": "523648", "minute": "5"}}
        self._add(paasw2, "verify", paasw2.numbers(8), template=code, kind="verification", feature="template")
        evening = "今晚8点前下单，明日必达。"
        self._add(paasw2, "evening", paasw2.numbers(4), content=evening, feature="scheduled-native", **soon)
        self._grouped(paasw2, "signed", 3, 4, content="您的快件已签收，感谢使用中通快递。", wave=2)

        pwd = a["cn-pwd"]  # reports polled (masked numbers), MO pushed; a task per request
        for _ in range(4):
            self._add(pwd, "notice", pwd.numbers(10), content="您的快件已到达，请及时领取。")

        intl = a["intl"]  # pushed, the status poller as safety net
        self._grouped(intl, "shipped", 5, 5, content="Your parcel has shipped.")
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
