"""The vendor catalogue: vendor id -> where its adapter lives, imported only when an account uses it.

A leaf: it imports nothing of this package, so the accounts document can check vendor ids and
load each vendor's settings models without importing the adapters (and their dependencies).
Adding a vendor is one line here plus its package.
"""

from __future__ import annotations

import importlib
from typing import Final

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
