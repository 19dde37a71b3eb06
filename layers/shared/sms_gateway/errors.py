"""Domain exceptions. Handlers map them to HTTP answers or batch outcomes in one place each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sms_gateway.models import SubmitOutcome


class SmsGatewayError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(SmsGatewayError):
    """The deployment is misconfigured (environment, accounts document). Retrying later may help."""


class InvalidSendRequest(SmsGatewayError):
    """A send request that can never succeed: it is answered with SMS Submit Failed, never retried."""


class UnknownAccount(SmsGatewayError):
    def __init__(self, name: str | None) -> None:
        super().__init__(f"unknown account {name!r}" if name else "no default account configured")
        self.name = name


class UnsupportedRecipient(InvalidSendRequest):
    """A number the vendor cannot deliver to (for example a foreign number on a domestic gateway)."""


class VendorUnavailable(SmsGatewayError):
    """A vendor call that failed without a final answer. sms_gateway.failures decides which.

    ``ambiguous`` is True when the vendor may have acted on the request (the answer was lost after
    the request left), so resending could deliver the SMS twice; False when nothing was sent.
    ``decided`` holds the outcomes of recipients an adapter settled in earlier calls of the same
    submission (a split call): they are recorded, and only the others share this failure.
    """

    def __init__(
        self, reason: str, *, ambiguous: bool = False, decided: Sequence[SubmitOutcome] = ()
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous
        self.decided = tuple(decided)


class VendorRefusedHttp(VendorUnavailable):
    """The vendor answered HTTP 4xx: it read the call and refused it, so nothing was sent."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


class SubmitRejected(SmsGatewayError):
    """The vendor refused a whole call for a reason that resending will not fix."""

    def __init__(self, vendor_status: str, description: str) -> None:
        super().__init__(f"{vendor_status}: {description}")
        self.vendor_status = vendor_status
        self.description = description


class PushRejected(SmsGatewayError):
    """A pushed body that cannot be parsed or is not in the vendor's format (answered 400)."""


class PushTooLarge(PushRejected):
    """A pushed body above the size bound (answered 413; a sample of it is kept)."""


class StorageUnavailable(SmsGatewayError):
    """Our table failed in a way that may heal (throttling, an outage): answered 503."""


class PushUnauthorized(SmsGatewayError):
    """A push whose token or vendor credentials do not match (answered 401)."""


class NotFound(SmsGatewayError):
    """An unknown account or route (answered 404)."""
