"""Benchmarks that print figures: grouping and chunking, push parsing, cold import of each handler
against boto3 and the layer's size (bench/cold_import.py), DynamoDB calls and writes per report
and per message, CPU per report, vendor calls against ceil(n/limit) and send time (bench/costs.py),
the hottest key at 10,000 reports/s (bench/key_heat.py), and duplicate events under PutEvents
partial failures (bench/publish_duplicates.py), and the status API's first page of a
10,000-recipient message on DynamoDB Local (bench/status_first_page.py).

Run with `make bench`. Figures vary by machine; compare runs on the same one.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]
# Before sms_gateway.observability exists: the benches below run the handlers in process.
for name, value in {
    "POWERTOOLS_SERVICE_NAME": "sms-gateway",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}.items():
    os.environ.setdefault(name, value)

from sms_gateway.accounts import Account  # noqa: E402
from sms_gateway.clock import utcnow  # noqa: E402
from sms_gateway.http import VendorHttp  # noqa: E402
from sms_gateway.models import OutboundItem, PushRequest, SendRequest  # noqa: E402
from sms_gateway.sending.plan import Work, plan_calls  # noqa: E402
from sms_gateway.vendors.action_v1 import ActionV1Adapter  # noqa: E402


def best_of(runs: int, fn) -> float:  # type: ignore[no-untyped-def]
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return min(timings)


def grouping() -> None:
    account = Account(
        name="cn-main",
        vendor="action_v1",
        base_url="http://127.0.0.1:9",
        credentials={"account": "a", "password": "p"},
    )
    adapter = ActionV1Adapter(account, VendorHttp())
    works = []
    for r in range(100):  # a batch of 100 requests x 100 numbers, 4 distinct texts
        request = SendRequest(
            id=f"m{r}", to=[f"139{r:04d}{n:04d}" for n in range(100)], content=f"text {r % 4}"
        )
        items = [OutboundItem(f"m{r}", f"+86{n}", None) for n in request.to]
        works.append(
            Work(
                sqs_id=f"s{r}",
                message_id=f"m{r}",
                request=request,
                account=account,
                adapter=adapter,
                items=tuple(items),
            )
        )
    chunks: list[int] = []

    def run() -> None:
        chunks.clear()
        chunks.extend(len(call.submission.items) for call in plan_calls(works, utcnow()))

    seconds = best_of(5, run)
    print(
        f"grouping: 10,000 recipients in 100 requests -> {len(chunks)} vendor calls "
        f"(sizes {sorted(set(chunks))}) in {seconds * 1000:.1f} ms"
    )


def parsing() -> None:
    account = Account(
        name="cn-main",
        vendor="action_v1",
        base_url="http://127.0.0.1:9",
        credentials={"account": "a", "password": "p"},
    )
    adapter = ActionV1Adapter(account, VendorHttp())
    records = [
        {
            "flag": 1,
            "mid": f"4C36{n:012X}",
            "spid": "922011",
            "accessCode": "10690",
            "mobile": f"1898343{n % 10000:04d}",
            "stat": "DELIVRD",
            "time": "2017-04-12 01:38:21",
        }
        for n in range(1000)
    ]
    push = PushRequest("report", {}, {}, json.dumps(records).encode(), "application/json")
    seconds = best_of(5, lambda: adapter.parse_push(push))
    print(
        f"action_v1 push parsing: 1,000 reports in {seconds * 1000:.1f} ms ({1000 / seconds:,.0f} reports/s)"
    )


if __name__ == "__main__":
    grouping()
    parsing()
    from bench import cold_import, costs, key_heat, publish_duplicates, status_first_page

    cold_import.main()

    costs.main()

    key_heat.main()

    publish_duplicates.main()

    status_first_page.main()
