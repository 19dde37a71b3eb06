"""The one place that creates Logger, Tracer and Metrics; everything else imports them.

Every log line and every HTTP error answer goes through ``redact``, so that neither a full phone
number nor a secret can leave the process, whatever a vendor or a backend put into the text
(an exception quoting a raw field, an extra key holding a pushed value):

* a full number is masked with ``phone.mask`` (``+86*******8000``, ``138****8000``). What counts
  as a full number: ``+`` followed by 8 to 15 digits (E.164), and a Chinese mobile, ``1[3-9]``
  and nine more digits, alone or after ``86``/``0086`` (the forms vendors use on the wire), when
  not part of a longer run of digits. Both are found inside longer strings (``tel13800138000``).
  Other digit runs (timestamps, vendor ids, amounts) are left alone: they are needed to debug.
* every registered secret (account credentials and callback tokens when the accounts document is
  parsed, vendor access tokens when they are fetched or read) is replaced with ``***`` wherever it
  stands between non-alphanumeric characters. Values shorter than ``MIN_SECRET_LENGTH`` are not
  registered: they are identifiers rather than secrets, and masking them would garble unrelated
  text.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from sms_gateway.phone import mask

MIN_SECRET_LENGTH = 6
SECRET_MASK = "***"  # noqa: S105 - the replacement, not a password

# E.164 first, so that "+8613800138000" is masked as one number rather than as "+86" and a mobile.
PHONE_NUMBER = re.compile(r"\+\d{8,15}(?!\d)|(?<!\d)(?:0086|86)?1[3-9]\d{9}(?!\d)")

_secrets: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def register_secret(value: object) -> None:
    """From now on, ``value`` is replaced by ``***`` in every log line and HTTP answer."""
    global _secret_pattern  # noqa: PLW0603 - one registry per process, shared by every logger call
    text = str(value) if value is not None else ""
    if len(text) < MIN_SECRET_LENGTH or text in _secrets:
        return
    with _lock:
        _secrets.add(text)
        # Longest first, so that a secret containing another is masked whole.
        alternatives = "|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True))
        _secret_pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")


def redact(text: str) -> str:
    """``text`` with every registered secret replaced and every full phone number masked."""
    pattern = _secret_pattern
    if pattern is not None:
        text = pattern.sub(SECRET_MASK, text)
    return PHONE_NUMBER.sub(lambda m: mask(m.group()), text)


def redact_value(value: Any) -> Any:
    """A JSON-able copy of a log record's value with every string (and number-like int) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int | Decimal):
        text = str(value)
        masked = redact(text)
        return value if masked == text else masked
    if isinstance(value, dict):
        return {redact(str(k)): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    # What Powertools would have done (json_default=str), but redacted.
    return redact(str(value))


# ---------------------------------------------------------------- metrics per vendor and account
# Dimension values are bounded: vendors and account names come from the accounts document, a
# status class or a reason from our own tables or the vendor's code table; a value the caller
# cannot name (an unknown account on a callback) is this one.
UNKNOWN_DIMENSION = "unknown"
# Every metric goes out twice: with all its dimensions, and rolled up to these alone, so an alarm
# can watch a vendor (or everything) without knowing the account names, which live in SSM.
VENDOR_ROLLUP: tuple[str, ...] = ("vendor",)
NO_ROLLUP: tuple[str, ...] = ()


class MetricBatch:
    """Metrics with their own dimensions, gathered over a batch and emitted once per dimension set.

    Powertools' ``metrics`` carries one dimension set per invocation (service); a batch touches
    many vendors and accounts, so each set is one EMF document of its own (``EphemeralMetrics``),
    all values of a metric in one array: a batch of 100 stream records is a handful of lines.
    """

    def __init__(self) -> None:
        self._sets: dict[tuple[tuple[str, str], ...], list[tuple[str, MetricUnit, float]]] = {}

    def add(
        self,
        name: str,
        value: float = 1,
        *,
        unit: MetricUnit = MetricUnit.Count,
        dimensions: Mapping[str, str | None],
        rollups: Sequence[Sequence[str]] = (VENDOR_ROLLUP,),
    ) -> None:
        full = tuple((k, v or UNKNOWN_DIMENSION) for k, v in dimensions.items())
        for keys in (tuple(k for k, _ in full), *rollups):
            dims = tuple((k, v) for k, v in full if k in keys)
            self._sets.setdefault(dims, []).append((name, unit, float(value)))

    def flush(self) -> None:
        sets, self._sets = self._sets, {}
        for dims, values in sets.items():
            emf = EphemeralMetrics(namespace=metrics.namespace, service=metrics.service)
            for key, value in dims:
                emf.add_dimension(name=key, value=value)
            for name, unit, amount in values:
                emf.add_metric(name=name, unit=unit, value=amount)
            # Powertools flushes by itself at 100 values of a metric: nothing may be left.
            if emf.metric_set:
                emf.flush_metrics()


def emit(
    name: str,
    value: float = 1,
    *,
    unit: MetricUnit = MetricUnit.Count,
    dimensions: Mapping[str, str | None],
    rollups: Sequence[Sequence[str]] = (VENDOR_ROLLUP,),
) -> None:
    """One metric now, with ``dimensions`` and its roll-ups (see ``MetricBatch``)."""
    batch = MetricBatch()
    batch.add(name, value, unit=unit, dimensions=dimensions, rollups=rollups)
    batch.flush()


def status_class(status_code: int) -> str:
    """``2xx``, ``4xx``, ``5xx``: the dimension of callback answers."""
    return f"{status_code // 100}xx"


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, redacting the whole record (message, extra keys, exception text)."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        return super().serialize(redact_value(log))


class RedactingTextFormatter(logging.Formatter):
    """For stdlib handlers: the handler's own formatting, then redaction of the whole text.

    A formatter rather than a filter, because a filter would have to rewrite the shared record,
    which every later handler (and the original message) would then see rewritten.
    """

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self._inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return redact(self._inner.format(record))


def _logger() -> Logger:
    created = Logger(logger_formatter=RedactingFormatter())
    # Records of other libraries (botocore, urllib3, requests) that reach the root logger go
    # through the same redaction when the runtime's handler writes them.
    for handler in logging.getLogger().handlers:
        if not isinstance(handler.formatter, RedactingTextFormatter):
            handler.setFormatter(RedactingTextFormatter(handler.formatter))
    return created


logger = _logger()
# Only the clients the functions use: the default (patch_all) imports every library X-Ray can
# trace (requests, sqlite3, httplib, ...) into every function, whether it calls them or not.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()


def trace_requests() -> None:
    """Vendor calls as X-Ray subsegments; http.py calls it where it first imports requests."""
    tracer.patch(("requests",))
