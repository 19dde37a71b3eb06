"""Duplicate events under injected PutEvents partial failures: before and after retrying only
the refused entries (issue 9.5). Prints figures; not a test, and not timed.

The stream is played as Lambda plays it: batches of 100 records, a batch handed back from its
lowest reported record. EventBridge refuses each entry of each call with probability ``rate``
(ThrottlingException), with the same seeded draws for both publishers:
* before: the previous publisher (no retry within the invocation: the first refused entry hands
  its record and every later one back to the stream), i.e. ``Publisher(attempts=1)``;
* after: the current publisher (refused entries put again alone, up to PUT_ATTEMPTS times).

Duplicate rate = events put more than once / distinct events.

    python bench/publish_duplicates.py [records] [rates...]
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")

from sms_gateway import observability  # noqa: E402
from sms_gateway.publishing import PUT_ATTEMPTS, Publisher  # noqa: E402
from tests.support.faulty_events import FaultyEvents, MemoryBus  # noqa: E402

BATCH_SIZE = 100  # template.yaml: PublishFunction's stream BatchSize
MAX_INVOCATIONS = 1_000_000


def stream(count: int) -> list[dict[str, Any]]:
    template = json.loads((ROOT / "events" / "publish" / "dynamodb-stream.json").read_text())["Records"][0]
    records = []
    for n in range(count):
        record = copy.deepcopy(template)
        record["eventID"] = f"e{n}"
        record["dynamodb"]["NewImage"]["message_id"] = {"S": f"m{n}"}
        record["dynamodb"].pop("ApproximateCreationDateTime", None)  # young: never parked
        records.append(record)
    return records


def play(records: list[dict[str, Any]], rate: float, attempts: int, seed: int) -> dict[str, float]:
    bus = MemoryBus()
    events = FaultyEvents.at_random(bus, rate, seed)
    publisher = Publisher("bus", "sms.gateway", events, attempts=attempts, sleep=lambda _s: None)
    position = invocations = 0
    while position < len(records) and invocations < MAX_INVOCATIONS:
        invocations += 1
        batch = records[position : position + BATCH_SIZE]
        retry = publisher.publish_records(batch)
        ids = [r["eventID"] for r in batch]
        position += min((ids.index(i) for i in retry), default=len(batch))
    counts = bus.counts()
    distinct = len(counts)
    return {
        "distinct": distinct,
        "duplicated": sum(1 for c in counts.values() if c > 1),
        "extra_puts": sum(counts.values()) - distinct,
        "invocations": invocations,
        "calls": len(events.calls),
    }


def main(count: int = 2000, rates: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2), seed: int = 7) -> None:
    records = stream(count)
    # The publisher's warnings (one per hand-back) and metrics (EMF lines on stdout: Powertools
    # prints a metric at its hundredth value whatever POWERTOOLS_METRICS_DISABLED says) are not
    # what is measured: the runs print into a sink, and only the figures reach stdout.
    observability.logger.setLevel("ERROR")
    report(records, count, rates, seed)


def report(records: list[dict[str, Any]], count: int, rates: tuple[float, ...], seed: int) -> None:
    print(
        f"publish duplicates: {count} stream records, batches of {BATCH_SIZE}, each entry of each "
        f"PutEvents call refused at random (seed {seed}); after = up to {PUT_ATTEMPTS} attempts per entry"
    )
    print(
        f"{'refused':>8}  {'before dup':>10}  {'after dup':>9}  {'after/before':>12}  "
        f"{'invocations b/a':>15}  {'PutEvents calls b/a':>19}"
    )
    for rate in rates:
        with contextlib.redirect_stdout(io.StringIO()):
            before = play(records, rate, 1, seed)
            after = play(records, rate, PUT_ATTEMPTS, seed)
        assert before["distinct"] == after["distinct"] == count, "an event was lost"
        b, a = before["duplicated"] / count, after["duplicated"] / count
        ratio = f"{a / b:.3f}" if b else "n/a"
        print(
            f"{rate:>8.0%}  {b:>10.1%}  {a:>9.1%}  {ratio:>12}  "
            f"{before['invocations']:>7.0f}/{after['invocations']:<7.0f}  "
            f"{before['calls']:>9.0f}/{after['calls']:<9.0f}"
        )


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments:
        main(int(arguments[0]), tuple(float(r) for r in arguments[1:]) or (0.02, 0.05, 0.1, 0.2))
    else:
        main()
