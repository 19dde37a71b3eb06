"""The one table, wrapped once: (de)serialisation, paging, conditional and batch writes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

BATCH_WRITE_ITEMS = 25  # DynamoDB's limits per BatchWriteItem and BatchGetItem call
BATCH_GET_KEYS = 100
BATCH_WRITE_ATTEMPTS = 8
TRANSACT_ITEMS = 100  # DynamoDB's limit of actions per TransactWriteItems call

Key = tuple[str, str]


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_plain(v)) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in {
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    }


def _key(key: Key) -> dict[str, Any]:
    return serialize({"pk": key[0], "sk": key[1]})


class Table:
    """Every call the store makes to DynamoDB goes through here (the seam tests wrap)."""

    def __init__(self, name: str, dynamodb: Any, retention_seconds: int) -> None:
        self.name = name
        self.db = dynamodb
        self.retention_seconds = retention_seconds

    def expires(self, seconds: int | None = None) -> int:
        return int(time.time()) + (seconds or self.retention_seconds)

    def put(self, item: dict[str, Any], condition: str | None = None) -> bool:
        """Put an item; False when ``condition`` did not hold."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            self.db.put_item(**kwargs)
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def get(self, key: Key) -> dict[str, Any] | None:
        answer = self.db.get_item(TableName=self.name, Key=_key(key), ConsistentRead=True)
        item = answer.get("Item")
        return deserialize(item) if item else None

    def query(self, pk: str, prefix: str) -> Iterator[dict[str, Any]]:
        """Every item of ``pk`` whose sk starts with ``prefix``, consistently read."""
        return self.pages(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues=serialize({":pk": pk, ":prefix": prefix}),
            ConsistentRead=True,
        )

    def page(self, **kwargs: Any) -> list[dict[str, Any]]:
        """The items of one query call (a bounded read: ``Limit`` says how many)."""
        answer = self.db.query(TableName=self.name, **kwargs)
        return [deserialize(i) for i in answer.get("Items", [])]

    def pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """The items of a query, page after page (the only paging loop of the store)."""
        kwargs["TableName"] = self.name
        while True:
            page = self.db.query(**kwargs)
            for item in page.get("Items", []):
                yield deserialize(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def update(
        self,
        key: Key,
        expression: str,
        values: dict[str, Any] | None = None,
        *,
        names: dict[str, str] | None = None,
        condition: str | None = None,
        raw_values: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """An UpdateItem; ``raw_values`` are already in DynamoDB JSON (string sets)."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": _key(key), "UpdateExpression": expression}
        if values or raw_values:
            kwargs["ExpressionAttributeValues"] = {**serialize(values or {}), **(raw_values or {})}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if condition:
            kwargs["ConditionExpression"] = condition
        answer: dict[str, Any] = self.db.update_item(**kwargs, **extra)
        return deserialize(answer.get("Attributes") or {})

    def delete(self, key: Key, condition: str | None = None, **extra: Any) -> bool:
        """Delete an item; False when ``condition`` did not hold."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": _key(key)}
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            self.db.delete_item(**kwargs, **extra)
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def put_action(self, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        """A Put for ``transact``."""
        put: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def update_action(
        self, key: Key, expression: str, values: dict[str, Any], names: dict[str, str]
    ) -> dict[str, Any]:
        """An Update for ``transact``."""
        return {
            "Update": {
                "TableName": self.name,
                "Key": _key(key),
                "UpdateExpression": expression,
                "ExpressionAttributeValues": serialize(values),
                "ExpressionAttributeNames": names,
            }
        }

    def transact(self, actions: list[dict[str, Any]]) -> bool:
        """All of ``actions`` or none, in one call; False when a condition did not hold."""
        try:
            self.db.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def batch_put(self, items: list[dict[str, Any]]) -> None:
        """Unconditional puts, 25 a call, retrying what DynamoDB hands back unprocessed."""
        for start in range(0, len(items), BATCH_WRITE_ITEMS):
            request: dict[str, Any] = {
                self.name: [
                    {"PutRequest": {"Item": serialize(i)}} for i in items[start : start + BATCH_WRITE_ITEMS]
                ]
            }
            for attempt in range(BATCH_WRITE_ATTEMPTS):
                unprocessed = self.db.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                if not unprocessed:
                    break
                request = unprocessed
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise RuntimeError("DynamoDB kept items unprocessed after 8 attempts")

    def batch_get(self, keys: list[Key]) -> Iterator[dict[str, Any]]:
        """The items that exist among ``keys``, consistently read, 100 keys a call, in no order."""
        for start in range(0, len(keys), BATCH_GET_KEYS):
            request: dict[str, Any] = {
                self.name: {
                    "Keys": [_key(k) for k in keys[start : start + BATCH_GET_KEYS]],
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = self.db.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(self.name, []):
                    yield deserialize(raw)
                request = answer.get("UnprocessedKeys") or {}
