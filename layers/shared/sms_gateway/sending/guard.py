"""What the send path asks of protection (sms_gateway.protection): screen a claimed request,
settle what its recipients reserved once their calls are decided, and carry out cancels.

A port, so that the send path does not import the protection modules (they import its steps);
``Unguarded`` lets everything through, for tests of the send path alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from sms_gateway.models import RecipientRecord

if TYPE_CHECKING:
    from sms_gateway.protection.cancel import CancelRequest
    from sms_gateway.sending.dispatch import RecipientResult
    from sms_gateway.sending.plan import Call, Work


class Guard(Protocol):
    def screen(self, work: Work) -> tuple[Work, list[RecipientRecord]]: ...
    def settle(self, call: Call, results: Sequence[RecipientResult]) -> None: ...
    def release_unsent(self) -> None: ...
    def cancel(self, request: CancelRequest) -> None: ...


class Unguarded:
    def screen(self, work: Work) -> tuple[Work, list[RecipientRecord]]:
        return work, []

    def settle(self, call: Call, results: Sequence[RecipientResult]) -> None:
        return None

    def release_unsent(self) -> None:
        return None

    def cancel(self, request: CancelRequest) -> None:
        raise NotImplementedError("cancel needs the protection guard (runtime.send_service)")
