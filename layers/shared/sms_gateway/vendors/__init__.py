"""The vendor registry: vendor id -> adapter class, imported only when an account uses it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sms_gateway.vendors.base import VendorAdapter

# vendor id -> "module:Class". Adding a vendor is one line here plus its module.
VENDORS: dict[str, str] = {
    "action_v1": "sms_gateway.vendors.action_v1:ActionV1Adapter",
    "intl_v1": "sms_gateway.vendors.intl_v1:IntlV1Adapter",
    "paasw_v1": "sms_gateway.vendors.paasw_v1:PaaswV1Adapter",
    "paasw_v2": "sms_gateway.vendors.paasw_v2:PaaswV2Adapter",
    "pwd_v1": "sms_gateway.vendors.pwd_v1:PwdV1Adapter",
}


def adapter_class(vendor: str) -> type[VendorAdapter]:
    module_name, class_name = VENDORS[vendor].split(":")
    cls: type[VendorAdapter] = getattr(importlib.import_module(module_name), class_name)
    return cls
