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

import contextlib
import hashlib
import heapq
import http.client
import itertools
import json
import logging
import re
import secrets
import socket
import string
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone, tzinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

log = logging.getLogger("simulators")

#: Vendor timestamps carry no zone: they are China Standard Time unless an account says otherwise.
CHINA_TZ = timezone(timedelta(hours=8), "CST")

#: Outcome names understood by every simulator. Each vendor maps them to its own codes
#: (``OUTCOME_CODES`` in the vendor module). ``none`` means the report never comes.
OUTCOMES = ("delivered", "undelivered", "expired", "rejected", "blacklisted", "unknown", "none")

#: ``5xx`` is a 503 page from the vendor itself; ``502``/``504`` are a gateway in front of it,
#: and whether that gateway had forwarded the request is the reading ``gateway_error``.
FAULT_KINDS = ("5xx", "502", "504", "timeout", "non_json")

#: China mainland mobile numbers as the domestic vendors expect them (no country code).
CN_MOBILE = re.compile(r"^1\d{10}$")

_UNSET: Any = object()

#: what ``inject_bad_record`` adds: valid JSON, but none of any vendor's fields
UNREADABLE_RECORD: dict[str, Any] = {"garbled": "记录不可读"}

# --------------------------------------------------------------------------- helpers


class _Server(ThreadingHTTPServer):
    # Adapters send in parallel bursts; the default backlog of 5 would reset connections.
    request_queue_size = 128
    daemon_threads = True


def md5_hex(text: str) -> str:
    """Lower-case hex MD5 of ``text`` encoded as UTF-8."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def mask_mobile(mobile: str) -> str:
    """Mask a number the way pwd_v1's pulls show it: ``13512349831`` -> ``135****9831``."""
    if len(mobile) >= 8:
        return mobile[:3] + "****" + mobile[-4:]
    return mobile[:1] + "*" * max(len(mobile) - 2, 0) + mobile[-1:]


