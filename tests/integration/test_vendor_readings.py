"""Every adapter against every reading of its simulator, through the public contract.

Where a vendor document is silent or ambiguous, its simulator offers each reasonable reading as
a switch (simulators/READINGS.md). An adapter must be right under each of them, so every case
below runs the real handlers under moto (an SQS batch into the SendFunction, pushes through the
real CallbackFunction, scheduled polls, events read back from the bus) against the simulator
under one reading, and asserts only what MUST hold under every reading:

- no recipient is sent twice, across every call the simulator received;
- the recipients of a call that may have reached the vendor end ``unknown`` and are not resent;
- a stale token is re-fetched and the call succeeds;
- good recipients are not failed because of one bad number, a limit or a format of the vendor;
- every readable report and MO is applied exactly once, acked so the vendor does not re-push.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simulators import simulator_for
from simulators.base import UNREADABLE_RECORD, BaseSimulator
from tests.support.aws import CALLBACK_TOKEN, AwsEnv
from tests.support.callback_bridge import CallbackBridge
from tests.support.handlers import poll, send, sqs_event

pytestmark = pytest.mark.integration

ACCOUNT = "acct-readings"
VENDORS: dict[str, dict[str, Any]] = {
    "action_v1": {
        "credentials": {"account": "922011", "password": "s3cret-pass"},
        "options": {"extno": "106900", "md5_password": True},
        "sign": "圆通快递",
    },
    "paasw_v1": {
        "credentials": {"app_id": "0189457543", "secret": "23f757bad208226ec301e117e40006ed"},
        "options": {},
        "sign": "圆通快递",
    },
    "paasw_v2": {
        "credentials": {"app_id": "0189457544", "secret": "gw7ewiz4eJ5646grg"},
        "options": {},
        "sign": "圆通",
    },
    "intl_v1": {
        "credentials": {"app_key": "10002", "app_secret": "abc123"},
        "options": {"sender_id": "Univasa"},
        "sign": "Univasa",
    },
    "pwd_v1": {"credentials": {"account": "acme", "password": "p@ss"}, "options": {}, "sign": "圆通快递"},
}
SEND_PATH = {
    "action_v1": "/sms?action=send",
    "paasw_v1": "/sms/send",
    "paasw_v2": "/message/send",
    "intl_v1": "/api/v1/international/sms/send",
    "pwd_v1": "/api/v1/send",
}
TOKEN_PATH = {"paasw_v1": "/api/token", "paasw_v2": "/message/token"}
#: statuses that mean "the vendor took it" or "it cannot be known": never a refusal
NOT_REFUSED = {"submitted", "delivered", "undelivered", "expired", "rejected", "unknown"}
FINAL_NOT_DELIVERED = {"failed", "undelivered", "expired", "rejected"}


def account(vendor: str, base_url: str) -> dict[str, Any]:
    return {
        "name": ACCOUNT,
        "vendor": vendor,
        "base_url": base_url,
        **VENDORS[vendor],
        "callback_token": CALLBACK_TOKEN,
        "timezone": "Asia/Shanghai",
        "balance_low_threshold": 100,
        "default": True,
    }


def numbers(vendor: str, count: int, start: int = 0) -> list[str]:
    """Request numbers (E.164) this vendor can send to."""
    if vendor == "intl_v1":
        return [f"+234803100{n:04d}" for n in range(start, start + count)]
    return [f"+86139{n:08d}" for n in range(start, start + count)]


def wire(vendor: str, e164: str) -> str:
    return e164.lstrip("+") if vendor == "intl_v1" else e164[3:]


@pytest.fixture
def start(aws: AwsEnv) -> Iterator[Callable[..., BaseSimulator]]:
    """Start the simulator of a vendor under the given readings, and point the account at it."""
    started: list[BaseSimulator] = []

    def _start(vendor: str, **readings: str) -> BaseSimulator:
        sim = simulator_for(account(vendor, "http://127.0.0.1:0"), start=False, readings=readings)
        sim.configure(delivery="pull", report_delay=0.05, push_retry_interval=0.05)
        sim.start()
        started.append(sim)
        aws.put_accounts(account(vendor, sim.url))
        return sim

    yield _start
    for sim in started:
        sim.stop()


def deliver(*bodies: Any, first_id: int = 1, receives: int = 5) -> list[str]:
    """SQS semantics: the batch is delivered again while records come back as failures, up to
    the template's maxReceiveCount; returns the failures of the last delivery."""
    event = sqs_event(*bodies, first_id=first_id)
    failures: list[str] = []
    for _ in range(receives):
        failures = send(event)
        if not failures:
            break
        event = {"Records": [r for r in event["Records"] if r["messageId"] in failures]}
    return failures


