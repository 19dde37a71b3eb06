"""One classification of failed vendor calls, shared by the HTTP client, every adapter and the send logic.

- **Not sent**: the request never reached the vendor, or the vendor answered that it did not take
  it. Connection refused, a connect timeout, HTTP 429 and the vendor's own 5xx, a refusal code in
  an answer, a token fetch that failed in any way (nothing is sent by fetching a token). Safe to
  try again: the message goes back to SQS (``VendorUnavailable``), or its recipients fail for
  good when the refusal is documented as final (``SubmitRejected``).
- **May have been sent**: the request was written and no readable answer came back. A read
  timeout, a connection reset, a garbled answer, and a gateway's 502/504 (a proxy in front of
  the vendor may have forwarded the request before its upstream failed). The recipients become
  `unknown` and are never resent to any vendor: no vendor document promises to recognise a
  resubmission, and a duplicate SMS costs money and trust.

Only a call that can deliver an SMS (``sends=True``) is ever "may have been sent": a token fetch,
a poll or a balance query that fails is simply tried again later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from sms_gateway.errors import SubmitRejected, VendorUnavailable
from sms_gateway.models import OutboundItem, Status, SubmitOutcome

if TYPE_CHECKING:
    import requests

# A proxy or load balancer answers these when its upstream failed or did not answer in time:
# the request may have reached the vendor.
GATEWAY_STATUS: Final = frozenset({502, 504})
# The vendor itself answered it could not take the call now (throttling, overload, its own error).
NOT_SENT_STATUS: Final = frozenset({429, 500, 501, 503, 505})


# Words a refusal that is about the token carries (neither token document lists a code for it).
TOKEN_WORDS: Final = ("token", "令牌", "鉴权")


def names_token(message: str) -> bool:
    """The vendor's message says its refusal is about the token (or the credentials behind it)."""
    lowered = message.lower()
    return any(word in lowered for word in TOKEN_WORDS)


def transport(exc: requests.RequestException, where: str, *, sends: bool) -> VendorUnavailable:
    """A request that got no HTTP answer."""
    # Imported here: the callback and publish functions classify no transport failure, and
    # requests costs their cold start ~100 ms (requests raised exc, so it is loaded by now).
    import requests  # noqa: PLC0415
    from urllib3.exceptions import MaxRetryError, NewConnectionError  # noqa: PLC0415

    # Raised by requests before it writes anything.
    before_sending = (
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
        requests.exceptions.InvalidHeader,
        requests.exceptions.URLRequired,
    )
    if isinstance(exc, requests.ConnectTimeout):
        return VendorUnavailable(f"connect timeout to {where}")
    if isinstance(exc, requests.ConnectionError):
        cause = exc.args[0] if exc.args else None
        refused = isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)
        # Refused before anything was written: nothing left. A reset after the request went out
        # may come after the vendor acted on it.
        return VendorUnavailable(f"connection error to {where}", ambiguous=sends and not refused)
    if isinstance(exc, requests.Timeout):
        return VendorUnavailable(f"no answer from {where} in time", ambiguous=sends)
    if isinstance(exc, before_sending):
        return VendorUnavailable(f"cannot call {where} ({type(exc).__name__})")
    return VendorUnavailable(f"request to {where} failed ({type(exc).__name__})", ambiguous=sends)


def http_status(status: int, where: str, *, sends: bool) -> VendorUnavailable | None:
    """The failure an HTTP status means, or None when the body has to be read to tell."""
    if status in GATEWAY_STATUS:
        return VendorUnavailable(f"{where} answered HTTP {status} (a gateway error)", ambiguous=sends)
    if status in NOT_SENT_STATUS:
        return VendorUnavailable(f"{where} answered HTTP {status}")
    return None


def garbled(where: str, detail: str, *, sends: bool) -> VendorUnavailable:
    """An answer we cannot read: the vendor may have taken the call before writing it."""
    return VendorUnavailable(f"{where} {detail}", ambiguous=sends)


def outcomes(
    items: Sequence[OutboundItem], status: Status, vendor_status: str, description: str
) -> list[SubmitOutcome]:
    return [SubmitOutcome(i.message_id, i.recipient, status, None, vendor_status, description) for i in items]


def unknown(items: Sequence[OutboundItem], reason: str) -> list[SubmitOutcome]:
    return outcomes(items, Status.UNKNOWN, "no_answer", f"{reason}; not resent to avoid a duplicate")


PartCall = Callable[[list[OutboundItem]], list[SubmitOutcome]]


def submit_in_parts(
    parts: list[list[OutboundItem]],
    call: PartCall,
    *,
    split: Callable[[SubmitRejected, list[OutboundItem]], list[list[OutboundItem]] | None] | None = None,
    max_calls: int = 64,
) -> list[SubmitOutcome]:
    """Several vendor calls for one submission, each part on its own.

    A refused part is failed, unless ``split`` gives smaller parts to try instead (the refusal
    meant "too many" or "one of these numbers"); a refused call was not sent, so resending its
    recipients in other calls cannot deliver twice. A part whose answer was lost is `unknown`, and
    the next parts are still sent (they are other calls). A part that was not sent for a
    transient reason stops the submission: the outcomes so far travel with the error in
    ``decided`` and the rest go back to the queue. ``max_calls`` bounds the calls of a refusal
    that splitting never gets past. A submission that stays one call raises as that call did.
    """
    decided: list[SubmitOutcome] = []
    pending = [part for part in parts if part]
    calls = 0
    while pending:
        part = pending.pop(0)
        calls += 1
        try:
            decided += call(part)
        except SubmitRejected as exc:
            smaller = split(exc, part) if split is not None else None
            if smaller and calls + len(smaller) <= max_calls:
                pending[:0] = smaller
            elif calls == 1 and not pending:
                raise
            else:
                decided += outcomes(part, Status.FAILED, exc.vendor_status, exc.description)
        except VendorUnavailable as exc:
            if calls == 1 and not pending:
                raise
            decided += exc.decided
            if exc.ambiguous:
                done = {(o.message_id, o.recipient) for o in exc.decided}
                decided += unknown([i for i in part if (i.message_id, i.recipient) not in done], exc.reason)
                continue
            raise VendorUnavailable(exc.reason, decided=decided) from exc
    return decided


def halves(items: list[OutboundItem]) -> list[list[OutboundItem]] | None:
    """Two halves of a refused call, to find the one number it was refused for."""
    if len(items) < 2:
        return None
    middle = len(items) // 2
    return [items[:middle], items[middle:]]


def chunked(items: list[OutboundItem], size: int) -> list[list[OutboundItem]]:
    return [items[start : start + size] for start in range(0, len(items), size)]
