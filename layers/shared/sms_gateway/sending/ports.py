"""What the send path needs from the store, the accounts and the vendor adapters, and nothing more.

The concrete Store, AccountRegistry and VendorAdapter satisfy these (checked by mypy below); the
unit tests give the send path fakes typed by them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from sms_gateway.accounts import Account
from sms_gateway.models import RecipientRecord, Submission, SubmitOutcome

if TYPE_CHECKING:
    from sms_gateway.accounts import AccountRegistry
    from sms_gateway.store.facade import Store
    from sms_gateway.store.requests import Claim
    from sms_gateway.vendors.base import VendorAdapter


class SendStore(Protocol):
    def claim_request(
        self,
        message_id: str,
        account: str,
        lease_seconds: int,
        inflight: Iterable[str] = (),
        *,
        content: str | None = None,
    ) -> Claim: ...
    def recorded_recipients(self, message_id: str) -> set[str]: ...
    def mark_inflight(self, message_id: str, recipients: Iterable[str]) -> None: ...
    def release_request(self, message_id: str, not_sent: Iterable[str] = ()) -> None: ...
    def finish_request(self, message_id: str) -> None: ...
    def record_submissions(
        self, records: list[RecipientRecord], *, fresh: bool = False, since: float | None = None
    ) -> list[bool]: ...
    def record_and_finish(self, message_id: str, records: list[RecipientRecord], since: float) -> bool: ...


class AccountSource(Protocol):
    def get(self, name: str | None) -> Account: ...
    def find(self, name: str) -> Account | None: ...


class CallLimits(Protocol):
    """What planning needs to know about a vendor: its limits per call and its number format."""

    @property
    def max_recipients_per_call(self) -> int: ...
    @property
    def max_numbers_chars(self) -> int | None: ...
    def vendor_number(self, e164: str) -> str: ...


class SendAdapter(CallLimits, Protocol):
    @property
    def vendor(self) -> str: ...
    @property
    def account(self) -> Account: ...
    @property
    def supports_templates(self) -> bool: ...
    @property
    def supports_p2p(self) -> bool: ...
    @property
    def native_scheduling(self) -> bool: ...
    def submit(self, submission: Submission) -> list[SubmitOutcome]: ...


AdapterFactory = Callable[[Account], SendAdapter]
Requeue = Callable[[str, int], None]


if TYPE_CHECKING:

    def _conforms(
        store: Store, registry: AccountRegistry, adapter: VendorAdapter
    ) -> tuple[SendStore, AccountSource, SendAdapter]:
        return store, registry, adapter
