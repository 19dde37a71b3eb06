"""The verdict: what is missing or wrong (the demo fails on any), the scenario's checks as the
simulators and the bus saw them, and a diagnosis from the table."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from local_runner.demo.board import Board
from local_runner.demo.scenario import (
    PULL_ENDPOINTS,
    REPORT,
    SUBMIT_FAILED,
    SUBMITTED,
    Recipient,
    Request,
    Scenario,
    calls_carrying,
    token_calls,
)
from local_runner.testing import RunningRunner

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
        _recipient_problems(recipient, decided(recipient, messages), missing, wrong)
    found = []
    for what, keys in sorted(missing.items(), key=lambda item: item[0] != "a final status"):
        shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
        found.append(f"missing {what} for {len(keys)} recipient(s): {shown}")
    found += wrong[:10] + ([f"... and {len(wrong) - 10} more wrong statuses"] if len(wrong) > 10 else [])
    return found + _account_problems(board)


def _recipient_problems(
    recipient: Recipient, status: str | None, missing: dict[str, list[str]], wrong: list[str]
) -> None:
    """One recipient's missing events (into ``missing``) and wrong statuses (into ``wrong``)."""
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


def _account_problems(board: Board) -> list[str]:
    """Replies, balances and low-balance events missing or unexpected, and stray events."""
    found = [
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


#: one scenario check: (held, what); held is None for what is only shown
Check = tuple[bool | None, str]


def checks(board: Board, tokens_before: dict[str, int]) -> list[Check]:
    """The scenario's features as the simulators and the bus saw them: (held, what); None for
    what is only shown."""
    by_request: dict[int, list[Recipient]] = defaultdict(list)
    for recipient in board.recipients:
        by_request[id(recipient.request)].append(recipient)
    return [
        _grouped(board.scenario),
        *_p2p_and_templates(board.scenario, by_request),
        _international(board),
        *_scheduled(board.scenario, by_request),
        _partial(board.scenario, by_request),
        *_token_expiry(board, tokens_before),
        *_deliveries(board.scenario),
        _balances(board),
    ]


def _grouped(scenario: Scenario) -> Check:
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
    return (held, "grouped sends, requests → vendor calls: " + ", ".join(shown))


def _p2p_and_templates(scenario: Scenario, by_request: dict[int, list[Recipient]]) -> list[Check]:
    p2p = next(r for r in scenario.requests if r.feature == "p2p")
    calls = calls_carrying(p2p.account, p2p.numbers)
    found: list[Check] = [
        (calls == 1, f"p2p: {p2p.account.name}, {len(p2p.numbers)} texts in {calls} action=p2p call")
    ]
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
    return found


def _international(board: Board) -> Check:
    intl = board.scenario.accounts["intl"]
    countries = sorted({r.e164[:4] for r in board.recipients if r.account is intl})
    senders = sorted({str(m.get("sender_id")) for m in intl.sim.messages})
    return (len(senders) > 1, f"international: {', '.join(countries)}…; sender ids {', '.join(senders)}")


def _scheduled(scenario: Scenario, by_request: dict[int, list[Recipient]]) -> list[Check]:
    found: list[Check] = []
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
    return found


def _partial(scenario: Scenario, by_request: dict[int, list[Recipient]]) -> Check:
    partial = next(r for r in scenario.requests if r.feature == "partial")
    refused = Counter(r.status for r in by_request[id(partial)])["failed"]
    return (
        refused == sum(1 for key in scenario.refusals if key[0] == partial.account.name)
        and calls_carrying(partial.account, partial.numbers) == 1,
        f"partly failing call: {partial.account.name}, 1 call of {len(partial.numbers)}: "
        f"{len(partial.numbers) - refused} accepted, {refused} refused (RESULT 15) as SMS Submit Failed",
    )


def _token_expiry(board: Board, tokens_before: dict[str, int]) -> list[Check]:
    found: list[Check] = []
    for name, before in tokens_before.items():
        account = board.scenario.accounts[name]
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
    return found


def _deliveries(scenario: Scenario) -> list[Check]:
    """How reports and MO reached the runner per account (shown, not checked)."""
    found: list[Check] = []
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
    return found


def _balances(board: Board) -> Check:
    amounts = []
    for name, detail in sorted(board.balances.items()):
        low = " LOW" if name in board.low else ""
        amounts.append(f"{name} {detail.get('amount')} {detail.get('currency')}{low}")
    return (board.low == board.lows_expected, "balances: " + ", ".join(amounts))
