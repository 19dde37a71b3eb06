"""Shared machinery of the vendor simulators.

A simulator is a local HTTP server (``ThreadingHTTPServer``) that plays one SMS vendor as
its API document describes it. This module holds what every vendor shares:

* the HTTP plumbing: request parsing (query, form, JSON), routing, fault injection and the
  ``/_sim/`` control API for out-of-process use;
* the bookkeeping: every received request, calls per endpoint, every push attempt and every
  submitted message, all behind one lock;
* the delivery engine: a scheduler thread turns submitted messages into delivery reports
  once they are due, and queued MO into MO records, then either pushes them (HTTP POST to a
  configured URL, checking the acknowledgement as the vendor would, with the vendor's retry
  policy) or keeps them for the vendor's pull endpoints;
* outcome rules (per mobile number or number suffix) and submit-time rejection rules;
* the READINGS: where a vendor document is silent or ambiguous, each reasonable reading is a
  named switch (``Reading``), chosen at construction (``readings=``), by ``configure(readings=…)``,
  the control API (``POST /_sim/configure {"readings": {…}}``) or the CLI (``--reading``).
  ``simulators/READINGS.md`` lists them all with the document lines they come from.

Vendor modules subclass :class:`BaseSimulator`; they declare routes, check auth, validate
requests, and format answers, pushes and pulls exactly as their document shows.
Only the Python standard library is used.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Self

from .control import ControlMixin
from .core import SimCore, TokenStore
from .faults import FaultsMixin
from .readings import BAD_NUMBER, COMMON_READINGS, PULL_HANDOUT, REPUSH_SILENT, Reading, reading
from .records import RecordsMixin
from .rules import RulesMixin
from .scheduler import SchedulerMixin
from .server import ServerMixin
from .wire import (
    CHINA_TZ,
    CN_MOBILE,
    FAULT_KINDS,
    OUTCOMES,
    UNREADABLE_RECORD,
    Reply,
    SimRequest,
    VendorError,
    answer_code,
    as_int_code,
    is_vendor_code,
    iter_chunks,
    json_reply,
    mask_mobile,
    md5_hex,
    random_token,
    sms_segments,
    split_mobiles,
    text_reply,
)

# Vendor modules and tests import these names from here (the module was one file before).
__all__ = [
    "BAD_NUMBER",
    "CHINA_TZ",
    "CN_MOBILE",
    "COMMON_READINGS",
    "FAULT_KINDS",
    "OUTCOMES",
    "PULL_HANDOUT",
    "REPUSH_SILENT",
    "UNREADABLE_RECORD",
    "BaseSimulator",
    "Reading",
    "Reply",
    "SimCore",
    "SimRequest",
    "TokenStore",
    "VendorError",
    "answer_code",
    "as_int_code",
    "is_vendor_code",
    "iter_chunks",
    "json_reply",
    "mask_mobile",
    "md5_hex",
    "random_token",
    "reading",
    "sms_segments",
    "split_mobiles",
    "text_reply",
]

_UNSET: Any = object()

#: configure() key -> how a given value is stored
_SETTINGS: dict[str, Callable[[Any], Any]] = {
    "push_report_url": lambda value: value or None,
    "push_mo_url": lambda value: value or None,
    "delivery": lambda value: value,
    "report_delay": float,
    "push_headers": lambda value: dict(value or {}),
    "push_retry_interval": float,
    "push_timeout": float,
    "honor_schedule": bool,
    "fault_timeout": float,
    "token_ttl": float,
}


class BaseSimulator(ServerMixin, ControlMixin, FaultsMixin, SchedulerMixin, RecordsMixin, RulesMixin):
    """Common base of the vendor simulators (see the module docstring).

    Subclasses set the class attributes of ``SimCore`` and implement the route handlers named
    in ``ROUTES`` plus the formatting hooks (``report_push_bodies``, ``mo_push_bodies``,
    ``ack_ok``, ``reject``).
    """

    def __init__(
        self,
        credentials: dict[str, Any],
        options: dict[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        readings: dict[str, str] | None = None,
    ) -> None:
        self.credentials = dict(credentials or {})
        self.options = dict(options or {})
        self.host = host
        self.port = int(port)
        self.name = self.vendor  # the account name when built by simulator_for
        self.sign = None  # the account's sign (paasw_v1 MO carry it)
        self.tz = CHINA_TZ
        self.path_prefix = ""  # a base_url path, stripped from incoming paths

        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server = None
        self._threads = []

        self._received = []
        self._calls = Counter()
        self._pushes = []
        self._messages = []
        self._mos = []
        self._report_queue = []
        self._mo_queue = []
        self._events = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._outcome_rules = {}
        self._submit_rules = {}
        self._faults = []
        self._bad_records = Counter()  # kind -> pushes/pulls still to garble
        self._handed_out = {}  # id(queued record) -> pulls that handed it out
        self._inflight = 0
        self._busy = 0
        self._clock_offset = 0.0

        # configure() keys
        self.push_report_url = None
        self.push_mo_url = None
        self.delivery = "push"
        self.report_delay = 0.2
        self.push_headers = {}
        self.readings = {name: spec.default for name, spec in self.reading_specs().items()}
        self.push_retry_interval = 0.2
        self.push_timeout = 5.0
        self.honor_schedule = True
        self.fault_timeout = 3.0
        self.token_ttl = 7200.0

        self.balance = self.DEFAULT_BALANCE
        self.balance_details = dict(self.DEFAULT_BALANCE_DETAILS)
        self.tokens = TokenStore(self) if self.HAS_TOKENS else None
        if readings:
            self.set_readings(readings)

    # ------------------------------------------------------------------ configuration

    def configure(
        self,
        *,
        push_report_url: Any = _UNSET,
        push_mo_url: Any = _UNSET,
        delivery: Any = _UNSET,
        report_delay: Any = _UNSET,
        push_headers: Any = _UNSET,
        push_retry_interval: Any = _UNSET,
        push_timeout: Any = _UNSET,
        honor_schedule: Any = _UNSET,
        fault_timeout: Any = _UNSET,
        token_ttl: Any = _UNSET,
        readings: Any = _UNSET,
    ) -> Self:
        """Change only the settings given.

        ``delivery="push"`` pushes reports/MO to their URL when one is set (a kind without
        URL is kept for pull); ``delivery="pull"`` never pushes. ``readings`` chooses readings
        by name (see ``reading_specs()``); readings not named keep their current choice.
        """
        if readings is not _UNSET:
            self.set_readings(readings or {})
        if delivery is not _UNSET and delivery not in ("push", "pull"):
            raise ValueError(f"delivery must be 'push' or 'pull', not {delivery!r}")
        given = {
            "push_report_url": push_report_url,
            "push_mo_url": push_mo_url,
            "delivery": delivery,
            "report_delay": report_delay,
            "push_headers": push_headers,
            "push_retry_interval": push_retry_interval,
            "push_timeout": push_timeout,
            "honor_schedule": honor_schedule,
            "fault_timeout": fault_timeout,
            "token_ttl": token_ttl,
        }
        with self._wake:
            for key, value in given.items():
                if value is not _UNSET:
                    setattr(self, key, _SETTINGS[key](value))
            self._wake.notify_all()
        return self

    def config(self) -> dict[str, Any]:
        return {
            "push_report_url": self.push_report_url,
            "push_mo_url": self.push_mo_url,
            "delivery": self.delivery,
            "report_delay": self.report_delay,
            "push_headers": dict(self.push_headers),
            "push_retry_interval": self.push_retry_interval,
            "push_timeout": self.push_timeout,
            "honor_schedule": self.honor_schedule,
            "fault_timeout": self.fault_timeout,
            "token_ttl": self.token_ttl,
            "readings": dict(self.readings),
        }

    # ------------------------------------------------------------------ readings

    @classmethod
    def reading_specs(cls) -> dict[str, Reading]:
        return {**COMMON_READINGS, **cls.READINGS}

    def set_readings(self, readings: dict[str, Any]) -> None:
        """Choose readings by name; an unknown name or choice is a ValueError (nothing changes)."""
        specs = self.reading_specs()
        chosen: dict[str, str] = {}
        for name, value in dict(readings).items():
            if name not in specs:
                raise ValueError(f"{self.vendor} has no reading {name!r}; known: {sorted(specs)}")
            choice = str(value)
            if choice not in specs[name].choices:
                raise ValueError(
                    f"{self.vendor} reading {name} must be one of {specs[name].choices}, not {choice!r}"
                )
            chosen[name] = choice
        with self._wake:
            self.readings.update(chosen)
            self._wake.notify_all()

    def reading(self, name: str) -> str:
        return self.readings[name]

    @property
    def push_retries(self) -> int:
        """Re-pushes after a push that was not acked: the document's number, else the reading."""
        if self.PUSH_RETRIES is not None:
            return self.PUSH_RETRIES
        return 2 if self.readings.get("repush") == "twice" else 0
