"""DynamoDB calls and item writes, counted at a boto3 client through botocore's event hooks.

Counting at the client sees every call the code makes, whatever module makes it, and nothing a
test does through another client. Used by the cost contract tests and by bench/costs.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def _items_written(operation: str, params: dict[str, Any]) -> int:
    if operation == "BatchWriteItem":
        return sum(len(requests) for requests in params.get("RequestItems", {}).values())
    if operation == "TransactWriteItems":
        return len(params.get("TransactItems", []))
    return 1 if operation in WRITES else 0


@dataclass
class Calls:
    """Every DynamoDB call seen: (operation, items it writes, whether it is conditional)."""

    seen: list[tuple[str, int, bool]] = field(default_factory=list)

    @property
    def operations(self) -> list[str]:
        return [operation for operation, _, _ in self.seen]

    @property
    def calls(self) -> int:
        return len(self.seen)

    @property
    def reads(self) -> int:
        return sum(1 for operation, _, _ in self.seen if operation in READS)

    @property
    def writes(self) -> int:
        """Items written (a batch or a transaction writes several in one call)."""
        return sum(items for _, items, _ in self.seen)

    @property
    def conditional_writes(self) -> int:
        return sum(items for _, items, conditional in self.seen if conditional)

    def clear(self) -> None:
        self.seen.clear()


@contextmanager
def counted(dynamodb: Any) -> Iterator[Calls]:
    """Count the calls made through ``dynamodb`` (a boto3 client) inside the block."""
    calls = Calls()

    def seen(params: dict[str, Any], model: Any, **_: Any) -> None:  # once a call, retries aside
        conditional = "ConditionExpression" in params or any(
            "ConditionExpression" in next(iter(action.values())) for action in params.get("TransactItems", [])
        )
        calls.seen.append((model.name, _items_written(model.name, params), conditional))

    unique = f"count-dynamodb-{id(calls)}"
    dynamodb.meta.events.register("before-parameter-build.dynamodb", seen, unique_id=unique)
    try:
        yield calls
    finally:
        dynamodb.meta.events.unregister("before-parameter-build.dynamodb", unique_id=unique)
