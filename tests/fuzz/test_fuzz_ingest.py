"""Fuzzing every callback route of the five vendors and the send handler with generated bodies:
mutations of the real pushes in events/ (types, deletions, nesting, duplication), random JSON,
raw bytes, other encodings, form bodies, deep nesting and sizes around the bounds, some with an
injected storage fault. Deterministic (derandomized, no example database) and bounded.

Asserted for every push: no 5xx unless a storage fault was injected (and then only 503), no
stack trace in any answer, and the push either applied (in full or in part), rejected with a
reason, or kept for replay; after the run no recorded status went back, and the replays leave
no kept push `received`."""

from __future__ import annotations

import codecs
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.aws import TABLE, AwsEnv, FakeContext, load_event, load_handler
from tests.support.handlers import poll
from tests.support.pushes import VENDORS, Pusher, every_account, sample_body, submitted

pytestmark = [pytest.mark.fuzz, pytest.mark.integration]

ROUTES = [(vendor, kind) for vendor, (_, kinds) in VENDORS.items() for kind in kinds]
PUSH_EXAMPLES = int(os.environ.get("FUZZ_PUSH_EXAMPLES", "1000"))
SEND_EXAMPLES = int(os.environ.get("FUZZ_SEND_EXAMPLES", "300"))
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)
STORAGE_FAULTS = ("inbox_put", "apply_report", "record_inbound", "inbox_mark")

# ------------------------------------------------------------------------------- strategies

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "13800138000",
            "+8613800138000",
            "DELIVRD",
            "10000",
            "2026-11-23 12:00:03",
            "A" * 3000,
            "字" * 500,
        ]
    ),
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _replace(value: Any, path: tuple[Any, ...], new: Callable[[Any], Any]) -> Any:
    if not path:
        return new(value)
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


def _delete(value: Any, path: tuple[Any, ...]) -> Any:
    if len(path) == 1:
        copy = dict(value) if isinstance(value, dict) else list(value)
        del copy[path[0]]
        return copy
    return _replace(value, path[:1], lambda child: _delete(child, path[1:]))


def _always(other: Any) -> Callable[[Any], Any]:
    return lambda _: other


def _nested(depth: int) -> Callable[[Any], Any]:
    return lambda value: _nest(value, depth)


def _repeated(times: int) -> Callable[[Any], Any]:
    return lambda value: [value] * times


def _nest(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def mutated(draw: st.DrawFn, vendor: str, kind: str) -> Any:
    """A real push of this route with a few of its values changed, deleted, nested or repeated."""
    value = json.loads(sample_body(vendor, kind))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(value))))
        how = draw(st.sampled_from(["replace", "replace", "delete", "nest", "repeat"]))
        if how == "replace":
            other = draw(JSON)
            value = _replace(value, path, _always(other))
        elif how == "delete" and path:
            value = _delete(value, path)
        elif how == "nest":
            depth = draw(st.sampled_from([1, 5, 30, 31, 40]))
            value = _replace(value, path, _nested(depth))
        elif how == "repeat":
            times = draw(st.integers(2, 50))
            value = _replace(value, path, _repeated(times))
    return value