def accepted(sim: BaseSimulator) -> list[dict[str, Any]]:
    return [m for m in sim.messages if m["status"] != "rejected"]


def assert_never_sent_twice(sim: BaseSimulator) -> None:
    counts = Counter(m["mobile"] for m in accepted(sim))
    twice = {mobile: n for mobile, n in counts.items() if n > 1}
    assert twice == {}, f"sent more than once: {twice}"


def status(aws: AwsEnv, message_id: str, e164: str) -> str | None:
    record = aws.record(message_id, e164)
    return None if record is None else str(record["status"])


def case(vendor: str, name: str, value: str) -> Any:
    return pytest.param(vendor, {name: value}, id=f"{vendor}-{name}={value}")


# --------------------------------------------------------------------------- gateway 502/504


@pytest.mark.parametrize(
    ("vendor", "readings", "fault"),
    [
        pytest.param(v, {"gateway_error": r}, f, id=f"{v}-gateway_error={r}-{f}")
        for v in VENDORS
        for r in ("not_forwarded", "forwarded")
        for f in ("502", "504")
    ],
)
def test_a_gateway_error_never_sends_twice_and_a_forwarded_call_ends_unknown(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str], fault: str
) -> None:
    # Given a gateway in front of the vendor answering one send with a 502/504
    sim = start(vendor, **readings)
    sim.inject_fault(fault, path=SEND_PATH[vendor])
    to = numbers(vendor, 2)
    # When a request is sent (and delivered again by SQS while it is handed back)
    assert deliver({"id": "gw-1", "to": to, "content": "您的快件已签收"}) == []
    # Then no recipient was sent twice, and nothing was refused for good
    assert_never_sent_twice(sim)
    statuses = {n: status(aws, "gw-1", n) for n in to}
    assert set(statuses.values()) <= {"submitted", "unknown"}, statuses
    at_vendor = {m["mobile"] for m in accepted(sim)}
    for number, state in statuses.items():
        assert state != "submitted" or wire(vendor, number) in at_vendor, (number, state)
    if readings["gateway_error"] == "forwarded":
        # And a call that may have left (it did) is unknown and was not resent
        assert set(statuses.values()) == {"unknown"}, statuses
        assert sim.calls(SEND_PATH[vendor]) == 1


# --------------------------------------------------------------------------- stale tokens


