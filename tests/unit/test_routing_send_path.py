"""Routes through the whole send path (SendService with in-memory fakes): SQS records in, the
vendor calls each account's adapter received out."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from sms_gateway.accounts import Account, AccountsDocument
from sms_gateway.errors import UnsupportedRecipient
from sms_gateway.models import Status
from sms_gateway.sending import Outcome, SendService
from sms_gateway.sending.ports import SendAdapter
from sms_gateway.sending.route import Router
from tests.support.send_fakes import FakeAdapter, FakeRegistry, FakeStore
from tests.unit.test_routing_config import account

pytestmark = pytest.mark.unit

CN = "+8613800138000"


def document(routes: list[dict[str, Any]], templates: list[dict[str, Any]] | None = None) -> AccountsDocument:
    accounts = [account("cn-a"), account("cn-b", "paasw_v1"), account("cn-c", "paasw_v2")]
    return AccountsDocument.model_validate(
        {"accounts": accounts, "routes": routes, "templates": templates or []}
    )


def routed(
    doc: AccountsDocument, store: FakeStore, **templates: bool
) -> tuple[SendService, dict[str, FakeAdapter]]:
    """A send service on ``doc``'s routes; one fake adapter per account (``templates``: which
    of them support templates)."""
    adapters = {
        a.name: FakeAdapter(
            a,
            vendor=a.vendor,
            max_recipients_per_call=100,
            supports_templates=templates.get(a.name.replace("-", "_"), False),
        )
        for a in doc.accounts
    }

    def adapter_for(chosen: Account) -> SendAdapter:
        return adapters[chosen.name]

    service = SendService(
        store, FakeRegistry(list(doc.accounts)), adapter_for, lambda b, d: None, router=Router(doc)
    )
    return service, adapters


def record(message_id: str, to: str = CN, **body: Any) -> dict[str, Any]:
    return {"messageId": f"sqs-{message_id}", "body": json.dumps({"id": message_id, "to": [to], **body})}


def test_weights_are_respected_within_tolerance_over_1000_messages_and_grouping_still_works() -> None:
    # Given a route sending three messages in four to cn-a and one to cn-b
    doc = document(
        [{"name": "split", "accounts": [{"account": "cn-a", "weight": 3}, {"account": "cn-b", "weight": 1}]}]
    )
    store = FakeStore()
    service, adapters = routed(doc, store)
    # When 1,000 messages with the same text go through, ten per SQS batch
    for batch in range(100):
        records = [record(f"m-{batch}-{n}", f"+861380013{n:04d}", content="通知") for n in range(10)]
        outcomes = service.process(records, lambda: 60_000)
        assert set(outcomes.values()) == {Outcome.DONE}
    # Then each account sent its weight's share within 5 points, each message once in total
    sent = Counter(a for a, adapter in adapters.items() for call in adapter.calls for _ in call.items)
    assert sum(sent.values()) == 1000 and sent["cn-c"] == 0
    assert abs(sent["cn-a"] / 1000 - 0.75) < 0.05
    # And the messages of a batch landing on one account shared one call
    assert all(len(adapter.calls) <= 100 for adapter in adapters.values())
    shared_calls = {(r.message_id.split("-")[1], r.account) for r in store.records}
    assert len(adapters["cn-a"].calls) + len(adapters["cn-b"].calls) == len(shared_calls)
    assert Counter(r.account for r in store.records) == sent


TEMPLATES = [
    {"id": "login", "accounts": {"cn-b": {"template_id": "SMS_100"}, "cn-a": {"content": "验证码{code}"}}}
]


def test_a_template_request_only_reaches_accounts_that_map_it_each_in_its_own_form() -> None:
    # Given a route over three accounts, a logical template mapped on cn-b (its own id) and cn-a (a text)
    doc = document(
        [{"name": "all", "accounts": [{"account": n} for n in ("cn-a", "cn-b", "cn-c")]}], TEMPLATES
    )
    service, adapters = routed(doc, FakeStore(), cn_b=True, cn_c=True)
    # When 200 template requests are sent
    records = [record(f"t-{n}", template={"id": "login", "params": {"code": "1234"}}) for n in range(200)]
    for start in range(0, 200, 10):
        service.process(records[start : start + 10], lambda: 60_000)
    # Then cn-c, without a mapping, got no call; cn-b got its own template id, cn-a the rendered text
    assert adapters["cn-c"].calls == []
    assert adapters["cn-a"].calls and adapters["cn-b"].calls
    assert {(c.template, c.content) for c in adapters["cn-a"].calls} == {(None, "验证码1234")}
    assert {(c.template.id if c.template else None, c.content) for c in adapters["cn-b"].calls} == {
        ("SMS_100", None)
    }
    assert sum(len(c.items) for a in adapters.values() for c in a.calls) == 200


def test_a_request_naming_an_account_is_not_routed() -> None:
    # Given a route that would send to cn-b
    doc = document([{"name": "b", "accounts": [{"account": "cn-b"}]}])
    store = FakeStore()
    service, adapters = routed(doc, store)
    # When a request names cn-a
    service.process([record("named", content="x", account="cn-a")], lambda: 60_000)
    # Then cn-a sent it, with no failover candidates
    assert [len(c.items) for c in adapters["cn-a"].calls] == [1] and adapters["cn-b"].calls == []
    assert [(r.account, r.status) for r in store.records] == [("cn-a", Status.SUBMITTED)]


@dataclass
class Domestic(FakeAdapter):
    """A domestic gateway: it cannot reach numbers outside China."""

    def vendor_number(self, e164: str) -> str:
        if not e164.startswith("+86"):
            raise UnsupportedRecipient("not a China mainland number")
        return e164.removeprefix("+86")


def test_a_request_whose_recipients_fit_different_routes_is_sent_in_parts_one_claim() -> None:
    # Given a route for China on a domestic account and one for +1 on an international account
    doc = AccountsDocument.model_validate(
        {
            "accounts": [account("cn-a"), account("intl", "intl_v1")],
            "routes": [
                {"name": "cn", "match": {"country": ["CN"]}, "accounts": [{"account": "cn-a"}]},
                {"name": "us", "match": {"prefix": ["+1"]}, "accounts": [{"account": "intl"}]},
            ],
        }
    )
    adapters = {
        "cn-a": Domestic(doc.accounts[0], vendor="action_v1"),
        "intl": FakeAdapter(doc.accounts[1], vendor="intl_v1"),
    }
    store = FakeStore()
    service = SendService(
        store,
        FakeRegistry(list(doc.accounts)),
        lambda chosen: adapters[chosen.name],
        lambda b, d: None,
        router=Router(doc),
    )
    # When one request names a Chinese and a US number
    body = {"id": "mixed", "to": [CN, "+12025550123"], "content": "hello"}
    outcomes = service.process([{"messageId": "sqs-mixed", "body": json.dumps(body)}], lambda: 60_000)
    # Then each number went to its route's account, none refused, under one claim of the message
    assert outcomes == {"sqs-mixed": Outcome.DONE}
    assert [[i.recipient for i in c.items] for c in adapters["cn-a"].calls] == [[CN]]
    assert [[i.recipient for i in c.items] for c in adapters["intl"].calls] == [["+12025550123"]]
    assert sorted((r.recipient or "", r.account or "", r.status) for r in store.records) == [
        ("+12025550123", "intl", Status.SUBMITTED),
        (CN, "cn-a", Status.SUBMITTED),
    ]
    assert store.attempts == {"mixed": 1} and store.finished == {"mixed"}
