"""In-memory fakes of what the send path needs (sms_gateway.sending.ports), for its unit tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sms_gateway.accounts import Account
from sms_gateway.errors import UnknownAccount
from sms_gateway.models import RecipientRecord, Status, Submission, SubmitOutcome
from sms_gateway.store.requests import Claim, ClaimState

Answer = Callable[[Submission], list[SubmitOutcome]]


def accept_all(submission: Submission) -> list[SubmitOutcome]:
    return [
        SubmitOutcome(i.message_id, i.recipient, Status.SUBMITTED, f"vid-{submission.call_id[:8]}", "0", "ok")
        for i in submission.items
    ]


def account(name: str = "cn-main", *, default: bool = False, sign: str | None = "圆通快递") -> Account:
    return Account(
        name=name,
        vendor="pwd_v1",
        base_url="http://127.0.0.1:9",
        credentials={"account": "fake-account", "password": "fake-password-1"},
        sign=sign,
        default=default,
    )


@dataclass
class FakeAdapter:
    """Typed by SendAdapter: records each submission and answers with ``answer``."""

    account: Account
    vendor: str = "pwd_v1"
    max_recipients_per_call: int = 3
    max_numbers_chars: int | None = None
    supports_templates: bool = False
    supports_p2p: bool = False
    native_scheduling: bool = False
    answer: Answer = accept_all
    calls: list[Submission] = field(default_factory=list)

    def vendor_number(self, e164: str) -> str:
        return e164.removeprefix("+86")

    def submit(self, submission: Submission) -> list[SubmitOutcome]:
        self.calls.append(submission)
        return self.answer(submission)


@dataclass
class FakeRegistry:
    """Typed by AccountSource."""

    accounts: list[Account]

    def get(self, name: str | None) -> Account:
        for candidate in self.accounts:
            if candidate.name == name or (name is None and candidate.default):
                return candidate
        raise UnknownAccount(name)

    def find(self, name: str) -> Account | None:
        return next((a for a in self.accounts if a.name == name), None)


@dataclass
class FakeStore:
    """Typed by SendStore: claims as the real store grants them, records kept in memory.

    Every claim after the first is RECOVERED with the recipients still marked inflight (the real
    store's answer once the earlier lease was given back or ran out); ``busy`` ids are BUSY.
    """

    records: list[RecipientRecord] = field(default_factory=list)
    inflight: dict[str, set[str]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)
    released: list[str] = field(default_factory=list)

    def claim_request(
        self,
        message_id: str,
        account: str,
        lease_seconds: int,
        inflight: Iterable[str] = (),
        *,
        content: str | None = None,
    ) -> Claim:
        if message_id in self.finished:
            return Claim(ClaimState.DONE)
        if message_id in self.busy:
            return Claim(ClaimState.BUSY)
        self.attempts[message_id] = self.attempts.get(message_id, 0) + 1
        earlier = frozenset(self.inflight.get(message_id, set()))
        self.inflight.setdefault(message_id, set()).update(inflight)
        if self.attempts[message_id] == 1:
            return Claim(ClaimState.CLAIMED)
        return Claim(ClaimState.RECOVERED, earlier)

    def recorded_recipients(self, message_id: str) -> set[str]:
        return {r.recipient for r in self.records if r.message_id == message_id and r.recipient}

    def mark_inflight(self, message_id: str, recipients: Iterable[str]) -> None:
        self.inflight.setdefault(message_id, set()).update(recipients)

    def release_request(self, message_id: str, not_sent: Iterable[str] = ()) -> None:
        self.released.append(message_id)
        self.inflight.get(message_id, set()).difference_update(not_sent)

    def finish_request(self, message_id: str) -> None:
        self.finished.add(message_id)
        self.inflight.pop(message_id, None)

    def record_submissions(
        self, records: list[RecipientRecord], *, fresh: bool = False, since: float | None = None
    ) -> list[bool]:
        self.records += records
        return [True] * len(records)

    def record_and_finish(self, message_id: str, records: list[RecipientRecord], since: float) -> bool:
        self.record_submissions(records)
        self.finish_request(message_id)
        return True

    def status_of(self, message_id: str) -> dict[str | None, Status]:
        return {r.recipient: r.status for r in self.records if r.message_id == message_id}
