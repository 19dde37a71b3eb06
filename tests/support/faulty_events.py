"""EventBridge partial failures, injected at the client: a refused entry is NOT put.

Wraps any PutEvents client (moto's, or the in-memory ``MemoryBus``) and answers some entries of a
call with an entry ErrorCode instead of forwarding them, as EventBridge does under throttling.
Used by the publisher's tests and by bench/publish_duplicates.py.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any


class MemoryBus:
    """A PutEvents stand-in that accepts everything and keeps what it was given."""

    def __init__(self) -> None:
        self.put: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.put.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"id-{len(self.put)}"} for _ in Entries]}

    def counts(self) -> Counter[str]:
        return Counter(e["Detail"] for e in self.put)


class FaultyEvents:
    """Refuses the entries ``refuse(detail, attempt)`` picks (attempt counts from 1 per detail)."""

    def __init__(
        self,
        inner: Any,
        refuse: Callable[[str, int], bool],
        code: str = "ThrottlingException",
    ) -> None:
        self.inner = inner
        self.refuse = refuse
        self.code = code
        self.attempts: Counter[str] = Counter()
        self.calls: list[int] = []  # entries per call

    @classmethod
    def at_random(cls, inner: Any, rate: float, seed: int = 7) -> FaultyEvents:
        rng = random.Random(seed)
        return cls(inner, lambda _detail, _attempt: rng.random() < rate)

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls.append(len(Entries))
        refused = []
        for entry in Entries:
            self.attempts[entry["Detail"]] += 1
            refused.append(self.refuse(entry["Detail"], self.attempts[entry["Detail"]]))
        accepted = [e for e, no in zip(Entries, refused, strict=True) if not no]
        inner = iter(self.inner.put_events(Entries=accepted)["Entries"] if accepted else [])
        results = [
            {"ErrorCode": self.code, "ErrorMessage": "injected"} if no else next(inner) for no in refused
        ]
        return {"FailedEntryCount": sum(refused), "Entries": results}
