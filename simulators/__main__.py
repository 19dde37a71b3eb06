"""Run one simulator per account of an accounts document.

    python -m simulators --accounts accounts.json --push-base http://127.0.0.1:3000 \\
        [--delivery push|pull|mixed] [--report-delay 0.2] [--reading [VENDOR.]NAME=VALUE]… [--verbose]

Each simulator listens on its account's base_url port and pushes reports to
``{push-base}/callbacks/{name}/report?token={callback_token}`` and MO to
``{push-base}/callbacks/{name}/mo?token=…`` (action_v1 has one push address for both, so it
uses the report URL). ``mixed`` alternates push and pull over the accounts in document order.
Without ``--push-base`` everything is kept for pull. ``--reading`` chooses a reading where a
document is ambiguous (simulators/READINGS.md): ``stale_token=http_401`` sets it on every
simulator that has that reading, ``paasw_v1.stale_token=http_401`` only on that vendor's.
Once all are listening, one JSON line is printed on stdout: ``{"ready": true, "simulators":
{name: url}, "delivery": {name: mode}, "readings": {name: {reading: choice}}}``.
SIGINT or SIGTERM stops them all cleanly.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import urllib.parse
from typing import Any

from . import simulator_for
from .base import BaseSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators", description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", required=True, help='accounts document ({"accounts": [...]})')
    parser.add_argument("--push-base", help="base URL of the callback receiver")
    parser.add_argument("--delivery", choices=("push", "pull", "mixed"), default="push")
    parser.add_argument("--report-delay", type=float, default=0.2, help="seconds after submit")
    parser.add_argument(
        "--reading",
        action="append",
        default=[],
        metavar="[VENDOR.]NAME=VALUE",
        help="choose a reading (repeatable); see simulators/READINGS.md",
    )
    parser.add_argument("--verbose", action="store_true", help="log to stderr")
    args = parser.parse_args(argv)
    try:
        chosen = _parse_readings(args.reading)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr)

    with open(args.accounts, encoding="utf-8") as handle:
        document = json.load(handle)
    accounts = document["accounts"] if isinstance(document, dict) else document

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    try:
        sims = _start_all(accounts, args, chosen)
    except Exception as exc:
        print(f"simulators: could not start: {exc}", file=sys.stderr)
        return 2

    unused = {key for key in chosen if not any(_applies(key, sim) for sim in sims.values())}
    if unused:
        for sim in sims.values():
            sim.stop()
        names = ", ".join(f"{v + '.' if v else ''}{n}" for v, n in sorted(unused, key=str))
        print(f"simulators: no simulator has the reading(s) {names}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "ready": True,
                "simulators": {name: sim.url for name, sim in sims.items()},
                "delivery": {name: sim.delivery for name, sim in sims.items()},
                "readings": {name: sim.readings for name, sim in sims.items()},
            }
        ),
        flush=True,
    )
    while not stop.wait(0.2):
        pass
    for sim in sims.values():
        sim.stop()
    return 0


def _start_all(
    accounts: list[dict[str, Any]], args: argparse.Namespace, chosen: dict[tuple[str | None, str], str]
) -> dict[str, BaseSimulator]:
    """Start one simulator per account; on a failure the ones already started are stopped."""
    sims: dict[str, BaseSimulator] = {}
    try:
        for index, account in enumerate(accounts):
            sim = simulator_for(account, start=False)
            settings = _settings(account, sim, args, index)
            settings["readings"] = {key[1]: value for key, value in chosen.items() if _applies(key, sim)}
            sim.configure(**settings).start()
            sims[sim.name] = sim
    except Exception:
        for sim in sims.values():
            sim.stop()
        raise
    return sims


def _settings(
    account: dict[str, Any], sim: BaseSimulator, args: argparse.Namespace, index: int
) -> dict[str, Any]:
    """configure() keys of one simulator: delivery mode (mixed alternates) and push URLs."""
    mode = args.delivery
    if mode == "mixed":
        mode = "push" if index % 2 == 0 else "pull"
    settings: dict[str, Any] = {
        "delivery": mode if args.push_base else "pull",
        "report_delay": args.report_delay,
    }
    if args.push_base:
        base = args.push_base.rstrip("/")
        name = urllib.parse.quote(sim.name, safe="")
        token = urllib.parse.quote(account.get("callback_token") or "", safe="")
        settings["push_report_url"] = f"{base}/callbacks/{name}/report?token={token}"
        settings["push_mo_url"] = f"{base}/callbacks/{name}/mo?token={token}"
    return settings


def _parse_readings(items: list[str]) -> dict[tuple[str | None, str], str]:
    chosen: dict[tuple[str | None, str], str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--reading {item!r}: expected [VENDOR.]NAME=VALUE")
        vendor, dot, name = key.strip().rpartition(".")
        chosen[(vendor if dot else None, name)] = value.strip()
    return chosen


def _applies(key: tuple[str | None, str], sim: BaseSimulator) -> bool:
    vendor, name = key
    return vendor in (None, sim.vendor) and name in sim.reading_specs()


if __name__ == "__main__":
    sys.exit(main())
