"""Routes and logical templates in the accounts document: validated with the document, refused
with field paths only (the document is a secret: neither credentials nor names are echoed)."""

from typing import Any

import pytest

from sms_gateway.accounts import AccountRegistry, AccountsDocument
from sms_gateway.errors import ConfigurationError
from sms_gateway.models import MessageKind, SendRequest

pytestmark = pytest.mark.unit

SECRET = "p4ss-secret-value"


def account(name: str, vendor: str = "action_v1", **extra: Any) -> dict[str, Any]:
    credentials = (
        {"app_id": "id", "secret": SECRET}
        if vendor.startswith("paasw")
        else {"app_key": "k", "app_secret": SECRET}
        if vendor == "intl_v1"
        else {"account": "a", "password": SECRET}
    )
    return {"name": name, "vendor": vendor, "base_url": "http://h:1", "credentials": credentials, **extra}


def document(**extra: Any) -> dict[str, Any]:
    return {"accounts": [account("cn-a"), account("cn-b", "paasw_v1"), account("intl", "intl_v1")], **extra}


def test_a_document_without_routes_is_as_before() -> None:
    # Given the accounts document of today, When it is parsed, Then it has no routes or templates
    parsed = AccountsDocument.model_validate(document())
    assert parsed.routes == [] and parsed.templates == []


def test_routes_and_templates_are_parsed_with_their_defaults() -> None:
    # Given a route with a single kind, a single country and a weighted account
    raw = document(
        routes=[
            {
                "name": "otp",
                "match": {"kind": "verification", "country": "cn", "tags": {"tier": "gold"}},
                "accounts": [{"account": "cn-a", "weight": 3}, {"account": "cn-b"}],
            }
        ],
        templates=[
            {"id": "login", "accounts": {"cn-b": {"template_id": "SMS_1"}, "cn-a": {"content": "{code}"}}}
        ],
    )
    # When the document is parsed
    parsed = AccountsDocument.model_validate(raw)
    # Then single values read as lists, countries are upper-case, and weights default to 1
    route = parsed.routes[0]
    assert route.match.kind == [MessageKind.VERIFICATION]
    assert route.match.country == ["CN"]
    assert [(a.account, a.weight) for a in route.accounts] == [("cn-a", 3.0), ("cn-b", 1.0)]
    assert parsed.templates[0].accounts["cn-b"].template_id == "SMS_1"


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ({"routes": [{"name": "r", "accounts": [{"account": "ghost"}]}]}, "routes.0.accounts.0.account"),
        (
            {"routes": [{"name": "r", "accounts": [{"account": "cn-a"}, {"account": "nobody"}]}]},
            "routes.0.accounts.1.account",
        ),
        ({"templates": [{"id": "t", "accounts": {"ghost": {"content": "x"}}}]}, "templates.0.accounts.0"),
        (
            {"templates": [{"id": "t", "accounts": {"cn-a": {"template_id": "SMS_1"}}}]},
            "templates.0.accounts.0.template_id",
        ),
        ({"templates": [{"id": "t", "accounts": {"cn-b": {}}}]}, "templates.0.accounts.cn-b"),
        ({"routes": [{"name": "r", "accounts": [{"account": "cn-a", "weight": 0}]}]}, "routes.0"),
        ({"routes": [{"name": "r", "accounts": [{"account": "cn-a"}, {"account": "cn-a"}]}]}, "routes.0"),
        ({"routes": [{"name": "r", "accounts": []}]}, "routes.0.accounts"),
        (
            {"routes": [{"name": "r", "accounts": [{"account": "cn-a", "weight": -1}]}]},
            "routes.0.accounts.0.weight",
        ),
        ({"routes": [{"name": "a b", "accounts": [{"account": "cn-a"}]}]}, "routes.0.name"),
        (
            {"routes": [{"name": "r", "match": {"prefix": "86"}, "accounts": [{"account": "cn-a"}]}]},
            "routes.0.match.prefix",
        ),
        (
            {"routes": [{"name": "r", "match": {"country": "CHN"}, "accounts": [{"account": "cn-a"}]}]},
            "routes.0.match.country",
        ),
        (
            {"routes": [{"name": "r", "match": {"carrier": "x"}, "accounts": [{"account": "cn-a"}]}]},
            "routes.0.match.carrier",
        ),
        (
            {"routes": [{"name": "r", "accounts": [{"account": "cn-a"}]}] * 2},
            "routes: route names must be unique",
        ),
    ],
)
def test_an_invalid_routing_section_is_refused_with_its_field_path_only(
    extra: dict[str, Any], path: str
) -> None:
    # Given a document whose routing section is wrong in one place
    # When it is parsed
    with pytest.raises(ConfigurationError) as caught:
        AccountRegistry.parse(document(**extra))
    # Then the error names the field path, and no value of the document
    message = str(caught.value)
    assert path in message
    for value in (SECRET, "ghost", "nobody", "SMS_1"):
        assert value not in message


def test_a_request_may_name_a_route_but_not_a_route_and_an_account() -> None:
    # Given requests naming a route, then both a route and an account
    named = SendRequest.model_validate({"to": "13800138000", "content": "x", "route": "otp"})
    # Then the route is kept, and naming both is refused
    assert named.route == "otp"
    with pytest.raises(ValueError, match="either 'account' or 'route'"):
        SendRequest.model_validate({"to": "13800138000", "content": "x", "route": "otp", "account": "cn-a"})