@pytest.mark.parametrize(
    ("vendor", "readings"),
    [
        case(v, "stale_token", r)
        for v, choices in (
            ("paasw_v1", ("code_10008", "generic", "http_401", "http_403")),
            ("paasw_v2", ("code_10020", "generic", "http_401", "http_403")),
        )
        for r in choices
    ],
)
def test_a_reset_token_is_fetched_again_and_the_call_succeeds(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    # Given a first send, which fetched a token, and a reset secret at the vendor (000 L14, 001 L37)
    sim = start(vendor, **readings)
    assert deliver({"id": "tok-1", "to": numbers(vendor, 1), "content": "您的快件已签收"}) == []
    sim.expire_tokens()
    # When the next request is sent
    to = numbers(vendor, 2, start=10)
    assert deliver({"id": "tok-2", "to": to, "content": "您的快件已签收"}, first_id=2) == []
    # Then a new token was fetched and the recipients were submitted, each sent once
    assert sim.calls(TOKEN_PATH[vendor]) == 2
    assert {status(aws, "tok-2", n) for n in to} == {"submitted"}
    assert_never_sent_twice(sim)


# --------------------------------------------------------------------------- limits and formats


@pytest.mark.parametrize(
    ("vendor", "readings"),
    [case("paasw_v1", "content_sign", r) for r in ("optional", "required")]
    + [case("intl_v1", "content_sign", r) for r in ("optional", "required")],
)
def test_content_reaches_the_vendor_in_a_form_it_accepts(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    # Given a vendor whose document puts 【sign】 in the content (000 L32, 002 L118)
    sim = start(vendor, **readings)
    to = numbers(vendor, 2)
    # When a plain text is sent with the account's sign
    assert deliver({"id": "sign-1", "to": to, "content": "您的快件已签收"}) == []
    # Then it is accepted under every reading
    assert {status(aws, "sign-1", n) for n in to} == {"submitted"}
    assert_never_sent_twice(sim)


@pytest.mark.parametrize(
    ("vendor", "readings"), [case("paasw_v1", "phone_numbers_limits", r) for r in ("both", "count")]
)
def test_1001_recipients_are_all_sent_once_within_the_vendors_limits(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    sim = start(vendor, **readings)
    to = numbers(vendor, 1001)
    assert deliver({"id": "bulk-1", "to": to, "content": "大促通知"}) == []
    # Then every recipient was accepted by the vendor, once (000 L30: 1000 numbers, 1500 characters)
    assert len(accepted(sim)) == 1001
    assert_never_sent_twice(sim)
    assert Counter(status(aws, "bulk-1", n) for n in to) == {"submitted": 1001}


@pytest.mark.parametrize(
    ("vendor", "readings"), [case("action_v1", "status_102_above", r) for r in ("500", "200")]
)
def test_300_recipients_are_all_sent_once_whatever_the_status_102_threshold(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    # Given 004 L30 (at most 500) and L542 (STATUS 102, "建议200以内")
    sim = start(vendor, **readings)
    to = numbers(vendor, 300)
    # When 300 recipients share one text
    assert deliver({"id": "bulk-2", "to": to, "content": "大促通知"}) == []
    # Then all 300 were accepted, once
    assert len(accepted(sim)) == 300
    assert_never_sent_twice(sim)
    assert Counter(status(aws, "bulk-2", n) for n in to) == {"submitted": 300}


@pytest.mark.parametrize(
    ("vendor", "readings"), [case("paasw_v2", "template_params", r) for r in ("either", "string", "object")]
)
def test_a_template_request_is_accepted_whatever_the_params_type(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    # Given 001 L196 (params typed String) against its example L207-L210 (an object)
    sim = start(vendor, **readings)
    to = numbers(vendor, 1)
    body = {"id": "tpl-1", "to": to, "template": {"id": "4289538897476608", "params": {"code": "523648"}}}
    assert deliver({**body, "kind": "verification"}) == []
    assert status(aws, "tpl-1", to[0]) == "submitted"
    assert_never_sent_twice(sim)


@pytest.mark.parametrize(
    ("vendor", "readings"),
    [
        case(v, "bad_number", r)
        for v in ("paasw_v1", "paasw_v2", "pwd_v1", "intl_v1")
        for r in ("whole_call", "per_number")
    ],
)
def test_one_bad_number_does_not_fail_the_good_ones(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    # Given a request with two mobiles and a landline (valid for us, refused by the vendor)
    sim = start(vendor, **readings)
    good = numbers(vendor, 2)
    landline = "+861012345678"  # 000 L30, 001 L101, 002 L111, 003 L45 ask for mobile numbers
    # When it is sent
    assert deliver({"id": "bad-1", "to": [*good, landline], "content": "您的快件已签收"}) == []
    # Then the good recipients were submitted, each sent once, and the landline did not deliver
    assert {status(aws, "bad-1", n) for n in good} == {"submitted"}
    assert_never_sent_twice(sim)
    assert sim.wait_idle(5)
    poll("reports")
    assert status(aws, "bad-1", landline) in FINAL_NOT_DELIVERED | {"unknown"}


# --------------------------------------------------------------------------- p2p (004)


@pytest.mark.parametrize(
    ("vendor", "readings"), [case("action_v1", "p2p_row_break", r) for r in ("any", "cr", "lf")]
)
def test_p2p_texts_reach_their_own_recipient_whatever_ends_a_row(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    sim = start(vendor, **readings)
    to = numbers(vendor, 3)
    texts = {n: f"验证码 {i}1234，5分钟内有效" for i, n in enumerate(to)}
    assert deliver({"id": "p2p-1", "p2p": [{"to": n, "content": t} for n, t in texts.items()]}) == []
    # Then each recipient got exactly its own text, once (004 L116-L121; example L133 with %0d)
    got = {m["mobile"]: m["content"] for m in accepted(sim)}
    assert set(got) == {wire(vendor, n) for n in to}
    for number, text in texts.items():
        assert got[wire(vendor, number)].endswith(text) and "#" not in got[wire(vendor, number)]
    assert_never_sent_twice(sim)
    assert {status(aws, "p2p-1", n) for n in to} == {"submitted"}


@pytest.mark.parametrize(
    ("vendor", "readings"), [case("action_v1", "p2p_bad_row", r) for r in ("reject_call", "skip_row")]
)
def test_a_line_break_inside_a_p2p_text_harms_no_other_recipient(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    sim = start(vendor, **readings)
    plain, broken = numbers(vendor, 2)
    texts = {plain: "您的快件已签收", broken: "第一行\n第二行"}
    # When a p2p request carries a text with a line break inside it
    failures = deliver({"id": "p2p-2", "p2p": [{"to": n, "content": t} for n, t in texts.items()]})
    # Then the request leaves the queue (no dead letter), the plain recipient got its text once
    assert failures == []
    got = {m["mobile"]: m["content"] for m in accepted(sim)}
    assert got[wire(vendor, plain)].endswith(texts[plain])
    assert status(aws, "p2p-2", plain) == "submitted"
    # And the other got its whole text or nothing: never a cut text (the MD5 drops breaks, L112)
    if wire(vendor, broken) in got:
        assert "".join(got[wire(vendor, broken)].split()).endswith("第一行第二行")
    assert_never_sent_twice(sim)


# --------------------------------------------------------------------------- balances (004)


@pytest.mark.parametrize(
    ("vendor", "readings"), [case("action_v1", "charge_type", r) for r in ("PRECHARGE", "POSTCHARGE")]
)
def test_a_post_paid_balance_is_never_low(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    sim = start(vendor, **readings)
    if readings["charge_type"] == "PRECHARGE":
        sim.set_balance(50_000)  # 50 yuan, below the account's threshold of 100
    poll("balance")
    # Then one balance event; Low only for the pre-paid account below its threshold (004 L218, L230)
    assert len(aws.events("SMS Balance")) == 1
    expected_low = 1 if readings["charge_type"] == "PRECHARGE" else 0
    assert len(aws.events("SMS Balance Low")) == expected_low


# --------------------------------------------------------------------------- pwd_v1 (003)


@pytest.mark.parametrize(
    ("vendor", "readings"), [case("pwd_v1", "task_id_reuse", r) for r in ("send_again", "dedupe", "refuse")]
)
def test_a_lost_pwd_v1_answer_is_unknown_and_never_resent(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    # Given a vendor that takes the call but answers after our read timeout (2 s)
    sim = start(vendor, **readings)
    sim.inject_fault("timeout", path=SEND_PATH[vendor], seconds=2.5)
    to = numbers(vendor, 1)
    # When the request is sent (and delivered again while it is handed back)
    assert deliver({"id": "lost-1", "to": to, "content": "x"}) == []
    # Then it is unknown, and the vendor got one call: 003 L44 promises no deduplication
    assert status(aws, "lost-1", to[0]) == "unknown"
    assert sim.calls(SEND_PATH[vendor]) == 1
    assert_never_sent_twice(sim)


@pytest.mark.parametrize(
    ("vendor", "readings"), [case("pwd_v1", "mo_pull", r) for r in ("push_only", "both")]
)
def test_a_pwd_v1_mo_pushed_and_pulled_is_one_inbound(
    aws: AwsEnv,
    start: Callable[..., BaseSimulator],
    callbacks: CallbackBridge,
    vendor: str,
    readings: dict[str, str],
) -> None:
    # Given an MO the vendor pushes (full number) and, under one reading, offers by pull (masked)
    sim = start(vendor, **readings)
    sim.configure(delivery="push", push_mo_url=callbacks.url(ACCOUNT, "mo"))
    sim.queue_mo("13912341234", "端午节快乐", ext_no="10")
    assert sim.wait_idle(5)
    # When the inbound poller runs as well
    poll("inbound")
    # Then exactly one SMS Inbound was published
    inbound = aws.events("SMS Inbound")
    assert len(inbound) == 1, [e["detail"] for e in inbound]


# --------------------------------------------------------------------------- pushes and acks


@pytest.mark.parametrize(
    ("vendor", "readings"),
    [case(v, "repush", r) for v in ("action_v1", "paasw_v1", "paasw_v2") for r in ("none", "twice")]
    + [case("intl_v1", "repush_on", r) for r in ("any_failure", "nonzero_code")]
    + [case("paasw_v2", "report_batch_id", r) for r in ("string", "number")],
)
def test_pushed_reports_and_mo_are_applied_once_and_acked_at_the_first_attempt(
    aws: AwsEnv,
    start: Callable[..., BaseSimulator],
    callbacks: CallbackBridge,
    vendor: str,
    readings: dict[str, str],
) -> None:
    sim = start(vendor, **readings)
    report_url = callbacks.url(ACCOUNT, "report")
    sim.configure(delivery="push", push_report_url=report_url, push_mo_url=callbacks.url(ACCOUNT, "mo"))
    to = numbers(vendor, 3)
    sim.set_outcome(wire(vendor, to[2]), "undelivered")
    # When three recipients are sent, their reports pushed, and (where the document has MO) a reply
    assert deliver({"id": "push-1", "to": to, "content": "您的快件已签收"}) == []
    if sim.HAS_MO:
        sim.queue_mo(wire(vendor, to[0]), "收到")
    assert sim.wait_idle(5)
    # Then every push was acked at its first attempt, so no reading re-pushes anything
    assert sim.pushes and all(p["accepted"] and p["attempt"] == 1 for p in sim.pushes)
    # And each report was applied once: two delivered, one not
    assert [status(aws, "push-1", n) for n in to[:2]] == ["delivered", "delivered"]
    assert status(aws, "push-1", to[2]) in FINAL_NOT_DELIVERED
    reports = Counter(e["detail"]["recipient"] for e in aws.events("SMS Delivery Report"))
    assert reports == dict.fromkeys(to, 1)
    if sim.HAS_MO:
        assert len(aws.events("SMS Inbound")) == 1


@pytest.mark.parametrize(
    ("vendor", "readings"),
    [case(v, "repush", r) for v in ("action_v1", "paasw_v1", "paasw_v2") for r in ("none", "twice")],
)
def test_one_unreadable_record_in_a_push_loses_none_of_the_good_ones(
    aws: AwsEnv,
    start: Callable[..., BaseSimulator],
    callbacks: CallbackBridge,
    vendor: str,
    readings: dict[str, str],
) -> None:
    # Given a vendor whose next pushed array holds one unreadable record among the good ones
    sim = start(vendor, **readings)
    sim.configure(delivery="push", push_report_url=callbacks.url(ACCOUNT, "report"))
    sim.inject_bad_record("report")
    to = numbers(vendor, 2)
    # When two recipients are sent and their reports pushed
    assert deliver({"id": "garbled-1", "to": to, "content": "您的快件已签收"}) == []
    assert sim.wait_idle(5)
    # Then both good reports were applied, once, and the push was acked at its first attempt,
    # so a vendor that re-pushes on a non-ack does not push the good records again
    assert [status(aws, "garbled-1", n) for n in to] == ["delivered", "delivered"]
    reports = Counter(e["detail"]["recipient"] for e in aws.events("SMS Delivery Report"))
    assert reports == dict.fromkeys(to, 1)
    assert all(p["attempt"] == 1 and p["accepted"] for p in sim.pushes)
    assert any(UNREADABLE_RECORD in _records(p["body"]) for p in sim.pushes)  # the case did occur


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_one_unreadable_record_in_a_pull_loses_none_of_the_good_ones(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str
) -> None:
    # Given reports kept for pull, and a pulled batch holding one unreadable record
    sim = start(vendor)
    to = numbers(vendor, 2)
    assert deliver({"id": "garbled-2", "to": to, "content": "您的快件已签收"}) == []
    assert sim.wait_idle(5)
    sim.inject_bad_record("report")
    # When the reports poller runs (twice: a kept batch may be replayed)
    poll("reports")
    poll("reports")
    assert sim.state()["bad_records_pending"] == {}  # a pulled batch did carry it
    # Then both good reports were applied, once each
    assert [status(aws, "garbled-2", n) for n in to] == ["delivered", "delivered"]
    reports = Counter(e["detail"]["recipient"] for e in aws.events("SMS Delivery Report"))
    assert reports == dict.fromkeys(to, 1)


# --------------------------------------------------------------------------- intl_v1 reports (002)


@pytest.mark.parametrize(
    ("vendor", "readings"),
    [case("intl_v1", "timestamp_clock", r) for r in ("24h", "12h")]
    + [case("intl_v1", "timestamp_digits", r) for r in ("14", "12")]
    + [case("intl_v1", "push_failed_status", r) for r in ("2", "1")],
)
def test_intl_v1_reports_are_applied_whatever_their_timestamp_and_failed_status(
    aws: AwsEnv,
    start: Callable[..., BaseSimulator],
    callbacks: CallbackBridge,
    vendor: str,
    readings: dict[str, str],
) -> None:
    sim = start(vendor, **readings)
    pushed, polled = numbers(vendor, 2), numbers(vendor, 2, start=10)
    for number in (pushed[1], polled[1]):
        sim.set_outcome(wire(vendor, number), "undelivered")
    # Given reports of one request pushed, and of another polled from the status API
    sim.configure(delivery="push", push_report_url=callbacks.url(ACCOUNT, "report"))
    assert deliver({"id": "rep-1", "to": pushed, "content": "【Univasa】code 279275"}) == []
    assert sim.wait_idle(5)
    # Then each pushed report was applied from the push itself (002 L419 vs L439)
    assert status(aws, "rep-1", pushed[0]) == "delivered"
    assert status(aws, "rep-1", pushed[1]) in FINAL_NOT_DELIVERED
    sim.configure(delivery="pull")
    assert deliver({"id": "rep-2", "to": polled, "content": "【Univasa】code 279275"}, first_id=2) == []
    assert sim.wait_idle(5)
    poll("reports")
    # And each polled report too: delivered, or final and not delivered (002 L336)
    assert status(aws, "rep-2", polled[0]) == "delivered"
    assert status(aws, "rep-2", polled[1]) in FINAL_NOT_DELIVERED
    assert all(p["accepted"] for p in sim.pushes)
    # And the reported times are real instants: not in the future (a 12-hour clock read wrong)
    latest = datetime.now(UTC) + timedelta(minutes=1)  # slack for clocks
    for event in aws.events("SMS Delivery Report"):
        occurred = datetime.fromisoformat(event["detail"]["occurred_at"].replace("Z", "+00:00"))
        assert occurred <= latest, event["detail"]


@pytest.mark.parametrize(
    ("vendor", "readings"),
    [case(v, "pull_handout", r) for v in ("paasw_v1", "paasw_v2", "pwd_v1") for r in ("once", "twice")],
)
def test_pulled_reports_and_mo_are_applied_once_even_when_pulled_again(
    aws: AwsEnv, start: Callable[..., BaseSimulator], vendor: str, readings: dict[str, str]
) -> None:
    # Given reports and an MO kept for pull, which under one reading the next pull repeats
    sim = start(vendor, **readings)
    to = numbers(vendor, 2)
    assert deliver({"id": "again-1", "to": to, "content": "您的快件已签收"}) == []
    sim.queue_mo(wire(vendor, to[0]), "收到")
    assert sim.wait_idle(5)
    # When the pollers run twice
    for _ in range(2):
        poll("reports")
        poll("inbound")
    # Then each report changed its record once, and the MO is one SMS Inbound
    assert [status(aws, "again-1", n) for n in to] == ["delivered", "delivered"]
    reports = Counter(e["detail"]["recipient"] for e in aws.events("SMS Delivery Report"))
    assert reports == dict.fromkeys(to, 1)
    assert len(aws.events("SMS Inbound")) == 1


def _records(body: Any) -> list[Any]:
    return body if isinstance(body, list) else list(body.get("data") or []) if isinstance(body, dict) else []


#: readings with no contract case, and why
NOT_EXERCISED: dict[tuple[str, str], str] = {}


def test_every_reading_of_every_simulator_is_exercised_here() -> None:
    """A reading (or a choice of one) added to a simulator without a contract case fails this."""
    from simulators import SIMULATORS

    covered: set[tuple[str, str, str]] = set()
    for test in list(globals().values()):
        for mark in getattr(test, "pytestmark", []):
            if mark.name == "parametrize" and "readings" in mark.args[0]:
                for param in mark.args[1]:
                    vendor, readings = param.values[0], param.values[1]
                    covered |= {(vendor, name, value) for name, value in readings.items()}
    every = {
        (vendor, name, choice)
        for vendor, cls in SIMULATORS.items()
        for name, spec in cls.reading_specs().items()
        for choice in spec.choices
    }
    assert {(vendor, name) for vendor, name, _ in every - covered} == set(NOT_EXERCISED)
