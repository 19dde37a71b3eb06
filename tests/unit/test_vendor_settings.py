"""Each vendor's Credentials and Options, checked when the accounts document loads: a wrong or
missing field is an error naming its path, never a value, and never a failure mid-send."""

from typing import Any

import pytest

from sms_gateway.accounts import Account, AccountRegistry
from sms_gateway.errors import ConfigurationError
from sms_gateway.http import VendorHttp
from sms_gateway.models import MessageKind, OutboundItem, Submission
from sms_gateway.vendors import toolkit
from sms_gateway.vendors.action_v1 import ActionV1Adapter
from sms_gateway.vendors.base import adapter_class

pytestmark = pytest.mark.unit

SECRET = "s3cr3t-Value-42"
CREDENTIALS: dict[str, dict[str, str]] = {
    "action_v1": {"account": "922011", "password": SECRET},
    "paasw_v1": {"app_id": "0189457543", "secret": SECRET},
    "paasw_v2": {"app_id": "0189457544", "secret": SECRET},
    "intl_v1": {"app_key": "10002", "app_secret": SECRET},
    "pwd_v1": {"account": "acme", "password": SECRET},
}


def entry(vendor: str, name: str = "a", **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "vendor": vendor,
        "base_url": "http://127.0.0.1:9",
        "credentials": CREDENTIALS[vendor],
        "sign": "圆通快递",
        **fields,
    }


def refusal(*accounts: dict[str, Any]) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        AccountRegistry.parse({"accounts": list(accounts)})
    # Never the secret, neither in the message nor in the error it was raised from.
    assert SECRET not in str(caught.value)
    assert SECRET not in str(caught.value.__cause__) and SECRET not in repr(caught.value.__cause__)
    return caught.value


@pytest.mark.parametrize("vendor", sorted(CREDENTIALS))
def test_every_vendor_accepts_its_documented_credentials(vendor: str) -> None:
    # Given one account of the vendor with its credentials, When the document loads, Then it is used
    registry = AccountRegistry.parse({"accounts": [entry(vendor)]})
    assert registry.get(None).vendor == vendor


@pytest.mark.parametrize(("vendor", "field"), [(v, f) for v, c in sorted(CREDENTIALS.items()) for f in c])
def test_a_missing_credential_is_an_error_at_load_naming_its_path(vendor: str, field: str) -> None:
    # Given the second account of a document lacks one credential
    credentials = {k: v for k, v in CREDENTIALS[vendor].items() if k != field}
    error = refusal(entry("action_v1", "ok"), entry(vendor, "b", credentials=credentials))
    # Then the document is refused at load, naming the field's path
    assert f"accounts.1.credentials.{field}: Field required" in str(error)


def test_a_misspelt_credential_names_both_paths_and_not_its_value() -> None:
    # Given an action_v1 account whose password key is misspelt (before: a KeyError mid-send)
    error = refusal(entry("action_v1", credentials={"account": "922011", "pasword": SECRET}))
    # Then both the missing and the unknown key are named
    assert "accounts.0.credentials.password: Field required" in str(error)
    assert "accounts.0.credentials.pasword: Extra inputs are not permitted" in str(error)


@pytest.mark.parametrize(
    ("vendor", "options", "path"),
    [
        ("action_v1", {"md5_pasword": True}, "options.md5_pasword"),
        ("action_v1", {"md5_password": "maybe"}, "options.md5_password"),
        ("paasw_v1", {"param_json_style": "list"}, "options.param_json_style"),
        ("paasw_v1", {"template_texts": ["not", "a", "map"]}, "options.template_texts"),
        ("paasw_v2", {"body_format": "xml"}, "options.body_format"),
        ("intl_v1", {"sign_in_content": "perhaps"}, "options.sign_in_content"),
        ("pwd_v1", {"balance_unit": "euros"}, "options.balance_unit"),
    ],
)
def test_a_wrong_option_is_an_error_at_load_naming_its_path(
    vendor: str, options: dict[str, Any], path: str
) -> None:
    error = refusal(entry(vendor, options=options))
    assert f"accounts.0.{path}:" in str(error)


def test_options_take_the_documents_natural_forms() -> None:
    # Given options written as numbers where the vendor reads text or a code list
    registry = AccountRegistry.parse(
        {
            "accounts": [
                entry("action_v1", "act", options={"extno": 106900, "md5_password": "true"}),
                entry("paasw_v2", "v2", options={"retryable_codes": 429, "default_ext_no": 66}),
            ]
        }
    )
    act = ActionV1Adapter(registry.get("act"), VendorHttp())
    v2 = adapter_class("paasw_v2")(registry.get("v2"), VendorHttp())
    # Then they are read as the vendor means them
    assert (act.options.extno, act.options.md5_password) == ("106900", True)
    assert v2.options.model_dump() == {
        "body_format": "json",
        "default_ext_no": "66",
        "retryable_codes": frozenset({"429"}),
        "poll_reports": True,
        "poll_inbound": True,
    }


def test_an_account_built_without_the_document_is_refused_before_any_call() -> None:
    # Given an action_v1 account built directly with a misspelt credential (before: KeyError
    # inside submit, after its recipients were marked inflight, so they became unknown)
    account = Account(
        name="direct",
        vendor="action_v1",
        base_url="http://127.0.0.1:9",
        credentials={"acount": "922011", "password": SECRET},
    )
    http = VendorHttp()
    # When an adapter is built for it, Then it is a configuration error naming the path, and no
    # call was made
    with pytest.raises(ConfigurationError, match=r"account direct: credentials\.account: Field required"):
        ActionV1Adapter(account, http).submit(
            Submission("c" * 32, (OutboundItem("m-1", "+8613900000001"),), MessageKind.NOTIFICATION, "hi")
        )
    assert http.calls == 0


def test_vendor_settings_never_print_their_values() -> None:
    account = Account(name="a", vendor="intl_v1", base_url="http://h:1", credentials=CREDENTIALS["intl_v1"])
    adapter = adapter_class("intl_v1")(account, VendorHttp())
    assert SECRET not in repr(adapter.credentials) and SECRET not in str(adapter.credentials)


# ------------------------------------------------------------------------------------- toolkit


@pytest.mark.parametrize(
    ("raw", "plain", "batch"),
    [
        (39036632588910887018, "39036632588910887018", "39036632588910887018"),
        (" 0042 ", "0042", "42"),
        (17.0, "17", ValueError),
        (None, None, None),
        (True, None, None),
        ({"id": 1}, None, None),
        ("", None, None),
    ],
)
def test_vendor_ids_follow_one_rule_with_each_vendors_switches(
    raw: object, plain: object, batch: object
) -> None:
    assert toolkit.vendor_id(raw) == plain
    if batch is ValueError:
        with pytest.raises(ValueError, match="float"):
            toolkit.vendor_id(raw, floats=False, drop_leading_zeros=True)
    else:
        assert toolkit.vendor_id(raw, floats=False, drop_leading_zeros=True) == batch


def test_code_lists_and_signs() -> None:
    assert toolkit.codes([429, " 20001 ", ""]) == {"429", "20001"}
    assert toolkit.codes("02") == {"02"} and toolkit.codes(None, ("02",)) == {"02"}
    assert toolkit.codes([]) == frozenset()
    assert [toolkit.bare_sign(s) for s in ("【圆通】", " 圆通 ", "【】", None)] == [
        "圆通",
        "圆通",
        None,
        None,
    ]
    assert toolkit.frame_sign("已签收", "圆通") == "【圆通】已签收"
    assert toolkit.frame_sign("【中通】已签收", "圆通") == "【中通】已签收"
