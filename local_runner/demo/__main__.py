"""``python -m local_runner.demo`` (``make demo``): see the package docstring."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

import local_runner.demo as demo_package
from local_runner.demo.board import Board, Progress, follow, publish
from local_runner.demo.checks import Check, checks, explain, problems
from local_runner.demo.report import function_table, vendor_table
from local_runner.demo.scenario import (
    LATER,
    LOG_FILE,
    VENDORS,
    Account,
    Scenario,
    connect_pushes,
    demo_accounts,
    start_simulators,
    token_calls,
)
from local_runner.failover_demo import FailoverDemo
from local_runner.testing import PROJECT_ROOT, RunnerFailed, RunningRunner, start_runner

#: the first paragraph of the package docstring
_DESCRIPTION = (demo_package.__doc__ or "").split("\n\n")[0]

# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runner.demo", description=_DESCRIPTION)
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
    failover = FailoverDemo()  # after the main scenario: one vendor down, its route moves on
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
        board = Board(scenario, recipients)
        tokens_before = _play(board, runner, time.monotonic() + args.timeout, args.timeout)
        scenario_checks = checks(board, tokens_before)
        _report(board, runner, scenario_checks)
        return _verdict(board, runner, scenario_checks, failover, time.monotonic() - began)
    except RunnerFailed as exc:
        print(f"the local runner did not start:\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        _shut_down(runner, accounts)
        failover.stop()


def _play(board: Board, runner: RunningRunner, deadline: float, timeout: float) -> dict[str, int]:
    """Both waves of sends, following the bus until every outcome arrived or the deadline passed;
    the token calls of the token accounts before their tokens were expired."""
    scenario, recipients = board.scenario, board.recipients
    sqs = runner.client("sqs")
    send_url, events_url = runner.info["send_queue_url"], runner.info["events_queue_url"]
    progress = Progress(board)

    # Wave 1, in two parts as backends publish over time (two SendFunction batches): first the
    # scheduled requests (so they are sent before they are due) and the token accounts.
    wave1 = [r for r in scenario.requests if r.wave == 1]
    first = [r for r in wave1 if r.schedule_in is not None]
    first += [r for r in wave1 if r.schedule_in is None and r.account.vendor not in LATER]
    publish(sqs, send_url, first)
    for account, number, content in scenario.replies:
        account.sim.queue_mo(account.on_the_wire(number), content, delay=2.0)
    follow(board, sqs, events_url, progress, until=lambda: False, deadline=time.monotonic() + 1.5)
    publish(sqs, send_url, [r for r in wave1 if r not in first])
    progress.clear()
    print(
        f"wave 1: {len(wave1)} requests, {sum(len(r.numbers) for r in wave1)} recipients; "
        f"{len(scenario.replies)} replies on their way"
    )

    # Wave 2 once the token accounts' first wave is accepted, and their tokens expired.
    token_accounts = [a for a in scenario.accounts.values() if a.sim.HAS_TOKENS]
    wave1_numbers = {
        (r.account.name, r.account.on_the_wire(r.number))
        for r in recipients
        if r.account in token_accounts and r.request.wave == 1
    }

    def accepted() -> bool:
        return wave1_numbers <= {(a.name, m["mobile"]) for a in token_accounts for m in a.sim.messages}

    follow(board, sqs, events_url, progress, until=accepted, deadline=deadline)
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

    finished = follow(board, sqs, events_url, progress, until=lambda: board.done, deadline=deadline)
    while finished and board.drain(sqs, events_url, wait_seconds=0):
        pass  # duplicates would be harmless; read what is there to count them
    progress.clear()
    print(("all arrived: " if finished else f"timed out after {timeout:.0f} s: ") + board.counts())
    return tokens_before


def _report(board: Board, runner: RunningRunner, scenario_checks: list[Check]) -> None:
    print()
    print(vendor_table(board))
    print(
        "failed: every final status but delivered, refusals in the send answer included. vendor calls:\n"
        "every request the simulators answered (sends, tokens, pulls, balances). send→final: from\n"
        "publishing a request (or its send_at, if later) to its final event arriving on the bus.\n"
    )
    for held, line in scenario_checks:
        print(f"  {'·' if held is None else '✓' if held else '✗'} {line}")
    print()
    print(function_table(runner))
    print(f"(the runner's log: {LOG_FILE.relative_to(PROJECT_ROOT)})\n")


def _verdict(
    board: Board, runner: RunningRunner, scenario_checks: list[Check], failover: FailoverDemo, elapsed: float
) -> int:
    """PASS (0) when nothing is missing or wrong, else FAIL (1) with what and a diagnosis."""
    recipients, accounts = board.recipients, board.scenario.accounts
    found = problems(board)
    if not found:
        found = failover.run(
            runner.client("sqs"), runner.info["send_queue_url"], runner.info["events_queue_url"]
        )
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
    total = len(recipients)
    delivered = sum(1 for r in recipients if r.status == "delivered")
    not_held = sum(1 for held, _ in scenario_checks if held is False)
    print(
        f"PASS: {total}/{total} recipients on {len(accounts)} accounts of {len(VENDORS)} vendors "
        f"ended as their vendor decided ({delivered} delivered, {total - delivered} failed), "
        f"{len(board.inbound)}/{len(board.replies)} replies, "
        f"{len(set(board.balances) & set(accounts))}/{len(accounts)} "
        f"balances, in {elapsed:.0f} s" + (f" ({not_held} scenario check(s) ✗ above)" if not_held else "")
    )
    return 0


def _shut_down(runner: RunningRunner | None, accounts: list[Account]) -> None:
    if runner is not None:
        code = runner.stop()
        with contextlib.suppress(OSError):
            LOG_FILE.write_text(runner.log_text() + "\n", encoding="utf-8")
        if code != 0:
            print(f"the runner exited with status {code}:\n{runner.log_text(last=30)}", file=sys.stderr)
    for account in accounts:
        if account.sim is not None:
            account.sim.stop()


if __name__ == "__main__":
    sys.exit(main())
