"""The report: the summary per vendor and the functions' invocations, as plain tables."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any

from local_runner.demo.board import Board
from local_runner.demo.scenario import SUBMITTED, VENDORS, send_calls
from local_runner.testing import RunningRunner


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
