"""The status API's three questions, read from the table in today's item format (store.py's
docstring): a message, a number's messages (the `by_recipient` index), an account.

Every answer masks phone numbers (as the logs do) and redacts free text that came from a vendor
(descriptions can quote numbers). A request's content is shown only when asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sms_gateway.errors import NotFound, UnsupportedRecipient
from sms_gateway.models import MESSAGE_ID_PATTERN
from sms_gateway.observability import redact
from sms_gateway.phone import mask, to_e164
from sms_gateway.status import cursor
from sms_gateway.status.counters import OutcomeCounters
from sms_gateway.status.cursor import InvalidQuery
from sms_gateway.store import keys
from sms_gateway.store.table import deserialize, serialize

if TYPE_CHECKING:
    from sms_gateway.accounts import AccountRegistry

DEFAULT_PAGE = 100
MAX_PAGE = 1000
# Counting an account's pending recipients reads the sparse `pending` index, COUNT only; beyond
# this many pages the answer says "at least".
PENDING_COUNT_PAGES = 10
_RECIPIENT_FIELDS = (
    "account",
    "vendor",
    "vendor_message_id",
    "status",
    "final",
    "vendor_status",
    "kind",
    "created_at",
    "status_at",
    "vendor_time",
    "tags",
)


def page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidQuery(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(raw)


def utc_bound(name: str, raw: str | None) -> str | None:
    """An ISO 8601 time with an offset (or Z) as the table writes times: UTC, milliseconds, Z."""
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQuery(f"{name} must be an ISO 8601 time with an offset") from None
    if moment.tzinfo is None:
        raise InvalidQuery(f"{name} must be an ISO 8601 time with an offset")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals as JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | frozenset):
        return [_plain(v) for v in value]
    return value


def recipient_view(item: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"message_id": item.get("message_id"), "recipient": mask(item.get("recipient"))}
    view.update({name: _plain(item.get(name)) for name in _RECIPIENT_FIELDS})
    view["description"] = redact(str(item.get("description") or ""))
    view["history"] = [
        {"status": h.get("status"), "vendor_status": h.get("vendor_status"), "at": h.get("at")}
        for h in item.get("history") or []
    ]
    # Routed recipients (issue 13): every account tried, the one that served it last, and why.
    view["attempts"] = [
        {
            "account": a.get("account"),
            "vendor": a.get("vendor"),
            "delivery": a.get("delivery"),
            "reason": redact(str(a.get("reason") or "")),
            "chosen": a.get("chosen"),
            "at": a.get("at"),
        }
        for a in item.get("attempts") or []
    ]
    return view


def _content(item: dict[str, Any], show: bool) -> dict[str, Any] | str | None:
    content = item.get("content")
    if content is None:
        return None
    if show:
        return str(content)
    return {"redacted": True, "characters": len(str(content))}


class StatusReader:
    def __init__(
        self, table: str, dynamodb: Any, registry: Callable[[], AccountRegistry] | None = None
    ) -> None:
        self.table = table
        self._db = dynamodb
        self._registry = registry
        self.counters = OutcomeCounters(table, dynamodb)

    # ------------------------------------------------------------------ GET /messages/{id}
    def message(
        self,
        message_id: str,
        *,
        after: str | None = None,
        limit: int = DEFAULT_PAGE,
        show_content: bool = False,
    ) -> dict[str, Any]:
        if not MESSAGE_ID_PATTERN.match(message_id):
            raise InvalidQuery("message id must be 1-128 characters of A-Za-z0-9._:-")
        pk = f"MSG#{message_id}"
        scope = f"msg:{message_id}"
        start = cursor.decode(scope, after, frozenset({"pk", "sk"}), {"pk": pk})
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :rcpt)",
            "ExpressionAttributeValues": serialize({":pk": pk, ":rcpt": "RCPT#"}),
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self._db.query(**kwargs)
        recipients = [recipient_view(deserialize(i)) for i in page.get("Items", [])]
        answer: dict[str, Any] = {"message_id": message_id}
        if start is None:
            request = self._get(pk, "REQUEST")
            if request is None and not recipients:
                raise NotFound("no such message")
            answer["request"] = self._request_view(request, show_content)
        answer["recipients"] = recipients
        answer["next_cursor"] = cursor.encode(scope, page.get("LastEvaluatedKey"))
        return answer

    @staticmethod
    def _request_view(item: dict[str, Any] | None, show_content: bool) -> dict[str, Any] | None:
        if item is None:
            return None  # a request too broken to claim is recorded under its recipients only
        view = {
            name: _plain(item.get(name))
            for name in ("account", "state", "attempts", "created_at", "updated_at")
        }
        view["inflight"] = len(item.get("inflight") or ())
        view["content"] = _content(item, show_content)
        return view

    # ------------------------------------------------------------------ GET /recipients/{n}/messages
    def number(
        self,
        raw_number: str,
        *,
        since: str | None = None,
        until: str | None = None,
        after: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> dict[str, Any]:
        try:
            e164 = to_e164(raw_number)
        except UnsupportedRecipient as exc:
            raise InvalidQuery(str(exc)) from None
        low, high = utc_bound("since", since), utc_bound("until", until)
        if low and high and low > high:
            raise InvalidQuery("since must not be after until")
        condition, values = "recipient = :r", {":r": e164}
        if low and high:
            condition += " AND created_at BETWEEN :low AND :high"
            values.update({":low": low, ":high": high})
        elif low:
            condition += " AND created_at >= :low"
            values[":low"] = low
        elif high:
            condition += " AND created_at <= :high"
            values[":high"] = high
        scope = f"rcpt:{e164}:{low}:{high}"
        start = cursor.decode(
            scope, after, frozenset({"pk", "sk", "recipient", "created_at"}), {"recipient": e164}
        )
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "by_recipient",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": False,  # newest first
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = self._db.query(**kwargs)
        return {
            "recipient": mask(e164),
            "messages": [recipient_view(deserialize(i)) for i in page.get("Items", [])],
            "next_cursor": cursor.encode(scope, page.get("LastEvaluatedKey")),
        }

    # ------------------------------------------------------------------ GET /accounts/{name}
    def account(self, name: str) -> dict[str, Any]:
        account = self._registry().find(name) if self._registry else None
        if account is None:
            raise NotFound("unknown account")
        balance = self._get(f"ACCOUNT#{name}", "BALANCE")
        token = self._get(f"ACCOUNT#{name}", "TOKEN")
        recent = self.counters.recent(name)
        pending, exact = self._pending(name)
        return {
            "account": name,
            "vendor": account.vendor,
            "balance": None
            if balance is None
            else {k: _plain(balance.get(k)) for k in ("amount", "currency", "low", "threshold", "polled_at")},
            "pending": pending,
            "pending_exact": exact,
            "token": self._token_view(token),
            "last_hour": {
                "since": recent.since,
                "submitted": recent.submitted,
                "delivered": recent.delivered,
                "failed": recent.failed,
            },
        }

    @staticmethod
    def _token_view(item: dict[str, Any] | None) -> dict[str, Any]:
        # The state only: the token itself is a secret.
        if item is None:
            return {"state": "none"}
        valid_until = int(item.get("valid_until", 0))
        expires = datetime.fromtimestamp(valid_until, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        state = "valid" if valid_until > datetime.now(UTC).timestamp() else "expired"
        return {"state": state, "valid_until": expires}

    def _pending(self, name: str) -> tuple[int, bool]:
        """Recipients waiting on a report, over every shard of the account: a page each, and
        PENDING_COUNT_PAGES more at most."""
        pks = keys.pending_pks(name)
        total, pages = 0, PENDING_COUNT_PAGES + len(pks)
        for pk in pks:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": "pending",
                "KeyConditionExpression": "pending_pk = :pk",
                "ExpressionAttributeValues": serialize({":pk": pk}),
                "Select": "COUNT",
            }
            while True:
                if pages == 0:
                    return total, False
                pages -= 1
                page = self._db.query(**kwargs)
                total += int(page.get("Count", 0))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return total, True

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        answer = self._db.get_item(
            TableName=self.table, Key=serialize({"pk": pk, "sk": sk}), ConsistentRead=True
        )
        item = answer.get("Item")
        return deserialize(item) if item else None
