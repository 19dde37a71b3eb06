"""The core every simulator room builds on: the shared state (declared here, created by
``BaseSimulator.__init__``), the vendor hooks with their defaults, and the signatures by which
one room calls another. Rooms are mixins over this core: ``records`` and ``rules`` (state),
``scheduler`` (due records and pushes), ``faults``, ``control`` (the ``/_sim/`` API) and
``server`` (HTTP). Keeping the signatures here lets each room be type-checked on its own
without importing its siblings (no import circle)."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from datetime import tzinfo
from http.server import ThreadingHTTPServer
from typing import Any, ClassVar

from .readings import Reading
from .wire import Reply, SimRequest, VendorError, json_reply, random_token

#: a scheduled event: (due time, sequence number, kind, payload)
Event = tuple[float, int, str, Any]


class SimCore:
    """Shared state and hooks; see the module docstring."""

    vendor = "base"
    #: path -> (allowed methods, handler method name)
    ROUTES: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {}
    #: vendor error code used for unknown paths, wrong methods and internal errors
    PARAM_ERROR: Any = 1
    #: generic outcome name -> vendor report code
    OUTCOME_CODES: ClassVar[dict[str, Any]] = {}
    #: retries after a refused push where the document states them (002: 2, 003: 0); None
    #: where it is silent, and then the reading ``repush`` decides
    PUSH_RETRIES: int | None = None
    #: this vendor's switchable readings (COMMON_READINGS are added to them)
    READINGS: ClassVar[dict[str, Reading]] = {}
    HAS_MO = True
    HAS_TOKENS = False
    #: reports go to a pull queue (False for intl_v1, whose status API is a lookup)
    REPORT_QUEUE = True
    DEFAULT_BALANCE: Any = 100
    #: extra balance fields this vendor answers, with their defaults
    DEFAULT_BALANCE_DETAILS: ClassVar[dict[str, Any]] = {}

    # identity and address
    credentials: dict[str, Any]
    options: dict[str, Any]
    host: str
    port: int
    name: str
    sign: str | None
    tz: tzinfo
    path_prefix: str

    # threads and the one lock
    _lock: threading.RLock
    _wake: threading.Condition
    _stopping: threading.Event
    _server: ThreadingHTTPServer | None
    _threads: list[threading.Thread]

    # bookkeeping (under the lock)
    _received: list[dict[str, Any]]
    _calls: Counter[str]
    _pushes: list[dict[str, Any]]
    _messages: list[dict[str, Any]]
    _mos: list[dict[str, Any]]
    _report_queue: list[dict[str, Any]]
    _mo_queue: list[dict[str, Any]]
    _events: list[Event]
    _seq: itertools.count[int]
    _ids: itertools.count[int]
    _outcome_rules: dict[str, str]
    _submit_rules: dict[str, Any]
    _faults: list[dict[str, Any]]
    _bad_records: Counter[str]
    _handed_out: dict[int, int]
    _inflight: int
    _busy: int
    _clock_offset: float

    # configure() keys
    push_report_url: str | None
    push_mo_url: str | None
    delivery: str
    report_delay: float
    push_headers: dict[str, str]
    readings: dict[str, str]
    push_retry_interval: float
    push_timeout: float
    honor_schedule: bool
    fault_timeout: float
    token_ttl: float

    balance: Any
    balance_details: dict[str, Any]
    tokens: TokenStore | None

    # ------------------------------------------------------------------ vendor hooks

    def reject(self, code: Any, reason: str, http_status: int = 200) -> VendorError:
        """Build (not raise) the vendor's error answer; handlers ``raise self.reject(...)``."""
        return VendorError(json_reply({"code": code, "message": reason}, http_status), reason)

    def endpoint_key(self, req: SimRequest) -> str:
        return req.path

    def report_code(self, outcome: str) -> Any:
        """The vendor's report code for an outcome name (a raw code passes through)."""
        return self.OUTCOME_CODES.get(outcome, outcome)

    def report_push_bodies(self, reports: list[dict[str, Any]]) -> list[Any]:
        raise NotImplementedError

    def mo_push_bodies(self, mos: list[dict[str, Any]]) -> list[Any]:
        raise NotImplementedError

    def push_request_headers(self) -> dict[str, str]:
        return {}

    def ack_ok(self, kind: str, status: int | None, answer: str) -> bool:
        return status == 200

    # ------------------------------------------------------------------ across rooms
    # Implemented by the room named; declared here so that a room can call another.

    def now(self) -> float:  # rules
        raise NotImplementedError

    def reading(self, name: str) -> str:  # base
        raise NotImplementedError

    @classmethod
    def reading_specs(cls) -> dict[str, Reading]:  # base
        raise NotImplementedError

    @property
    def push_retries(self) -> int:  # base
        raise NotImplementedError

    @property
    def url(self) -> str:  # server
        raise NotImplementedError

    def outcome_for(self, mobile: str) -> str:  # rules
        raise NotImplementedError

    def with_bad_record(self, kind: str, records: list[Any]) -> list[Any]:  # faults
        raise NotImplementedError

    def _schedule(self, due: float, kind: str, payload: Any) -> None:  # scheduler
        raise NotImplementedError

    def _dispatch(self, req: SimRequest) -> Reply:  # server
        raise NotImplementedError

    def _control(self, req: SimRequest) -> Reply:  # control
        raise NotImplementedError

    def _run_scheduler(self) -> None:  # scheduler
        raise NotImplementedError

    def _take_fault(self, path: str, endpoint: str) -> dict[str, Any] | None:  # faults
        raise NotImplementedError

    def config(self) -> dict[str, Any]:  # base
        raise NotImplementedError

    # base; its keywords are the settings (the control API passes a JSON object as they are)
    configure: Callable[..., Any]

    def state(self) -> dict[str, Any]:  # records
        raise NotImplementedError

    @property
    def received(self) -> list[dict[str, Any]]:  # records
        raise NotImplementedError

    def queue_mo(
        self, mobile: str, content: str, ext_no: str | None = None, delay: float = 0.0, **extra: Any
    ) -> dict[str, Any]:  # records
        raise NotImplementedError

    # rules and faults, as the control API calls them
    def set_outcome(self, mobile_or_suffix: str, outcome: str) -> None:
        raise NotImplementedError

    def set_submit_result(self, mobile_or_suffix: str, code: Any) -> None:
        raise NotImplementedError

    def set_balance(self, balance: Any, **details: Any) -> None:
        raise NotImplementedError

    def advance_clock(self, seconds: float) -> None:
        raise NotImplementedError

    def expire_tokens(self) -> None:
        raise NotImplementedError

    def inject_fault(
        self,
        kind: str,
        count: int = 1,
        path: str | None = None,
        seconds: float | None = None,
        then: str = "answer",
    ) -> None:
        raise NotImplementedError

    def inject_bad_record(self, kind: str = "report", count: int = 1) -> None:
        raise NotImplementedError


class TokenStore:
    """paasw-style tokens: valid ``sim.token_ttl`` seconds, the same token is handed out again
    while valid, and ``expire_all`` plays a reset secret (tokens die early)."""

    def __init__(self, sim: SimCore) -> None:
        self._sim = sim
        self._token: str | None = None
        self._expires_at = 0.0
        self.issued: list[str] = []

    def issue(self) -> tuple[str, int]:
        """Current token and its remaining lifetime in whole seconds."""
        now = self._sim.now()
        if self._token is None or now >= self._expires_at:
            self._token = random_token(64)
            self._expires_at = now + self._sim.token_ttl
            self.issued.append(self._token)
        return self._token, max(round(self._expires_at - now), 0)

    def valid(self, token: str | None) -> bool:
        return bool(token) and token == self._token and self._sim.now() < self._expires_at

    def expire_all(self) -> None:
        self._token = None
        self._expires_at = 0.0
