"""choose(): the ordered candidate accounts of a send request, pure and stable per message."""

from collections import Counter
from typing import Any

import pytest

from sms_gateway.accounts import AccountsDocument
from sms_gateway.errors import InvalidSendRequest, UnknownAccount
from sms_gateway.models import SendRequest, Template
from sms_gateway.routing.choose import AccountHealth, choose, order, plan
from tests.unit.test_routing_config import account

pytestmark = pytest.mark.unit

CN, CN2, US = "+8613800138000", "+8613900139000", "+12025550123"


def doc(
    routes: list[dict[str, Any]], templates: list[dict[str, Any]] | None = None, **default: Any
) -> AccountsDocument:
    accounts = [
        account("cn-a", default=bool(default.get("default_a"))),
        account("cn-b", "paasw_v1"),
        account("cn-c", "paasw_v2"),
        account("intl", "intl_v1"),
    ]
    return AccountsDocument.model_validate(
        {"accounts": accounts, "routes": routes, "templates": templates or []}
    )


def request(**fields: Any) -> SendRequest:
    return SendRequest.model_validate({"to": [CN], "content": "hello", **fields})


def names(choice: Any) -> list[str]:
    return [c.account.name for c in choice.candidates]


SPLIT = [{"name": "split", "accounts": [{"account": "cn-a", "weight": 3}, {"account": "cn-b", "weight": 1}]}]


def test_weights_are_respected_within_tolerance_over_1000_messages() -> None:
    # Given a route weighted 3:1 between two accounts
    document = doc(SPLIT)
    # When 1,000 messages are routed
    firsts = Counter(names(choose(request(), document, {}, f"order-{n}", [CN]))[0] for n in range(1000))
    # Then each account is first for its share of messages, within 5 points
    assert abs(firsts["cn-a"] / 1000 - 0.75) < 0.05, firsts
    assert abs(firsts["cn-b"] / 1000 - 0.25) < 0.05, firsts


def test_three_weights_over_1000_messages_and_the_rest_of_the_order_is_the_failover() -> None:
    # Given three accounts weighted 5:3:2
    document = doc(
        [
            {
                "name": "three",
                "accounts": [
                    {"account": "cn-a", "weight": 5},
                    {"account": "cn-b", "weight": 3},
                    {"account": "cn-c", "weight": 2},
                ],
            }
        ]
    )
    # When 1,000 messages are routed
    choices = [choose(request(), document, {}, f"m-{n}", [CN]) for n in range(1000)]
    firsts = Counter(names(c)[0] for c in choices)
    # Then the shares hold within 5 points, and every choice lists all three accounts once
    for name, share in {"cn-a": 0.5, "cn-b": 0.3, "cn-c": 0.2}.items():
        assert abs(firsts[name] / 1000 - share) < 0.05, firsts
    assert all(sorted(names(c)) == ["cn-a", "cn-b", "cn-c"] for c in choices)
    assert choices[0].candidates[0].reason == "route three: weighted choice"
    assert choices[0].candidates[1].reason == "route three: failover 2 of 3"


def test_the_choice_is_stable_per_message_whatever_its_recipients() -> None:
    # Given one message id routed twice, with different recipients
    document = doc(SPLIT)
    first = choose(request(to=[CN]), document, {}, "order-42", [CN])
    again = choose(request(to=[CN, CN2]), document, {}, "order-42", [CN, CN2])
    # Then it gets the same order: all its recipients go to one account
    assert names(first) == names(again)


def test_a_zero_weight_account_is_a_failover_target_only() -> None:
    order_of = {tuple(order(f"m-{n}", "r", [("a", 1.0), ("backup", 0.0), ("b", 1.0)])) for n in range(200)}
    assert all(o[-1] == "backup" for o in order_of)
    assert {o[0] for o in order_of} == {"a", "b"}


def test_a_named_account_is_used_alone_without_routing() -> None:
    choice = choose(request(account="cn-b"), doc(SPLIT), {}, "m", [CN])
    assert names(choice) == ["cn-b"] and choice.route is None
    assert choice.candidates[0].reason == "named by the request"
    with pytest.raises(UnknownAccount):
        choose(request(account="ghost"), doc(SPLIT), {}, "m", [CN])


def test_a_named_route_is_used_even_when_its_match_does_not_fit() -> None:
    document = doc([{"name": "mkt", "match": {"kind": "marketing"}, "accounts": [{"account": "cn-c"}]}])
    assert names(choose(request(route="mkt"), document, {}, "m", [CN])) == ["cn-c"]
    with pytest.raises(InvalidSendRequest, match="route"):
        choose(request(route="nope"), document, {}, "m", [CN])


def test_the_first_matching_route_wins_then_the_default_account() -> None:
    # Given routes by kind and by tags, and a default account
    document = doc(
        [
            {"name": "otp", "match": {"kind": ["verification"]}, "accounts": [{"account": "cn-b"}]},
            {"name": "gold", "match": {"tags": {"tier": "gold"}}, "accounts": [{"account": "cn-c"}]},
            {"name": "gold-too", "match": {"tags": {"tier": "gold"}}, "accounts": [{"account": "intl"}]},
        ],
        default_a=True,
    )
    # Then each request gets the first route that matches it, else the default
    assert names(choose(request(kind="verification", tags={"tier": "gold"}), document, {}, "m", [CN])) == [
        "cn-b"
    ]
    assert names(choose(request(tags={"tier": "gold"}), document, {}, "m", [CN])) == ["cn-c"]
    fallback = choose(request(tags={"tier": "silver"}), document, {}, "m", [CN])
    assert names(fallback) == ["cn-a"] and fallback.candidates[0].reason.startswith("the default account")


