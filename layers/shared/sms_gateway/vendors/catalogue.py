"""The vendor catalogue: vendor id -> its module, imported only when an account uses it.

A leaf below the adapters (it imports the settings base, never vendors.base nor accounts), so
the accounts document checks vendor ids and validates each account's credentials and options
without an import circle. Adding a vendor is one line here plus its module.
"""

from __future__ import annotations

import importlib
from typing import Final

from sms_gateway.vendors.settings import VendorCredentials, VendorOptions

# vendor id -> "module:Class" of its adapter.
VENDORS: Final[dict[str, str]] = {
    "action_v1": "sms_gateway.vendors.action_v1:ActionV1Adapter",
    "intl_v1": "sms_gateway.vendors.intl_v1:IntlV1Adapter",
    "paasw_v1": "sms_gateway.vendors.paasw_v1:PaaswV1Adapter",
    "paasw_v2": "sms_gateway.vendors.paasw_v2:PaaswV2Adapter",
    "pwd_v1": "sms_gateway.vendors.pwd_v1:PwdV1Adapter",
}


def known(vendor: str) -> bool:
    return vendor in VENDORS


def load(vendor: str) -> object:
    """The adapter class of ``vendor`` (typed by vendors.base.adapter_class); KeyError if unknown."""
    module_name, class_name = VENDORS[vendor].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def settings(vendor: str) -> tuple[type[VendorCredentials], type[VendorOptions]]:
    """The `Credentials` and `Options` models the adapter of ``vendor`` declares; KeyError if unknown."""
    adapter = load(vendor)
    credentials, options = (
        getattr(adapter, "credentials_model", None),
        getattr(adapter, "options_model", None),
    )
    if not (
        isinstance(credentials, type)
        and issubclass(credentials, VendorCredentials)
        and isinstance(options, type)
        and issubclass(options, VendorOptions)
    ):
        raise TypeError(f"{vendor} declares no Credentials and Options models")
    return credentials, options


def supports_templates(vendor: str) -> bool:
    """Whether the adapter of ``vendor`` sends vendor templates (its `supports_templates` capability)."""
    return bool(getattr(load(vendor), "supports_templates", False))
