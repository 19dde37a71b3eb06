"""The recovery operations: dead letters back to the send queue, parked changes back to the bus,
kept pushes and pulled batches through the current parser. Each reports what it did per item,
naming ids and keys only (a body can carry numbers and texts)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cli.target import CommandRefused
from sms_gateway.accounts import Account, AccountRegistry
from sms_gateway.errors import PushRejected
from sms_gateway.ingest import Ingest, parse
from sms_gateway.models import PULLED_BATCH, PushRequest, batch_from_json
from sms_gateway.observability import redact
from sms_gateway.publishing import Publisher
from sms_gateway.runtime import Runtime
from sms_gateway.settings import Settings
from sms_gateway.store import keys
from sms_gateway.store.bodies import kept_body
from sms_gateway.store.facade import Store
from sms_gateway.store.table import deserialize, serialize

RECEIVE_VISIBILITY_SECONDS = 60


@dataclass
class Outcome:
    done: list[dict[str, Any]] = field(default_factory=list)
    left: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"done": self.done, "left": self.left}


def _drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message now visible on the queue, each received once (they stay invisible meanwhile)."""
    messages: list[dict[str, Any]] = []
    while True:
        answer = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=RECEIVE_VISIBILITY_SECONDS,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        )
        batch = answer.get("Messages", [])
        if not batch:
            return messages
        messages += batch


def _release(sqs: Any, queue_url: str, messages: list[dict[str, Any]]) -> None:
    """Make messages visible again at once (a dry run, or what could not be handled)."""
    for message in messages:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


def _request_id(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if value is not None else None


def redrive(sqs: Any, dead_letter_url: str, send_queue_url: str, *, dry_run: bool) -> Outcome:
    """Send each dead letter again to the send queue, then delete it from the dead-letter queue.

    A request without an ``id`` was identified by its SQS message id (its idempotency key): it is
    sent back with that id written into it, so recipients it already reached are not sent twice.
    """
    outcome = Outcome()
    messages = _drain(sqs, dead_letter_url)
    for message in messages:
        body = message["Body"]
        request_id = _request_id(body)
        row = {"sqs_message_id": message["MessageId"], "id": request_id or message["MessageId"]}
        if dry_run:
            outcome.left.append({**row, "action": "would redrive"})
            continue
        if request_id is None:
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict):
                body = json.dumps({**data, "id": message["MessageId"]}, ensure_ascii=False)
        sqs.send_message(QueueUrl=send_queue_url, MessageBody=body)
        sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
        outcome.done.append({**row, "action": "redriven"})
    if dry_run:
        _release(sqs, dead_letter_url, messages)
    return outcome


def republish(sqs: Any, failure_queue_url: str, publisher: Publisher, *, dry_run: bool) -> Outcome:
    """Put the events of each parked change again; delete a message once all its events are in."""
    outcome = Outcome()
    messages = _drain(sqs, failure_queue_url)
    unhandled: list[dict[str, Any]] = []
    for message in messages:
        try:
            parked = json.loads(message["Body"])
        except ValueError:
            parked = None
        if not isinstance(parked, dict) or not parked.get("entries"):
            # Lambda's own failure record: stream metadata only, nothing to put again.
            outcome.left.append(
                {"sqs_message_id": message["MessageId"], "action": "no entries (stream metadata)"}
            )
            unhandled.append(message)
            continue
        row = {
            "sqs_message_id": message["MessageId"],
            "event_id": parked.get("event_id"),
            "events": len(parked["entries"]),
            "reason": parked.get("reason"),
        }
        if dry_run:
            outcome.left.append({**row, "action": "would republish"})
            unhandled.append(message)
        elif publisher.republish(parked):
            sqs.delete_message(QueueUrl=failure_queue_url, ReceiptHandle=message["ReceiptHandle"])
            outcome.done.append({**row, "action": "republished"})
        else:
            outcome.left.append({**row, "action": "refused again; kept"})
            unhandled.append(message)
    _release(sqs, failure_queue_url, unhandled)
    return outcome


def _kept_items(store: Store, db: Any, pk: str, since: str, until: str) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {
        "TableName": store.table.name,
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": serialize({":pk": pk, ":low": since, ":high": until + "\uffff"}),
    }
    items: list[dict[str, Any]] = []
    for page in db.get_paginator("query").paginate(**kwargs):
        items += [deserialize(i) for i in page.get("Items", [])]
    return items


def replay(
    store: Store,
    db: Any,
    registry: AccountRegistry,
    account_name: str,
    since: str,
    *,
    until: str,
    dry_run: bool,
) -> Outcome:
    """Apply again, through today's parser, every push (``INBOX#``) kept for the account in the
    period, pulled batches included. Applying twice changes nothing: records only move forward.
    Raw pulled answers (``PULLED#``) are listed, not parsed: the adapters read them inside their
    pull, and what they read was kept as a pulled batch."""
    account = registry.find(account_name)
    if account is None:
        raise CommandRefused(f"unknown account {account_name}")
    outcome = Outcome()
    # The adapter's token cache reads the same table through the command's own client.
    adapter = Runtime(Settings(table_name=store.table.name), clients=lambda _service: db).adapter_for(account)
    ingest = Ingest(store)
    kept = [i for pk in keys.inbox_pks(account_name) for i in _kept_items(store, db, pk, since, until)]
    for item in sorted(kept, key=lambda i: str(i["sk"])):
        row = {"key": item["sk"], "kind": item.get("kind"), "was": item.get("state")}
        if dry_run:
            outcome.left.append({**row, "action": "would replay"})
            continue
        _replay_item(ingest, adapter, account, item, row, outcome=outcome)
    for item in _kept_items(store, db, f"PULLED#{account_name}", since, until):
        outcome.left.append(
            {
                "key": item["sk"],
                "kind": item.get("kind"),
                "was": item.get("state"),
                "action": "raw pull: listed",
            }
        )
    return outcome


def _replay_item(
    ingest: Ingest,
    adapter: Any,
    account: Account,
    item: dict[str, Any],
    row: dict[str, Any],
    *,
    outcome: Outcome,
) -> None:
    body = kept_body(item)
    if body is None:
        outcome.left.append({**row, "action": "only a sample was kept"})
        return
    key = (str(item["pk"]), str(item["sk"]))
    content_type = str(item.get("content_type", ""))
    try:
        if content_type == PULLED_BATCH:
            batch = batch_from_json(body.decode("utf-8"))
        else:
            batch = parse(adapter, PushRequest(item["kind"], {}, {}, body, content_type))
        results = ingest.settle(account, key, batch)
    except PushRejected as exc:
        ingest.store.inbox_mark(key, "rejected", str(exc))
        outcome.left.append({**row, "action": "rejected", "reason": redact(str(exc))})
        return
    outcome.done.append({**row, "action": "replayed", **{k: int(v) for k, v in results.items()}})
