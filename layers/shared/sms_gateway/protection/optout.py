"""Opt-out from replies: a reply that is an opt-out keyword puts its sender on the account's
suppression list (or the sign's, see OptOut.per_sign); an opt-in keyword takes them off.

| item        | pk                                          | sk     | attributes                  |
|-------------|---------------------------------------------|--------|-----------------------------|
| suppression | SUPPRESS#{account} or SUPPRESS#{account}#{sign} | {e164} | opted_out, keyword, source |

Suppression items are published by the stream (publishing.py): a change of ``opted_out`` to true
is `SMS Opt Out`, to false `SMS Opt In`. They do not expire: an opt-out holds until lifted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sms_gateway.clock import iso, utcnow
from sms_gateway.models import InboundIn
from sms_gateway.protection.settings import OptOut, normalise_keyword
from sms_gateway.store import keys
from sms_gateway.store.table import Key, Table, conditional_failed, serialize

if TYPE_CHECKING:
    from sms_gateway.accounts import Account

PREFIX = "SUPPRESS#"
# Single letters (T, N) are keywords only as a whole reply: they say nothing inside a text.
MIN_HINT_KEYWORD = 2


def scope(account: str, sign: str | None = None) -> str:
    return f"{PREFIX}{account}#{sign}" if sign else f"{PREFIX}{account}"


@dataclass(frozen=True, kw_only=True)
class Suppression:
    account: str
    sign: str | None
    number: str
    keyword: str | None
    source: str
    changed_at: str


def keyword_action(settings: OptOut, text: str) -> bool | None:
    """True for an opt-out reply, False for an opt-in, None for any other text."""
    word = normalise_keyword(text)
    if word in settings.opt_out_keywords:
        return True
    if word in settings.opt_in_keywords:
        return False
    return None


def with_hint(content: str, settings: OptOut) -> str:
    """Marketing content with the account's opt-out hint appended, unless it carries one."""
    if not settings.hint:
        return content
    folded = normalise_keyword(content)
    carried = [normalise_keyword(settings.hint)] + [
        k for k in settings.opt_out_keywords if len(k) >= MIN_HINT_KEYWORD
    ]
    if any(k in folded for k in carried):
        return content
    return f"{content}{settings.hint}"


class SuppressionStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def change(
        self,
        account: str,
        number: str,
        *,
        opted_out: bool,
        sign: str | None = None,
        keyword: str | None = None,
        source: str,
    ) -> bool:
        """Opt the number out (or in); True when that changed anything (an event follows)."""
        item = {
            "pk": scope(account, sign),
            "sk": number,
            "type": keys.SUPPRESSION,
            "account": account,
            "sign": sign,
            "number": number,
            "opted_out": opted_out,
            "keyword": keyword,
            "source": source,
            "changed_at": iso(utcnow()),
        }
        # Opting in a number that was never out writes nothing: there is nothing to lift.
        condition = "attribute_not_exists(pk) OR opted_out = :no" if opted_out else "opted_out = :yes"
        try:
            self.table.db.put_item(
                TableName=self.table.name,
                Item=serialize(item),
                ConditionExpression=condition,
                ExpressionAttributeValues=serialize({":no": False} if opted_out else {":yes": True}),
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    def suppressed(self, account: str, numbers: Iterable[str], sign: str | None) -> set[str]:
        """The numbers opted out of the account (or of ``sign`` when given)."""
        wanted: list[Key] = []
        for number in numbers:
            wanted.append((scope(account), number))
            if sign:
                wanted.append((scope(account, sign), number))
        return {str(i["sk"]) for i in self.table.batch_get(wanted) if i.get("opted_out")}

    def listing(self, account: str, sign: str | None = None) -> list[Suppression]:
        """The numbers currently opted out of the account (or of one sign)."""
        pk = scope(account, sign)
        items = self.table.pages(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=serialize({":pk": pk}),
            ConsistentRead=True,
        )
        return [suppression_of(i) for i in items if i.get("opted_out")]


def suppression_of(item: dict[str, Any]) -> Suppression:
    return Suppression(
        account=str(item["account"]),
        sign=None if item.get("sign") is None else str(item["sign"]),
        number=str(item["number"]),
        keyword=None if item.get("keyword") is None else str(item["keyword"]),
        source=str(item.get("source", "")),
        changed_at=str(item.get("changed_at", "")),
    )


def on_inbound(store: SuppressionStore, account: str, settings: OptOut, inbound: InboundIn) -> bool | None:
    """Apply a reply's keyword; what it did (True opted out, False opted in, None nothing).

    A reply from a masked number cannot be put on a list: nothing could match it later.
    """
    action = keyword_action(settings, inbound.content)
    if action is None or inbound.sender is None:
        return None
    sign = settings.ext_no_signs.get(inbound.ext_no or "") if settings.per_sign else None
    changed = store.change(
        account,
        inbound.sender,
        opted_out=action,
        sign=sign,
        keyword=normalise_keyword(inbound.content),
        source="reply",
    )
    return action if changed else None


ReplyHandler = Callable[["Account", InboundIn], object]


def reply_handler(store: object) -> ReplyHandler | None:
    """What ingest calls for each new reply: its keyword applied to the account's list."""
    table = getattr(store, "table", None)
    if not isinstance(table, Table):
        return None  # a store without the table (a test's fake): replies are only stored
    suppressions = SuppressionStore(table)

    def handle(account: Account, inbound: InboundIn) -> object:
        return on_inbound(suppressions, account.name, account.protection.opt_out, inbound)

    return handle