def test_no_route_and_no_default_is_an_unknown_account() -> None:
    document = doc([{"name": "otp", "match": {"kind": "verification"}, "accounts": [{"account": "cn-b"}]}])
    with pytest.raises(UnknownAccount):
        choose(request(), document, {}, "m", [CN])


def test_destination_by_country_or_prefix_and_plan_splits_a_mixed_request() -> None:
    # Given Chinese numbers routed by prefix, the others by a catch-all to the international account
    document = doc(
        [
            {"name": "cn", "match": {"prefix": ["+86"]}, "accounts": [{"account": "cn-a"}]},
            {"name": "us", "match": {"country": ["US"]}, "accounts": [{"account": "intl"}]},
        ]
    )
    mixed = request(to=[CN, US, CN2])
    # When the request is planned
    groups = plan(mixed, document, {}, "m", [CN, US, CN2])
    # Then each recipient goes with the route it fits, and choose alone needs all to fit
    assert [(members, names(choice)) for members, choice in groups] == [
        ([CN, CN2], ["cn-a"]),
        ([US], ["intl"]),
    ]
    with pytest.raises(UnknownAccount):
        choose(mixed, document, {}, "m", [CN, US, CN2])


def test_an_open_circuit_is_skipped_and_all_open_leaves_nothing_to_try_now() -> None:
    document = doc(SPLIT)
    down = {"cn-a": AccountHealth(available=False, reason="circuit open")}
    # Given cn-a's circuit is open: every message goes to cn-b, and the skip says why
    choice = choose(request(), document, down, "m", [CN])
    assert names(choice) == ["cn-b"]
    assert [(s.account, s.reason) for s in choice.skipped] == [("cn-a", "circuit open")]
    # Given both are open: no candidate now (the request waits in the queue), no error
    both = {**down, "cn-b": AccountHealth(available=False)}
    assert choose(request(), document, both, "m", [CN]).candidates == ()


def test_a_low_balance_account_is_skipped_unless_every_account_is_low() -> None:
    document = doc(SPLIT)
    low_a = {"cn-a": AccountHealth(low_balance=True)}
    assert all(names(choose(request(), document, low_a, f"m{n}", [CN])) == ["cn-b"] for n in range(50))
    both = {**low_a, "cn-b": AccountHealth(low_balance=True)}
    assert sorted(names(choose(request(), document, both, "m", [CN]))) == ["cn-a", "cn-b"]


def test_a_low_delivery_rate_lowers_the_accounts_share() -> None:
    # Given equal weights, and cn-a's weight lowered to a quarter
    document = doc([{"name": "even", "accounts": [{"account": "cn-a"}, {"account": "cn-b"}]}])
    lowered = {"cn-a": AccountHealth(weight_factor=0.25)}
    firsts = Counter(names(choose(request(), document, lowered, f"m-{n}", [CN]))[0] for n in range(1000))
    # Then cn-a is first for about 1 in 5 messages (0.25 / 1.25)
    assert abs(firsts["cn-a"] / 1000 - 0.2) < 0.05, firsts


TEMPLATES = [
    {
        "id": "login",
        "accounts": {"cn-b": {"template_id": "SMS_100"}, "cn-a": {"content": "Your code is {code}"}},
    }
]
ALL = [{"name": "all", "accounts": [{"account": n} for n in ("cn-a", "cn-b", "cn-c")]}]


def test_a_template_request_only_reaches_accounts_that_map_the_template() -> None:
    # Given a logical template mapped on cn-b (its own id) and cn-a (a text), not on cn-c
    document = doc(ALL, TEMPLATES)
    templated = request(content=None, template={"id": "login", "params": {"code": "1234"}})
    # When many messages are routed
    choices = [choose(templated, document, {}, f"m-{n}", [CN]) for n in range(100)]
    # Then cn-c is never a candidate, cn-b gets its own template id, cn-a the rendered text
    assert all(sorted(names(c)) == ["cn-a", "cn-b"] for c in choices)
    by_name = {c.account.name: c for c in choices[0].candidates}
    assert by_name["cn-b"].template == Template(id="SMS_100", params={"code": "1234"})
    assert by_name["cn-a"].content == "Your code is 1234" and by_name["cn-a"].template is None
    assert ("cn-c", "the template has no mapping for this account") in [
        (s.account, s.reason) for s in choices[0].skipped
    ]


def test_a_template_text_missing_a_param_is_not_eligible_and_no_mapping_at_all_fails() -> None:
    document = doc(ALL, TEMPLATES)
    no_code = request(content=None, template={"id": "login", "params": {}})
    assert names(choose(no_code, document, {}, "m", [CN])) == ["cn-b"]
    only_c = doc([{"name": "c", "accounts": [{"account": "cn-c"}]}], TEMPLATES)
    with pytest.raises(InvalidSendRequest, match="template"):
        choose(no_code, only_c, {}, "m", [CN])


def test_a_template_id_that_is_not_logical_goes_as_it_is_to_vendors_with_templates() -> None:
    # Given no mapping for the id: it is the vendor's own, so vendors without templates are skipped
    document = doc(ALL)
    native = request(content=None, template={"id": "SMS_9", "params": {}})
    choice = choose(native, document, {}, "m", [CN])
    assert sorted(names(choice)) == ["cn-b", "cn-c"]
    assert all(c.template == Template(id="SMS_9") for c in choice.candidates)
    # And a named account takes it as before routes existed
    assert names(choose(native.model_copy(update={"account": "cn-a"}), document, {}, "m", [CN])) == ["cn-a"]
