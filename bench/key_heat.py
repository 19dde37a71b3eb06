"""The partition keys one account's reports write at 10,000 reports/s, before and after sharding
(issue 11.6). DynamoDB serves ~1,000 writes/s per partition key (index keys included), and a
time-ordered sort key defeats its split-for-heat, so the hottest key's writes/s is the figure.

The keys written are the store's own (sms_gateway.store.keys), for each kind of report:
- a report pushed alone by a vendor that pushes again until acked: the record's update and, as it
  is final, its removal from the `pending` index;
- the same from a vendor that pushes once only: its raw body kept first (the inbox), then as above;
- an MO: the inbound item.
"Before" is the layout of main before this change (INBOX#, INBOUND#, PENDING# per account, and a
push kept, marked and indexed before its report was applied). A simulation: no table is written.

    python bench/key_heat.py [reports_per_second]
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]

from sms_gateway.store import keys  # noqa: E402

ACCOUNT = "cn-main"
LIMIT_PER_KEY = 1_000  # writes/s DynamoDB serves on one partition key
RECIPIENTS_PER_MESSAGE = 1_000  # a campaign split into send requests of 1,000 numbers
CAMPAIGN = 1_000_000  # recipients whose reports arrive in random order (seeded)
SECONDS = 10

Writes = Callable[[int], list[str]]  # report number -> partition keys it writes (one per write)


def _message(n: int) -> tuple[str, str]:
    return f"campaign-{n // RECIPIENTS_PER_MESSAGE}", f"+86138{n % 100_000_000:08d}"


def repushed_after(n: int) -> list[str]:
    message_id, number = _message(n)
    return [keys.message_pk(message_id), keys.pending_pk(ACCOUNT, message_id, number)]


def once_only_after(n: int) -> list[str]:
    # Kept after its one record was applied (ingest._KeptPush): one inbox put, never indexed.
    return [keys.inbox_pk(ACCOUNT, keys.shard_of(f"push-{n}")), *repushed_after(n)]


def mo_after(n: int) -> list[str]:
    pk, _ = keys.inbound(ACCOUNT, "2026-12-02T00:00:00.000Z", f"mo-{n}")
    return [pk]


def report_before(n: int) -> list[str]:
    message_id, _ = _message(n)
    inbox, replay = f"INBOX#{ACCOUNT}", f"REPLAY#{ACCOUNT}"
    # put (and its index entry), the record, its pending entry removed, the mark (index removal)
    return [inbox, replay, keys.message_pk(message_id), f"PENDING#{ACCOUNT}", inbox, replay]


def mo_before(n: int) -> list[str]:
    inbox, replay = f"INBOX#{ACCOUNT}", f"REPLAY#{ACCOUNT}"
    return [inbox, replay, f"INBOUND#{ACCOUNT}", inbox, replay]


def heat(writes: Writes, rate: int) -> tuple[str, float, float]:
    """The hottest key, its writes/s and its share of all writes, over SECONDS at ``rate``."""
    counts: Counter[str] = Counter()
    for n in random.Random(11).sample(range(CAMPAIGN), rate * SECONDS):
        counts.update(writes(n))
    key, hottest = counts.most_common(1)[0]
    return key, hottest / SECONDS, hottest / sum(counts.values())


def main(rate: int = 10_000) -> None:
    print(f"key heat: {rate:,} reports/s on one account, {RECIPIENTS_PER_MESSAGE:,} recipients a message")
    print(f"  {'load':<38}{'hottest key':<28}{'writes/s':>10}{'share':>8}{'vs 1,000/s':>12}")
    for name, writes in (
        ("reports (re-pushing vendor) before", report_before),
        ("reports (re-pushing vendor) after", repushed_after),
        ("reports (once-only vendor) before", report_before),
        ("reports (once-only vendor) after", once_only_after),
        ("MO before", mo_before),
        ("MO after", mo_after),
    ):
        key, per_second, share = heat(writes, rate)
        print(f"  {name:<38}{key:<28}{per_second:>10,.0f}{share:>8.1%}{per_second / LIMIT_PER_KEY:>11.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
