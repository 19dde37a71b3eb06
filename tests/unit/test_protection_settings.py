"""The `protection` settings in the accounts document, and the keyword and hint rules."""

from __future__ import annotations

from typing import Any

import pytest

from sms_gateway.accounts import AccountRegistry
from sms_gateway.errors import ConfigurationError
from sms_gateway.models import MessageKind
from sms_gateway.protection.optout import keyword_action, with_hint
from sms_gateway.protection.settings import OptOut, Protection, Window

pytestmark = pytest.mark.unit


def account(**protection: Any) -> dict[str, Any]:
    return {
        "name": "cn-main",
        "vendor": "action_v1",
        "base_url": "http://127.0.0.1:1",
        "credentials": {"account": "922011", "password": "s3cret-pass"},
        "protection": protection,
    }


def test_without_settings_verification_codes_get_the_issue_defaults_and_others_no_limit() -> None:
    # Given an account without protection settings
    registry = AccountRegistry.parse({"accounts": [account()]})
    settings = registry.get("cn-main").protection
    # Then verification codes are limited 1 a minute, 5 an hour, 10 a day; other kinds are not
    assert settings.limit_for(MessageKind.VERIFICATION) == Window(minute=1, hour=5, day=10)
    assert settings.limit_for(MessageKind.MARKETING) is None
    assert settings.daily_cap is None and settings.allowed_countries == ()


@pytest.mark.parametrize(
    ("protection", "path"),
    [
        ({"limits": {"verification": {"hour": -1}}}, "accounts.0.protection.limits.verification.hour"),
        ({"limits": {"otp": {"hour": 1}}}, "accounts.0.protection.limits.otp"),
        ({"daily_cap": "many"}, "accounts.0.protection.daily_cap"),
        ({"allowed_countries": ["China"]}, "accounts.0.protection.allowed_countries"),
        ({"opt_out": {"opt_out_keywords": [" "]}}, "accounts.0.protection.opt_out.opt_out_keywords"),
        ({"price_per_segment": -1}, "accounts.0.protection.price_per_segment"),
        ({"spend": 1}, "accounts.0.protection.spend"),
    ],
)
def test_a_wrong_setting_is_refused_at_load_with_its_field_path(
    protection: dict[str, Any], path: str
) -> None:
    # Given an accounts document with one wrong protection setting
    # When it is loaded
    with pytest.raises(ConfigurationError) as refused:
        AccountRegistry.parse({"accounts": [account(**protection)]})
    # Then the error names the setting's path
    assert path in str(refused.value)


def test_a_route_overrides_only_the_fields_it_sets() -> None:
    # Given an account capped at 100 a day with its own price, and a route setting a stricter limit
    base = Protection.model_validate({"daily_cap": 100, "price_per_segment": "0.05"})
    override = Protection.model_validate({"limits": {"verification": {"hour": 2}}})
    # When the route's settings are laid over the account's
    merged = base.overlaid(override)
    # Then the route's limit applies and the account's cap and price stay
    assert merged.limit_for(MessageKind.VERIFICATION) == Window(hour=2)
    assert (merged.daily_cap, str(merged.price_per_segment)) == (100, "0.05")


@pytest.mark.parametrize(
    ("reply", "action"),
    [
        ("退订", True),
        ("td", True),
        ("ＳＴＯＰ", True),
        (" Unsubscribe。", True),
        ("t", True),
        ("n", True),
        ("订阅", False),
        ("start", False),
        ("ＳＴＡＲＴ", False),
        ("谢谢", None),
        ("stop sending me", None),
    ],
)
def test_keywords_are_case_and_width_insensitive_whole_replies(reply: str, action: bool | None) -> None:
    # Given the default keywords, When a reply is read, Then only a whole keyword counts
    assert keyword_action(OptOut(), reply) is action


def test_the_hint_is_appended_only_to_content_without_one() -> None:
    settings = OptOut(hint="回T退订")
    # Given content without a hint, When the account's hint rule applies, Then 回T退订 is appended
    assert with_hint("双十一大促，全场五折", settings) == "双十一大促，全场五折回T退订"
    # Given content carrying one already (退订, or STOP in any case), Then it is left as is
    assert with_hint("大促！回复TD退订", settings) == "大促！回复TD退订"
    assert with_hint("Sale! Reply stop to end", settings) == "Sale! Reply stop to end"
    # Given an account without a hint (the default), Then nothing is appended
    assert with_hint("大促", OptOut()) == "大促"
