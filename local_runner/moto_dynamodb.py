"""moto's DynamoDB, made safe for concurrent Lambda writers and cheap to roll back.

Why it exists: the functions write to the table from several processes and threads at once
(the send path writes recipients in parallel), and three things in moto 5 do not hold up:

1. moto's DynamoDB is not thread-safe: stream sequence numbers are ``len(records)``-based and a
   transaction rolls back by swapping in a copy of the whole table, so a write running next to
   a transaction can be lost. Every DynamoDB and DynamoDB Streams request is therefore served
   one at a time (a WSGI middleware around moto's app); other services stay concurrent.
2. That rollback copy is a ``deepcopy`` of the table, stream records included, taken for EVERY
   TransactWriteItems: O(table) per transaction (0.5 s at 3,000 items, measured), which makes
   a demo crawl. While a TransactWriteItems runs, moto's deepcopy of a Table is made a no-op,
   and this middleware keeps what a rollback needs instead: a copy of the items the request
   names and the stream's length. If moto answers with an error, those items are put back and
   the stream records the failed transaction appended are removed, so no reader ever sees a
   rolled-back write (the lock guarantees nobody read in between).
3. moto keeps every shard iterator it hands out, forever: the list is cleared when it grows
   long, just before a new one is handed out (readers take a fresh iterator per read).
"""

from __future__ import annotations

import copy
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

log = logging.getLogger("local_runner.moto_dynamodb")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_SERIALISED_TARGETS = ("DynamoDB_", "DynamoDBStreams_")
MAX_SHARD_ITERATORS = 512


class _TableCopyShim:
    """Stands in for the ``copy`` module inside moto.dynamodb.models."""

    def __init__(self) -> None:
        self.skip_table_copies = False

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table  # noqa: PLC0415

        if self.skip_table_copies and isinstance(value, Table):
            return value  # the middleware rolls back the items the transaction touched itself
        return copy.deepcopy(value, memo)


_shim = _TableCopyShim()
_installed = False


def install_cheap_rollback() -> bool:
    """Route moto's transaction snapshot through the shim; False if moto's layout changed."""
    global _installed  # noqa: PLW0603
    if _installed:
        return True
    from moto.dynamodb import models  # noqa: PLC0415

    if getattr(models, "copy", None) is not copy or not hasattr(
        models.DynamoDBBackend, "transact_write_items"
    ):
        log.warning("moto's DynamoDB changed: transactions keep moto's own (slow) rollback")
        return False
    models.copy = _shim  # type: ignore[assignment,attr-defined]
    _installed = True
    return True


def _dynamodb_backends() -> Iterator[Any]:
    from moto.backends import get_backend  # noqa: PLC0415

    for regions in list(get_backend("dynamodb").values()):
        yield from list(regions.values())


def _stream_backends() -> Iterator[Any]:
    from moto.backends import get_backend  # noqa: PLC0415

    for regions in list(get_backend("dynamodbstreams").values()):
        yield from list(regions.values())


def _table(name: str) -> Any:
    name = name.rsplit("/", 1)[-1]  # a table ARN names the table last
    for backend in _dynamodb_backends():
        if name in backend.tables:
            return backend.tables[name]
    return None


class _Snapshot:
    """The items a TransactWriteItems names, and each stream's length, before it runs."""

    def __init__(self, request: dict[str, Any]) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: PLC0415

        self.items: list[tuple[Any, Any, Any, Any]] = []  # table, hash, range, Item copy or None
        self.streams: dict[int, tuple[Any, int]] = {}
        for entry in request.get("TransactItems") or []:
            for op_name, op in entry.items():
                table = _table(str(op.get("TableName", "")))
                if table is None:
                    continue
                key = op.get("Item") if op_name == "Put" else op.get("Key")
                key = key or {}
                if table.hash_key_attr not in key:
                    continue
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = None
                if table.range_key_attr:
                    if table.range_key_attr not in key:
                        continue
                    range_value = DynamoType(key[table.range_key_attr])
                current = table.get_item(hash_value, range_value)
                self.items.append((table, hash_value, range_value, copy.deepcopy(current)))
                shard = table.stream_shard
                if shard is not None:
                    self.streams.setdefault(id(shard), (shard, len(shard.items)))

    def restore(self) -> None:
        for table, hash_value, range_value, item in self.items:
            if range_value is None:
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            elif item is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = item
        for shard, length in self.streams.values():
            del shard.items[length:]


class OneDynamoDBRequestAtATime:
    """WSGI middleware around moto's app: see the module docstring."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._cheap_rollback = install_cheap_rollback()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith(_SERIALISED_TARGETS):
            return self._app(environ, start_response)
        with self._lock:
            if target.endswith(".GetShardIterator"):
                for backend in _stream_backends():
                    if len(backend.shard_iterators) > MAX_SHARD_ITERATORS:
                        backend.shard_iterators.clear()
            if target.endswith(".TransactWriteItems") and self._cheap_rollback:
                return self._transaction(environ, start_response)
            # moto's answer is a finished werkzeug response: materialise it under the lock.
            return list(self._app(environ, start_response))

    def _transaction(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            snapshot = _Snapshot(json.loads(raw or b"{}"))
        except (ValueError, TypeError, KeyError, AttributeError):
            return list(self._app(environ, start_response))  # moto answers the malformed request
        status: list[str] = []

        def capture(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info)

        _shim.skip_table_copies = True
        try:
            body = list(self._app(environ, capture))
        except BaseException:
            snapshot.restore()
            raise
        finally:
            _shim.skip_table_copies = False
        if not status or not status[0].startswith("2"):
            snapshot.restore()
        return body
