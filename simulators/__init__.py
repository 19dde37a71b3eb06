"""Local simulators of the project's five SMS vendors, for adapter tests and demos.

Each vendor module plays its vendor's HTTP API as the vendor's document (shared/vendor-docs)
describes it, strictly: auth, methods, content types, fields, limits, answer formats, pushes
with the vendor's acknowledgement check, and pulls.

    from simulators import simulator_for
    with simulator_for(account) as sim:          # account: one entry of accounts.json
        sim.configure(push_report_url="http://127.0.0.1:3000/callbacks/cn-main/report")
        ...

Where a document is silent or ambiguous, each reasonable reading is a switch
(``readings=`` at construction, ``configure(readings=…)``, ``POST /_sim/configure``, ``--reading``);
``simulators/READINGS.md`` lists them with the document lines they come from.

Command line: ``python -m simulators --accounts accounts.json --push-base URL [--reading NAME=VALUE]``.
"""

from __future__ import annotations

import urllib.parse
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from .action_v1 import ActionV1Simulator
from .base import CHINA_TZ, OUTCOMES, BaseSimulator, Reading
from .intl_v1 import IntlV1Simulator
from .paasw_v1 import PaaswV1Simulator
from .paasw_v2 import PaaswV2Simulator
from .pwd_v1 import PwdV1Simulator

SIMULATORS: dict[str, type[BaseSimulator]] = {
    "action_v1": ActionV1Simulator,
    "paasw_v1": PaaswV1Simulator,
    "paasw_v2": PaaswV2Simulator,
    "intl_v1": IntlV1Simulator,
    "pwd_v1": PwdV1Simulator,
}

__all__ = [
    "CHINA_TZ",
    "OUTCOMES",
    "SIMULATORS",
    "ActionV1Simulator",
    "BaseSimulator",
    "IntlV1Simulator",
    "PaaswV1Simulator",
    "PaaswV2Simulator",
    "PwdV1Simulator",
    "Reading",
    "simulator_for",
]


def simulator_for(account: dict[str, Any], start: bool = True, **kw: Any) -> BaseSimulator:
    """Build the simulator of one account of the project's accounts document.

    It listens on the host and port of ``account["base_url"]`` (a path in base_url is a
    prefix stripped from requests), uses the account's credentials and options, name, sign
    and timezone. ``host``/``port``/``credentials``/``options`` in ``kw`` override the
    account's; ``readings`` chooses readings (see READINGS.md); the other keywords go to
    ``configure()``. Started unless ``start=False``
    (``start()`` is idempotent, so ``with simulator_for(a) as sim`` works as well).
    """
    vendor = account.get("vendor")
    if vendor not in SIMULATORS:
        raise ValueError(f"no simulator for vendor {vendor!r}; known: {sorted(SIMULATORS)}")
    base = urllib.parse.urlsplit(account.get("base_url") or "")
    host = kw.pop("host", None) or base.hostname or "127.0.0.1"
    port = kw.pop("port", None)
    if port is None:
        port = base.port or 0
    credentials = kw.pop("credentials", None) or account.get("credentials") or {}
    options = kw.pop("options", None) or account.get("options") or {}
    readings = kw.pop("readings", None)

    sim = SIMULATORS[vendor](credentials, options, host=host, port=port, readings=readings)
    sim.name = account.get("name") or vendor
    sim.sign = (account.get("sign") or "").strip("【】") or None
    sim.path_prefix = base.path.rstrip("/")
    sim.tz = _timezone(account.get("timezone"))
    if kw:
        sim.configure(**kw)
    return sim.start() if start else sim


def _timezone(name: str | None) -> tzinfo:
    """The account's zone for vendor timestamps; China time when absent or unknown here."""
    if not name or name in ("Asia/Shanghai", "Asia/Chongqing", "PRC", "UTC+8", "+08:00"):
        return CHINA_TZ
    try:
        return ZoneInfo(name)
    except Exception:
        return CHINA_TZ