def _encode(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", errors="surrogatepass")


@st.composite
def bodies(draw: st.DrawFn, vendor: str, kind: str) -> tuple[bytes, str | None]:
    """A body and, sometimes, another content type."""
    sample = sample_body(vendor, kind)
    shape = draw(
        st.sampled_from(
            ["mutated", "mutated", "mutated", "json", "bytes", "deep", "sized", "encoded", "form", "empty"]
        )
    )
    content_type = draw(
        st.sampled_from([None, None, "application/x-www-form-urlencoded", "text/plain", "application/json"])
    )
    if shape == "mutated":
        body = _encode(draw(mutated(vendor, kind)), draw(st.booleans()))
    elif shape == "json":
        body = _encode(draw(JSON), draw(st.booleans()))
    elif shape == "bytes":
        body = draw(st.binary(max_size=300))
    elif shape == "deep":
        depth = draw(st.sampled_from([32, 33, 200, 5_000, 100_000]))
        opener = draw(st.sampled_from(["[", '{"a":']))
        closer = "]" if opener == "[" else "}"
        body = (opener * depth + "1" + closer * depth).encode()
    elif shape == "sized":
        size = draw(st.sampled_from([10_000, 400_000, 999_000, 1_000_001, 1_500_000]))
        record = json.loads(sample)
        pad = draw(st.sampled_from(["x" * size, "字" * (size // 3)]))  # either way about `size` bytes
        padded = {"pad": pad, "record": record}
        body = _encode(padded, False)
    elif shape == "encoded":
        codec = draw(st.sampled_from(["gbk", "utf-16", "utf-8-sig", "latin-1"]))
        body = sample.encode(codec, errors="replace")
        if codec == "utf-8-sig":
            body = codecs.BOM_UTF8 + sample.encode()
    elif shape == "form":
        flat = json.loads(sample)
        record = (
            flat[0] if isinstance(flat, list) else flat.get("data", [flat])[0] if "data" in flat else flat
        )
        fields = {str(k): draw(st.one_of(st.just(str(v)), st.text(max_size=10))) for k, v in record.items()}
        body = urlencode(fields).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        body = draw(st.sampled_from([b"", b" ", b"\n", b"null", b"{}", b"[]", b'""']))
    return body, content_type


# ---------------------------------------------------------------------------------- harness


class Faults:
    """A storage fault that may heal (throttling), injected into one Store method at a time."""

    def __init__(self) -> None:
        from sms_gateway.store.facade import Store

        self.store = Store
        self.originals = {name: getattr(Store, name) for name in STORAGE_FAULTS}
        self.kept: list[tuple[str, str]] = []
        original_put = self.originals["inbox_put"]

        def spying_put(store: Any, *args: Any, **kwargs: Any) -> tuple[str, str]:
            key: tuple[str, str] = original_put(store, *args, **kwargs)
            self.kept.append(key)
            return key

        Store.inbox_put = spying_put  # type: ignore[method-assign, assignment]
        self.spying_put = spying_put

    def inject(self, name: str | None) -> None:
        for method in STORAGE_FAULTS:
            setattr(self.store, method, self.spying_put if method == "inbox_put" else self.originals[method])
        if name is not None:

            def throttled(*args: Any, **kwargs: Any) -> Any:
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "-"}}, name or "")

            setattr(self.store, name, throttled)

    def restore(self) -> None:
        for method, original in self.originals.items():
            setattr(self.store, method, original)


@pytest.fixture
def faults(aws: AwsEnv) -> Iterator[Faults]:
    injected = Faults()
    yield injected
    injected.restore()


def seed_records(aws: AwsEnv) -> dict[tuple[str, str], str]:
    """Recipients for every report of the real pushes, then those pushes applied: final records
    whose status the fuzzing must never move."""
    from sms_gateway.http import VendorHttp
    from sms_gateway.models import PushRequest
    from sms_gateway.store.facade import Store
    from sms_gateway.vendors.base import adapter_class

    registry = aws.runtime.registry()
    push = Pusher()
    for vendor, (name, kinds) in VENDORS.items():
        account = registry.find(name)
        assert account is not None
        adapter = adapter_class(vendor)(account, VendorHttp())
        body = sample_body(vendor, "report").encode()
        batch = adapter.parse_push(PushRequest("report", {}, {}, body, "application/json"))
        for index, report in enumerate(batch.reports):
            assert report.recipient is not None
            submitted(vendor, f"seed-{vendor}-{index}", report.recipient, report.vendor_message_id)
        for kind in kinds:
            assert push(vendor, kind, sample_body(vendor, kind))["statusCode"] == 200
    records = [i for i in aws.items("MSG#") if i["sk"].startswith("RCPT#")]
    assert records and all(r["final"] for r in records)
    store = Store(TABLE)
    assert store is not None
    return {(r["message_id"], r["recipient"]): r["status"] for r in records}


def no_trace(answer: dict[str, Any]) -> bool:
    text = str(answer.get("body", ""))
    return "Traceback" not in text and 'File "' not in text and "sms_gateway" not in text


# -------------------------------------------------------------------------------------- tests


def assert_kept_as_answered(item: dict[str, Any] | None, answer: dict[str, Any], fault: str | None) -> None:
    """The kept copy of a push says what its answer said: applied, rejected with a reason, or
    received and waiting for replay."""
    assert item is not None
    state, status = item["state"], answer["statusCode"]
    if status == 200:
        assert state in {"applied", "partial"} or (fault and state == "received"), (state, fault)
    elif status in {400, 413}:
        assert state == "rejected" and item.get("reason"), item
        assert json.loads(answer["body"])["error"]
    else:
        assert state == "received" and "pending_pk" in item


def test_every_callback_route_survives_generated_bodies(
    aws: AwsEnv, faults: Faults, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sms_gateway.store.facade import Store
    from sms_gateway.vendors.base import adapter_class

    every_account(aws)
    before = seed_records(aws)
    push = Pusher()
    store = Store(TABLE)
    answers: dict[int, int] = {}

    @settings(FUZZ, max_examples=PUSH_EXAMPLES)
    @given(
        st.sampled_from(ROUTES).flatmap(lambda route: st.tuples(st.just(route), bodies(*route))),
        st.sampled_from([None] * 12 + list(STORAGE_FAULTS)),
    )
    def one_push(case: tuple[tuple[str, str], tuple[bytes, str | None]], fault: str | None) -> None:
        (vendor, kind), (body, content_type) = case
        # Given a route, a generated body, and maybe a storage fault
        faults.kept.clear()
        faults.inject(fault)
        try:
            # When it is pushed
            try:
                payload: bytes | str = body.decode("utf-8")
            except UnicodeDecodeError:
                payload = body  # API Gateway hands a body that is not UTF-8 over in base64
            answer = push(vendor, kind, payload, content_type=content_type)
        finally:
            faults.inject(None)
        status = answer["statusCode"]
        answers[status] = answers.get(status, 0) + 1
        # Then no 5xx but a 503 for an injected fault, and no stack trace
        allowed = {200, 400, 413} | ({503} if fault else set())
        assert status in allowed, (vendor, kind, status, answer["body"][:200], fault)
        assert no_trace(answer), answer["body"][:300]
        # And the push is applied, rejected with a reason, or kept for replay; a vendor that
        # pushes again until acked gets no copy of a push that was applied (issue 11.4)
        once_only = adapter_class(vendor).ack_once_stored
        if fault == "inbox_put":
            assert not faults.kept and (status == 503 or (status == 200 and not once_only)), status
            return
        if not faults.kept:
            assert status == 200 and not once_only, (vendor, status)
            return
        (key,) = faults.kept
        assert_kept_as_answered(store.table.get(key), answer, fault)

    one_push()
    # (the generator reaches every kind of answer, not only refusals)
    total = sum(answers.values())
    assert answers.get(200, 0) > total / 10 and answers.get(400, 0) > total / 10, answers
    assert answers.get(413, 0) > 0 or total < 300, answers

    # Then no recorded status went back, nor moved again after it was final
    for record in (i for i in aws.items("MSG#") if i["sk"].startswith("RCPT#")):
        key = (record["message_id"], record["recipient"])
        assert record["status"] == before[key], (key, record["status"])
        assert len(record["history"]) == 2
    # And the replays, a few minutes apart, leave no kept push `received`
    for run in range(1, 8):
        at = time.time() + 120 * run
        monkeypatch.setattr(time, "time", lambda at=at: at)
        poll("reports")
    states = {str(i["state"]) for i in aws.items("INBOX#")}
    assert "received" not in states and states <= {"applied", "partial", "rejected", "poisoned"}, states


def test_the_send_handler_survives_generated_requests(aws: AwsEnv) -> None:
    every_account(aws)
    handler = load_handler("send")
    template = load_event("send/sqs-batch.json")
    samples = [json.loads(r["body"]) for r in template["Records"]]

    @st.composite
    def requests(draw: st.DrawFn) -> str:
        shape = draw(st.sampled_from(["mutated", "mutated", "json", "text", "deep", "sized"]))
        if shape == "mutated":
            value = draw(st.sampled_from(samples))
            for _ in range(draw(st.integers(1, 3))):
                path = draw(st.sampled_from(list(_paths(value))))
                other = draw(JSON)
                value = _replace(value, path, _always(other))
            return json.dumps(value, ensure_ascii=draw(st.booleans()))
        if shape == "json":
            return json.dumps(draw(JSON))
        if shape == "text":
            return draw(st.text(max_size=200))
        if shape == "deep":
            depth = draw(st.sampled_from([33, 1_000, 100_000]))
            return '{"id": "deep", "to": ' + "[" * depth + "]" * depth + "}"
        size = draw(st.sampled_from([200_000, 262_145, 400_000]))
        return json.dumps({"id": "sized", "to": "13800138000", "content": "x" * size})

    @settings(FUZZ, max_examples=SEND_EXAMPLES)
    @given(st.lists(requests(), min_size=1, max_size=4))
    def one_batch(bodies: list[str]) -> None:
        # Given a batch of generated send requests
        event: dict[str, list[Any]] = {"Records": []}
        for index, body in enumerate(bodies):
            record = dict(template["Records"][0])
            record["messageId"] = f"fuzz-{time.monotonic_ns()}-{index}"
            record["body"] = body
            event["Records"].append(record)
        # When the send function takes it
        answer = handler(event, FakeContext())
        # Then it answers with batch item failures only (no exception), each one of the batch
        ids = {r["messageId"] for r in event["Records"]}
        assert {f["itemIdentifier"] for f in answer["batchItemFailures"]} <= ids

    one_batch()