def split_mobiles(value: Any) -> list[str]:
    """Split an ASCII-comma separated number list; blanks around and empty items are dropped."""
    if value is None:
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def sms_segments(content: str) -> int:
    """Billing segments of one SMS: 70 characters fit one, longer texts go by 67."""
    length = len(content or "")
    return 1 if length <= 70 else -(-length // 67)


def random_token(length: int = 64) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def answer_code(answer: str) -> Any:
    """The ``code`` field of a JSON object answer, or None when the answer is not one."""
    try:
        body = json.loads(answer)
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def as_int_code(code: Any) -> Any:
    """An error code as an int where it is one (``"1007"`` -> 1007), else unchanged."""
    text = str(code).strip()
    return int(text) if text.lstrip("-").isdigit() else code


def is_vendor_code(text: str) -> bool:
    """A raw vendor code (``MA:0029``, ``DB:0141``, ``16``) has no lower-case letters;
    this keeps a typo of an outcome name (``undelivred``) from passing as a code."""
    return bool(text) and not any(ch.islower() for ch in text)


# --------------------------------------------------------------------------- request / reply


class SimRequest:
    """One HTTP request as the simulator saw it, parsed once."""

    def __init__(self, method: str, path: str, query_string: str, headers, body: bytes):
        self.method = method.upper()
        self.path = path
        self.query_string = query_string
        self.headers = dict(headers.items())
        self.raw = body
        self.text = body.decode("utf-8", "replace")
        self.time = time.time()
        self.query = _first_values(urllib.parse.parse_qs(query_string, keep_blank_values=True))
        self.media_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        self.form: dict[str, str] = {}
        self.json: Any = None
        self.json_error: str | None = None
        if self.media_type == "application/x-www-form-urlencoded":
            self.form = _first_values(
                urllib.parse.parse_qs(self.text, keep_blank_values=True, encoding="utf-8")
            )
        elif self.media_type == "application/json" or self.media_type.endswith("+json"):
            if body.strip():
                try:
                    self.json = json.loads(self.text)
                except ValueError as exc:
                    self.json_error = f"body is not valid JSON: {exc}"
            else:
                self.json_error = "empty body where a JSON body is required"

    @property
    def is_form(self) -> bool:
        return self.media_type == "application/x-www-form-urlencoded"

    @property
    def is_json(self) -> bool:
        return self.media_type == "application/json" or self.media_type.endswith("+json")

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def record(self, endpoint: str) -> dict:
        """The form kept in ``BaseSimulator.received``."""
        return {
            "method": self.method,
            "path": self.path,
            "endpoint": endpoint,
            "query": dict(self.query),
            "headers": dict(self.headers),
            "form": dict(self.form),
            "json": self.json,
            "raw": self.text,
            "time": self.time,
        }


def _first_values(parsed: dict[str, list[str]]) -> dict[str, str]:
    # A repeated key keeps its first value (004's own example repeats action=report).
    return {key: values[0] for key, values in parsed.items()}


class Reply:
    """An HTTP answer: status, body bytes and content type."""

    def __init__(
        self, status: int = 200, body: bytes = b"", content_type: str = "application/json;charset=UTF-8"
    ):
        self.status = status
        self.body = body
        self.content_type = content_type


def json_reply(obj: Any, status: int = 200) -> Reply:
    # Python ints are written exactly, so a 20-digit id stays a 20-digit number literal.
    return Reply(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"))


def text_reply(text: str, status: int = 200, content_type: str = "text/plain;charset=UTF-8") -> Reply:
    return Reply(status, text.encode("utf-8"), content_type)


class VendorError(Exception):
    """Raised by a vendor handler to answer with the vendor's own error format."""

    def __init__(self, reply: Reply, reason: str = ""):
        super().__init__(reason)
        self.reply = reply


# --------------------------------------------------------------------------- readings


class Reading:
    """One place where a vendor document is silent or ambiguous: the readings it allows.

    ``cite`` names the document lines; ``default`` is the reading used unless chosen otherwise.
    """

    def __init__(self, choices: tuple[str, ...], default: str, cite: str, doc: str):
        if default not in choices:
            raise ValueError(f"default {default!r} is not one of {choices}")
        self.choices = choices
        self.default = default
        self.cite = cite
        self.doc = doc

    def as_dict(self) -> dict:
        return {"choices": list(self.choices), "default": self.default, "cite": self.cite, "doc": self.doc}


#: Readings every simulator offers.
COMMON_READINGS: dict[str, Reading] = {
    # No document says what a gateway error in front of the vendor means (vendor-docs README:
    # "which refusals mean the call was not sent"): it may have forwarded the request first.
    "gateway_error": Reading(
        ("not_forwarded", "forwarded"),
        "not_forwarded",
        "no document; vendor-docs/README.md 'Where the documents are silent'",
        "an injected 502/504 fault: the gateway answered without forwarding (nothing sent), "
        "or forwarded the request (the SMS was sent) and lost the vendor's answer",
    ),
}

#: The reading of push retries for vendors whose documents say nothing about re-pushing
#: (000, 001, 004): "none" is what they promise, "twice" what 002 does.
REPUSH_SILENT = Reading(
    ("none", "twice"),
    "none",
    "{doc}: silent on re-pushing (only 002 L463 re-pushes twice; 003 L167 pushes once)",
    "re-push a push that was not acked: never, or twice more like 002",
)

#: How a number the vendor cannot send to is answered inside a call, where the document does
#: not say whether one bad number refuses the whole call.
BAD_NUMBER = Reading(
    ("whole_call", "per_number"),
    "whole_call",
    "{doc}: silent on one bad number among good ones",
    "one malformed number refuses the whole call, or the call is accepted and only that "
    "number gets a failed report",
)


#: Whether a pulled record is gone once handed out, where the document does not say.
PULL_HANDOUT = Reading(
    ("once", "twice"),
    "once",
    "{doc}: silent on whether a pulled record is handed out again",
    "a pulled record is handed out once, or by two pulls in a row (a later pull repeats it)",
)


def reading(doc: str, template: Reading) -> Reading:
    """A copy of a shared reading with its citation filled in for one document."""
    return Reading(template.choices, template.default, template.cite.format(doc=doc), template.doc)


# --------------------------------------------------------------------------- tokens


class TokenStore:
    """paasw-style tokens: valid ``sim.token_ttl`` seconds, the same token is handed out again
    while valid, and ``expire_all`` plays a reset secret (tokens die early)."""

    def __init__(self, sim: BaseSimulator):
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


# --------------------------------------------------------------------------- simulator


class BaseSimulator:
    """Common base of the vendor simulators (see the module docstring).

    Subclasses set the class attributes below and implement the route handlers named in
    ``ROUTES`` plus the formatting hooks (``report_push_bodies``, ``mo_push_bodies``,
    ``ack_ok``, ``reject``).
    """

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

    def __init__(
        self,
        credentials: dict,
        options: dict | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        readings: dict[str, str] | None = None,
    ):
        self.credentials = dict(credentials or {})
        self.options = dict(options or {})
        self.host = host
        self.port = int(port)
        self.name = self.vendor  # the account name when built by simulator_for
        self.sign: str | None = None  # the account's sign (paasw_v1 MO carry it)
        self.tz: tzinfo = CHINA_TZ
        self.path_prefix = ""  # a base_url path, stripped from incoming paths

        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

        self._received: list[dict] = []
        self._calls: Counter = Counter()
        self._pushes: list[dict] = []
        self._messages: list[dict] = []
        self._mos: list[dict] = []
        self._report_queue: list[dict] = []
        self._mo_queue: list[dict] = []
        self._events: list[tuple] = []
        self._seq = itertools.count()
        self._ids = itertools.count(1)
        self._outcome_rules: dict[str, str] = {}
        self._submit_rules: dict[str, Any] = {}
        self._faults: list[dict] = []
        self._bad_records: Counter = Counter()  # kind -> pushes/pulls still to garble
        self._handed_out: dict[int, int] = {}  # id(queued record) -> pulls that handed it out
        self._inflight = 0
        self._busy = 0
        self._clock_offset = 0.0

        # configure() keys
        self.push_report_url: str | None = None
        self.push_mo_url: str | None = None
        self.delivery = "push"
        self.report_delay = 0.2
        self.push_headers: dict[str, str] = {}
        self.readings = {name: spec.default for name, spec in self.reading_specs().items()}
        self.push_retry_interval = 0.2
        self.push_timeout = 5.0
        self.honor_schedule = True
        self.fault_timeout = 3.0
        self.token_ttl = 7200

        self.balance = self.DEFAULT_BALANCE
        self.balance_details = dict(self.DEFAULT_BALANCE_DETAILS)
        self.tokens = TokenStore(self) if self.HAS_TOKENS else None
        if readings:
            self.set_readings(readings)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> BaseSimulator:
        """Bind and serve in background threads; idempotent. Port 0 picks a free port."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, self.port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        for target, label in (
            (lambda: server.serve_forever(poll_interval=0.1), "http"),
            (self._run_scheduler, "scheduler"),
        ):
            thread = threading.Thread(target=target, name=f"{self.vendor}-{label}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving and the scheduler; sleeping timeout faults are woken up."""
        server, self._server = self._server, None
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        if server is not None:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads = []

    def __enter__(self) -> BaseSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}{self.path_prefix}"

    # ------------------------------------------------------------------ configuration

    def configure(
        self,
        push_report_url=_UNSET,
        push_mo_url=_UNSET,
        delivery=_UNSET,
        report_delay=_UNSET,
        push_headers=_UNSET,
        push_retry_interval=_UNSET,
        push_timeout=_UNSET,
        honor_schedule=_UNSET,
        fault_timeout=_UNSET,
        token_ttl=_UNSET,
        readings=_UNSET,
    ) -> BaseSimulator:
        """Change only the settings given.

        ``delivery="push"`` pushes reports/MO to their URL when one is set (a kind without
        URL is kept for pull); ``delivery="pull"`` never pushes. ``readings`` chooses readings
        by name (see ``reading_specs()``); readings not named keep their current choice.
        """
        if readings is not _UNSET:
            self.set_readings(readings or {})
        if delivery is not _UNSET and delivery not in ("push", "pull"):
            raise ValueError(f"delivery must be 'push' or 'pull', not {delivery!r}")
        with self._wake:
            if push_report_url is not _UNSET:
                self.push_report_url = push_report_url or None
            if push_mo_url is not _UNSET:
                self.push_mo_url = push_mo_url or None
            if delivery is not _UNSET:
                self.delivery = delivery
            if report_delay is not _UNSET:
                self.report_delay = float(report_delay)
            if push_headers is not _UNSET:
                self.push_headers = dict(push_headers or {})
            if push_retry_interval is not _UNSET:
                self.push_retry_interval = float(push_retry_interval)
            if push_timeout is not _UNSET:
                self.push_timeout = float(push_timeout)
            if honor_schedule is not _UNSET:
                self.honor_schedule = bool(honor_schedule)
            if fault_timeout is not _UNSET:
                self.fault_timeout = float(fault_timeout)
            if token_ttl is not _UNSET:
                self.token_ttl = float(token_ttl)
            self._wake.notify_all()
        return self

    def config(self) -> dict:
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
        chosen = {}
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

    def set_outcome(self, mobile_or_suffix: str, outcome: str) -> None:
        """Delivery outcome for a number, or for every number ending in a suffix.

        The longest matching key wins (a full number is its own longest suffix; ``""``
        matches every number). ``outcome`` is a name of ``OUTCOMES`` or a raw vendor code
        such as ``MA:0029``.
        """
        outcome = str(outcome)
        if outcome not in OUTCOMES and not is_vendor_code(outcome):
            raise ValueError(f"unknown outcome {outcome!r}: use one of {OUTCOMES} or a raw vendor code")
        with self._lock:
            self._outcome_rules[str(mobile_or_suffix)] = outcome

    def set_submit_result(self, mobile_or_suffix: str, code: Any) -> None:
        """Reject matching numbers at submit time with a vendor code.

        action_v1 answers it per recipient (``result``); the other vendors answer a whole
        call with that error code when any of its numbers matches. ``None`` removes the rule.
        """
        with self._lock:
            if code is None:
                self._submit_rules.pop(str(mobile_or_suffix), None)
            else:
                self._submit_rules[str(mobile_or_suffix)] = code

    def clear_rules(self) -> None:
        with self._lock:
            self._outcome_rules.clear()
            self._submit_rules.clear()

    def outcome_for(self, mobile: str) -> str:
        return _longest_suffix(self._outcome_rules, mobile, "delivered")

    def submit_result_for(self, mobile: str) -> Any:
        return _longest_suffix(self._submit_rules, mobile, None)

    def set_balance(self, balance: Any, **details: Any) -> None:
        """Set the balance (in the vendor's unit) and vendor fields such as ``charge_type``."""
        unknown = set(details) - set(self.DEFAULT_BALANCE_DETAILS)
        if unknown:
            raise TypeError(
                f"{self.vendor} balance has no field(s) {sorted(unknown)}; "
                f"known: {sorted(self.DEFAULT_BALANCE_DETAILS)}"
            )
        with self._lock:
            self.balance = balance
            self.balance_details.update(details)

    def inject_fault(
        self,
        kind: str,
        count: int = 1,
        path: str | None = None,
        seconds: float | None = None,
        then: str = "answer",
    ) -> None:
        """Make the next ``count`` matching vendor calls fail.

        ``5xx``: HTTP 503 (not processed). ``502``/``504``: a gateway error, processed or not
        as the reading ``gateway_error`` says. ``non_json``: HTTP 200 with an HTML page. ``timeout``: sleep
        ``seconds`` (default ``fault_timeout``) and then ``answer`` normally (the call IS
        processed, as a slow vendor would) or ``drop`` the connection unprocessed.
        ``path`` is a request path (``/sms/send``) or an endpoint key (``/sms?action=send``);
        ``None`` matches every vendor call.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {kind!r}")
        if then not in ("answer", "drop"):
            raise ValueError("then must be 'answer' or 'drop'")
        if int(count) < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._faults.append(
                {"kind": kind, "count": int(count), "path": path, "seconds": seconds, "then": then}
            )

    def inject_bad_record(self, kind: str = "report", count: int = 1) -> None:
        """The next ``count`` pushes or pulls carrying ``kind`` records (``report`` or ``mo``) hold
        one unreadable record among the good ones. The documents show only well-formed records,
        yet their JSON examples are not always valid (vendor-docs README): a receiver must keep
        the good ones. Vendors that push one object per POST (002, 003) garble pulls only."""
        if kind not in ("report", "mo"):
            raise ValueError("kind must be 'report' or 'mo'")
        if int(count) < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._bad_records[kind] += int(count)

    def with_bad_record(self, kind: str, records: list) -> list:
        """``records`` plus one unreadable record when one is due for this kind (pulls call this)."""
        with self._lock:
            if not records or self._bad_records[kind] <= 0:
                return records
            self._bad_records[kind] -= 1
        return [*records, dict(UNREADABLE_RECORD)]

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far (a reset secret)."""
        if self.tokens is None:
            raise NotImplementedError(f"{self.vendor} has no tokens: nothing to expire")
        with self._lock:
            self.tokens.expire_all()

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock forward: due reports fire, tokens and the 30-day
        window of intl_v1 age accordingly."""
        with self._wake:
            self._clock_offset += float(seconds)
            self._wake.notify_all()

    def now(self) -> float:
        return time.time() + self._clock_offset

    # ------------------------------------------------------------------ inspection

    @property
    def received(self) -> list[dict]:
        """Every vendor request received (control calls excluded), oldest first."""
        with self._lock:
            return list(self._received)

    def calls(self, path: str | None = None) -> int:
        """Vendor calls for a path or endpoint key (``/sms`` counts every action of
        action_v1, ``/sms?action=send`` only sends); all calls when ``path`` is None."""
        with self._lock:
            return sum(
                n
                for key, n in self._calls.items()
                if path is None or key == path or key.split("?")[0] == path
            )

    def calls_by_endpoint(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    @property
    def pushes(self) -> list[dict]:
        """Every push attempt: kind, url, body, headers, attempt, http_status, answer,
        accepted, error, time."""
        with self._lock:
            return [dict(p) for p in self._pushes]

    @property
    def messages(self) -> list[dict]:
        """One record per submitted recipient: id (the vendor message id), mobile,
        content, status (submitted, a final outcome name, or rejected), outcome, code,
        scheduled, submitted_at, due_at, reported_at and vendor extras."""
        with self._lock:
            return [dict(m) for m in self._messages]

    @property
    def mos(self) -> list[dict]:
        with self._lock:
            return [dict(m) for m in self._mos]

    def pending_pull(self) -> dict[str, int]:
        with self._lock:
            return {"reports": len(self._report_queue), "mo": len(self._mo_queue)}

    def state(self) -> dict:
        with self._lock:
            return {
                "vendor": self.vendor,
                "name": self.name,
                "url": self.url,
                "calls": dict(self._calls),
                "received": len(self._received),
                "pushes": self.pushes,
                "messages": self.messages,
                "mos": self.mos,
                "pending_pull": self.pending_pull(),
                "config": self.config(),
                "balance": self.balance,
                "faults": [dict(f) for f in self._faults],
                "readings": dict(self.readings),
                "bad_records_pending": {k: n for k, n in self._bad_records.items() if n > 0},
            }

    def wait_idle(self, timeout: float = 5.0, *, patience: float | None = None) -> bool:
        """Wait until every report/MO due within ``timeout`` (simulator seconds from now) is
        delivered (pushed with its retries done, or queued for pull). False if that did not happen
        within ``patience`` wall-clock seconds (default: ``timeout`` plus 30 s, so a loaded machine
        that runs the scheduler late does not fail a test that would pass on an idle one)."""
        with self._lock:
            horizon = self.now() + timeout
        deadline = time.monotonic() + (timeout + 30.0 if patience is None else patience)
        while True:
            with self._lock:
                pending = any(event[0] <= horizon for event in self._events)
                if not pending and self._inflight == 0 and self._busy == 0:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    # ------------------------------------------------------------------ MO

    def queue_mo(
        self, mobile: str, content: str, ext_no: str | None = None, delay: float = 0.0, **extra: Any
    ) -> dict:
        """An uplink message from ``mobile`` reaching the vendor ``delay`` seconds from now;
        then pushed or kept for pull per the delivery mode. ``ext_no`` is the extension
        (action_v1: the access code) the user replied to."""
        if not self.HAS_MO:
            raise NotImplementedError(f"{self.vendor} has no MO (uplink) in its document")
        arrives = self.now() + float(delay)
        mo = {
            "id": self.new_mo_id(),
            "mobile": str(mobile),
            "content": str(content),
            "ext_no": "" if ext_no is None else str(ext_no),
            "received_at": arrives,
            **extra,
        }
        with self._wake:
            self._mos.append(mo)
            self._schedule(arrives, "mo", mo)
        return dict(mo)

    def new_mo_id(self) -> str:
        return str(next(self._ids))

    # ------------------------------------------------------------------ messages (for vendors)

    def new_message(
        self,
        msg_id: Any,
        mobile: str,
        content: str,
        *,
        scheduled: float | None = None,
        scheduled_text: str | None = None,
        outcome: str | None = None,
        **extra: Any,
    ) -> dict:
        """Record one accepted recipient and schedule its report."""
        now = self.now()
        outcome = outcome or self.outcome_for(mobile)
        start = now
        if scheduled is not None and self.honor_schedule:
            start = max(now, scheduled)
        msg = {
            "id": str(msg_id),
            "mobile": mobile,
            "content": content,
            "status": "submitted",
            "outcome": outcome,
            "code": self.report_code(outcome),
            "scheduled": scheduled_text,
            "submitted_at": now,
            "due_at": start + self.report_delay,
            "reported_at": None,
            **extra,
        }
        with self._wake:
            self._messages.append(msg)
            if outcome != "none":
                self._schedule(msg["due_at"], "report", msg)
        return msg

    def record_rejected(self, msg_id: Any, mobile: str, content: str, code: Any, **extra) -> dict:
        """Record a recipient refused at submit time (no report will come)."""
        msg = {
            "id": str(msg_id),
            "mobile": mobile,
            "content": content,
            "status": "rejected",
            "outcome": None,
            "code": code,
            "scheduled": None,
            "submitted_at": self.now(),
            "due_at": None,
            "reported_at": None,
            **extra,
        }
        with self._lock:
            self._messages.append(msg)
        return msg

    def find_messages(self, predicate: Callable[[dict], bool]) -> list[dict]:
        with self._lock:
            return [m for m in self._messages if predicate(m)]

    def take_reports(
        self, limit: int | None = None, predicate: Callable[[dict], bool] | None = None
    ) -> list[dict]:
        """Hand out queued reports once (pulls are destructive)."""
        return self._take(self._report_queue, limit, predicate)

    def take_mos(
        self, limit: int | None = None, predicate: Callable[[dict], bool] | None = None
    ) -> list[dict]:
        return self._take(self._mo_queue, limit, predicate)

    def _take(self, queue: list, limit, predicate) -> list[dict]:
        # Under the reading pull_handout=twice (documents silent on it) a record stays queued
        # until a second pull has handed it out as well.
        handouts = 2 if self.readings.get("pull_handout") == "twice" else 1
        with self._lock:
            taken, kept = [], []
            for item in queue:
                if (limit is None or len(taken) < limit) and (predicate is None or predicate(item)):
                    taken.append(item)
                    seen = self._handed_out.get(id(item), 0) + 1
                    if seen < handouts:
                        self._handed_out[id(item)] = seen
                        kept.append(item)
                    else:
                        self._handed_out.pop(id(item), None)
                else:
                    kept.append(item)
            queue[:] = kept
            return taken

    def fmt_time(self, epoch: float, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        return datetime.fromtimestamp(epoch, self.tz).strftime(fmt)

    def parse_time(self, text: str, fmt: str) -> float:
        """Vendor local time text -> epoch seconds (raises ValueError when malformed)."""
        parsed = datetime.strptime(text, fmt)
        if parsed.strftime(fmt) != text:  # strptime accepts unpadded fields; vendors do not
            raise ValueError(f"{text!r} does not match {fmt}")
        return parsed.replace(tzinfo=self.tz).timestamp()

    # ------------------------------------------------------------------ vendor hooks

    def reject(self, code: Any, reason: str, http_status: int = 200) -> VendorError:
        """Build (not raise) the vendor's error answer; handlers ``raise self.reject(...)``."""
        return VendorError(json_reply({"code": code, "message": reason}, http_status), reason)

    def endpoint_key(self, req: SimRequest) -> str:
        return req.path

    def report_code(self, outcome: str) -> Any:
        """The vendor's report code for an outcome name (a raw code passes through)."""
        return self.OUTCOME_CODES.get(outcome, outcome)

    def report_push_bodies(self, reports: list[dict]) -> list[Any]:
        raise NotImplementedError

    def mo_push_bodies(self, mos: list[dict]) -> list[Any]:
        raise NotImplementedError

    def push_request_headers(self) -> dict[str, str]:
        return {}

    def ack_ok(self, kind: str, status: int | None, answer: str) -> bool:
        return status == 200

    def build_pushes(self, reports: list[dict], mos: list[dict]) -> list[dict]:
        """Push requests for due records: reports to the report URL, MO to the MO URL."""
        pushes = [
            {"kind": "report", "url": self.push_report_url, "body": body}
            for body in (self.report_push_bodies(reports) if reports else [])
        ]
        pushes += [
            {"kind": "mo", "url": self.push_mo_url, "body": body}
            for body in (self.mo_push_bodies(mos) if mos else [])
        ]
        return pushes

    def push_targets(self) -> tuple[str | None, str | None]:
        """(report URL, MO URL) actually used for pushing; None keeps that kind for pull."""
        if self.delivery != "push":
            return None, None
        return self.push_report_url, self.push_mo_url

    # ------------------------------------------------------------------ scheduler

    def _schedule(self, due: float, kind: str, payload: Any) -> None:
        # caller holds the lock
        heapq.heappush(self._events, (due, next(self._seq), kind, payload))
        self._wake.notify_all()

    def _run_scheduler(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                now = self.now()
                due = []
                while self._events and self._events[0][0] <= now:
                    due.append(heapq.heappop(self._events))
                if not due:
                    wait = 0.05 if not self._events else min(max(self._events[0][0] - now, 0.001), 0.05)
                    self._wake.wait(wait)
                    continue
                self._busy += 1
            try:
                self._process_due(due)
            except Exception:  # never let one bad record stop the scheduler
                log.exception("%s simulator: delivering due records failed", self.vendor)
            finally:
                with self._lock:
                    self._busy -= 1

    def _process_due(self, events: list[tuple]) -> None:
        reports = [payload for _, _, kind, payload in events if kind == "report"]
        mos = [payload for _, _, kind, payload in events if kind == "mo"]
        retries = [payload for _, _, kind, payload in events if kind == "retry"]
        report_url, mo_url = self.push_targets()
        with self._lock:
            for msg in reports:
                msg["status"] = msg["outcome"]
                msg["reported_at"] = self.now()
            if not report_url and self.REPORT_QUEUE:
                self._report_queue.extend(reports)
            if not mo_url:
                self._mo_queue.extend(mos)
        pushes = self.build_pushes(reports if report_url else [], mos if mo_url else [])
        for push in pushes:
            push["body"] = self._garble_push(push)
        for push in pushes:
            self._start_push(dict(push, attempt=1))
        for push in retries:
            self._start_push(push)

    # ------------------------------------------------------------------ pushes

    def _garble_push(self, push: dict) -> Any:
        body = push["body"]
        kinds = ("report", "mo") if push["kind"] == "mixed" else (push["kind"],)
        for kind in kinds:
            if isinstance(body, list):
                garbled = self.with_bad_record(kind, body)
                if garbled is not body:
                    return garbled
            elif isinstance(body, dict) and isinstance(body.get("data"), list):
                data = self.with_bad_record(kind, body["data"])
                if data is not body["data"]:
                    return (
                        {**body, "count": len(data), "data": data}
                        if "count" in body
                        else {**body, "data": data}
                    )
        return body

    def _start_push(self, push: dict) -> None:
        with self._lock:
            self._inflight += 1
        threading.Thread(target=self._do_push, args=(push,), daemon=True, name=f"{self.vendor}-push").start()

    def _do_push(self, push: dict) -> None:
        try:
            data = json.dumps(push["body"], ensure_ascii=False).encode("utf-8")
            headers = {
                "Content-Type": "application/json;charset=UTF-8",
                **self.push_request_headers(),
                **self.push_headers,
            }
            status, answer, error = None, "", None
            try:
                status, answer = _post(push["url"], data, headers, self.push_timeout)
            except Exception as exc:  # refused, reset, timed out: the push failed
                error = f"{type(exc).__name__}: {exc}"
            accepted = error is None and self.ack_ok(push["kind"], status, answer)
            record = {
                "kind": push["kind"],
                "url": push["url"],
                "body": push["body"],
                "headers": headers,
                "attempt": push["attempt"],
                "http_status": status,
                "answer": answer,
                "accepted": accepted,
                "error": error,
                "time": time.time(),
            }
            with self._wake:
                self._pushes.append(record)
                if not accepted and push["attempt"] <= self.push_retries and not self._stopping.is_set():
                    retry = dict(push, attempt=push["attempt"] + 1)
                    self._schedule(self.now() + self.push_retry_interval, "retry", retry)
        except Exception:
            log.exception("%s simulator: push failed unexpectedly", self.vendor)
        finally:
            with self._lock:
                self._inflight -= 1

    # ------------------------------------------------------------------ HTTP

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        split = urllib.parse.urlsplit(handler.path)
        path = split.path or "/"
        if self.path_prefix and path.startswith(self.path_prefix):
            path = path[len(self.path_prefix) :] or "/"
        req = SimRequest(handler.command, path, split.query, handler.headers, body)

        if path == "/_sim" or path.startswith("/_sim/"):
            _write_reply(handler, self._control(req))
            return

        endpoint = self.endpoint_key(req)
        with self._lock:
            self._received.append(req.record(endpoint))
            self._calls[endpoint] += 1
            fault = self._take_fault(req.path, endpoint)

        if fault is None:
            reply = self._dispatch(req)
        elif fault["kind"] == "5xx":
            reply = text_reply(
                "<html><body><h1>503 Service Unavailable</h1><p>simulated fault</p></body></html>",
                503,
                "text/html;charset=UTF-8",
            )
        elif fault["kind"] in ("502", "504"):
            if self.reading("gateway_error") == "forwarded":
                self._dispatch(req)  # the vendor acted on it; its answer is lost behind the gateway
            reply = text_reply(
                f"<html><body><h1>{fault['kind']} Bad Gateway</h1><p>simulated gateway</p></body></html>",
                int(fault["kind"]),
                "text/html;charset=UTF-8",
            )
        elif fault["kind"] == "non_json":
            reply = text_reply(
                "<!DOCTYPE html><html><head><title>Gateway</title></head>"
                "<body>simulated non-JSON answer</body></html>",
                200,
                "text/html;charset=UTF-8",
            )
        else:  # timeout
            seconds = self.fault_timeout if fault["seconds"] is None else float(fault["seconds"])
            self._stopping.wait(seconds)
            if fault["then"] == "drop":
                handler.close_connection = True
                with contextlib.suppress(OSError):
                    handler.connection.shutdown(socket.SHUT_RDWR)
                return
            reply = self._dispatch(req)
        _write_reply(handler, reply)

    def _take_fault(self, path: str, endpoint: str) -> dict | None:
        # caller holds the lock
        for fault in self._faults:
            if fault["path"] in (None, path, endpoint):
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _dispatch(self, req: SimRequest) -> Reply:
        route = self.ROUTES.get(req.path)
        try:
            if route is None:
                raise self.reject(self.PARAM_ERROR, f"unknown path {req.path} for {self.vendor}", 404)
            methods, handler_name = route
            if req.method not in methods:
                raise self.reject(
                    self.PARAM_ERROR,
                    f"method {req.method} not allowed on {req.path}; the document says {'/'.join(methods)}",
                    405,
                )
            return getattr(self, handler_name)(req)
        except VendorError as exc:
            return exc.reply
        except Exception as exc:  # a simulator bug must not look like a hang
            log.exception("%s simulator: handler crashed", self.vendor)
            return self.reject(self.PARAM_ERROR, f"simulator internal error: {exc!r}", 500).reply

    # ------------------------------------------------------------------ control API

    def _control(self, req: SimRequest) -> Reply:
        action = req.path[len("/_sim") :] or "/"
        body = req.json if isinstance(req.json, dict) else {}
        if req.method == "POST" and req.text.strip() and not isinstance(req.json, dict):
            return json_reply({"ok": False, "error": "control API expects a JSON object body"}, 400)
        try:
            if req.method == "GET" and action == "/state":
                return json_reply(self.state())
            if req.method == "GET" and action == "/received":
                return json_reply(self.received)
            if req.method == "GET" and action == "/readings":
                return json_reply(
                    {
                        name: {**spec.as_dict(), "chosen": self.readings[name]}
                        for name, spec in self.reading_specs().items()
                    }
                )
            if req.method != "POST":
                return json_reply({"ok": False, "error": f"no control endpoint {req.method} {req.path}"}, 404)
            if action == "/mo":
                mo = self.queue_mo(
                    body["mobile"], body["content"], ext_no=body.get("ext_no"), delay=body.get("delay", 0.0)
                )
                return json_reply({"ok": True, "mo": mo})
            if action == "/fault":
                self.inject_fault(
                    body["kind"],
                    count=body.get("count", 1),
                    path=body.get("path"),
                    seconds=body.get("seconds"),
                    then=body.get("then", "answer"),
                )
            elif action == "/bad-record":
                self.inject_bad_record(body.get("kind", "report"), count=body.get("count", 1))
            elif action == "/expire-tokens":
                self.expire_tokens()
            elif action == "/outcome":
                self.set_outcome(body["mobile"], body["outcome"])
            elif action == "/submit-result":
                self.set_submit_result(body["mobile"], body.get("code"))
            elif action == "/configure":
                self.configure(**body)
            elif action == "/balance":
                self.set_balance(body.pop("balance"), **body)
            elif action == "/advance-clock":
                self.advance_clock(body["seconds"])
            else:
                return json_reply({"ok": False, "error": f"no control endpoint POST {req.path}"}, 404)
            return json_reply({"ok": True})
        except KeyError as exc:
            return json_reply({"ok": False, "error": f"missing field {exc}"}, 400)
        except (TypeError, ValueError, NotImplementedError) as exc:
            return json_reply({"ok": False, "error": str(exc)}, 400)


def _longest_suffix(rules: dict[str, Any], mobile: str, default: Any) -> Any:
    best = None
    for key in rules:
        if mobile.endswith(key) and (best is None or len(key) > len(best)):
            best = key
    return default if best is None else rules[best]


def _post(url: str, data: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST with http.client, which keeps header names as written (``appKey``, not the
    ``Appkey`` urllib would send) and never goes through a proxy."""
    split = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if split.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(split.hostname, split.port, timeout=timeout)
    try:
        target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        connection.request("POST", target, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


def _write_reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    try:
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (e.g. its own timeout): nothing left to answer


def _make_handler(sim: BaseSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"{sim.vendor}-simulator"

        def _serve(self) -> None:
            sim._handle(self)

        # http.server dispatches on do_<METHOD>; unknown methods get the vendor's 405
        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s %s", sim.vendor, fmt % args)

    return Handler


def iter_chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
