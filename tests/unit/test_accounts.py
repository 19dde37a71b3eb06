"""The accounts document: validated once, errors name fields but never print values (secrets)."""

from typing import Any

import pytest

from sms_gateway.accounts import AccountRegistry
from sms_gateway.errors import ConfigurationError, UnknownAccount

pytestmark = pytest.mark.unit

BASE = {
    "vendor": "action_v1",
    "base_url": "http://h:1",
    "credentials": {"account": "a", "password": "p4ss-secret"},
}


def test_the_default_account_and_lookup_by_name() -> None:
    registry = AccountRegistry.parse(
        {"accounts": [{**BASE, "name": "a"}, {**BASE, "name": "b", "default": True}]}
    )
    assert registry.get(None).name == "b"
    assert registry.get("a").name == "a"
    with pytest.raises(UnknownAccount, match="unknown account 'c'"):
        registry.get("c")


def test_a_single_account_is_the_default() -> None:
    assert AccountRegistry.parse({"accounts": [{**BASE, "name": "only"}]}).get(None).name == "only"


def test_no_default_among_several_is_an_unknown_account() -> None:
    registry = AccountRegistry.parse({"accounts": [{**BASE, "name": "a"}, {**BASE, "name": "b"}]})
    with pytest.raises(UnknownAccount, match="no default"):
        registry.get(None)


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ([{**BASE, "name": "a"}, {**BASE, "name": "a"}], "unique"),
        ([{**BASE, "name": "a", "vendor": "nope"}], "unknown vendor"),
        ([{**BASE, "name": "has space"}], "URL segment"),
        ([{**BASE, "name": "a", "callback_token": "short"}], "callback_token"),
        ([{**BASE, "name": "a", "base_url": "ftp://x"}], "base_url"),
    ],
)
def test_invalid_documents_are_refused_without_their_values(
    accounts: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        AccountRegistry.parse({"accounts": accounts})
    assert "p4ss-secret" not in str(caught.value)


def test_an_account_never_prints_its_credentials() -> None:
    account = AccountRegistry.parse({"accounts": [{**BASE, "name": "a"}]}).get("a")
    assert "p4ss" not in repr(account) and "p4ss" not in str(account) and "p4ss" not in f"{account}"
