"""The vendor adapter interface. A vendor is one module in this package with one subclass of it.

Adding a vendor means: a module with its adapter, its code tables and its tests, and one line in
vendors/catalogue.py. Nothing in the handlers or the send/ingest/poll logic changes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from sms_gateway import failures
from sms_gateway.accounts import Account
from sms_gateway.errors import PushRejected, VendorRefusedHttp, VendorUnavailable
from sms_gateway.http import VendorHttp
from sms_gateway.limits import MAX_PUSH_BYTES, InputRefused, load_json
from sms_gateway.models import (
    BalanceIn,
    HttpAnswer,
    InboundIn,
    PendingRecipient,
    PullSink,
    PushBatch,
    PushRequest,
    ReportIn,
    Submission,
    SubmitOutcome,
    Unreadable,
)
from sms_gateway.observability import logger
from sms_gateway.phone import cn_national, redact_numbers
from sms_gateway.tokens import TokenCache
from sms_gateway.vendors import catalogue
from sms_gateway.vendors.settings import VendorCredentials, VendorOptions, parse

# Gives an adapter the recipients still waiting for a report (oldest first, at most ``limit``).
PendingSource = Callable[[int], list[PendingRecipient]]
T = TypeVar("T")
A = TypeVar("A")


class VendorAdapter(ABC):
    vendor: ClassVar[str]
    # Grouping and chunking in the send logic come from these declarations, never from constants.
    max_recipients_per_call: ClassVar[int]
    supports_templates: ClassVar[bool] = False
    supports_p2p: ClassVar[bool] = False  # one call, a different text per recipient
    native_scheduling: ClassVar[bool] = False  # the vendor holds a message until send_at
    # The most characters the joined numbers of one call may take (a vendor field length), if any.
    max_numbers_chars: ClassVar[int | None] = None
    push_kinds: ClassVar[frozenset[str]] = frozenset()  # callback kinds this vendor pushes
    pulls_reports: ClassVar[bool] = False
    pulls_inbound: ClassVar[bool] = False
    # Once a push's raw body is stored, ack it even if applying it fails (it is replayed later):
    # for vendors that push once and never again.
    ack_once_stored: ClassVar[bool] = False

    # The vendor's models of the account's `credentials` and `options` (checked when the
    # accounts document loads); subclasses narrow `credentials` and `options` to them.
    credentials_model: ClassVar[type[VendorCredentials]]
    options_model: ClassVar[type[VendorOptions]]
    credentials: VendorCredentials
    options: VendorOptions

    def __init__(self, account: Account, http: VendorHttp, tokens: TokenCache | None = None) -> None:
        self.account = account
        self.http = http
        self.tokens = tokens
        self._own_token: str | None = None  # only when built without a shared TokenCache
        # Validated again here for accounts built without the document (a ConfigurationError,
        # before any call): an adapter never starts on a missing credential.
        self.credentials = parse(
            self.credentials_model, account.credentials, account=account.name, field="credentials"
        )
        self.options = parse(self.options_model, account.options, account=account.name, field="options")

    def token(self, fetch: Callable[[], tuple[str, int]]) -> str:
        """A valid access token: shared through the table (TokenCache), or this instance's own.

        A fetch that fails in any way sent nothing: it is never ambiguous, whatever the HTTP
        client made of a lost answer.
        """
        try:
            if self.tokens is not None:
                return self.tokens.get(fetch)
            if self._own_token is None:
                self._own_token = fetch()[0]
            return self._own_token
        except VendorUnavailable as exc:
            raise VendorUnavailable(f"no token: {exc.reason}") from exc

    def with_token(
        self,
        fetch: Callable[[], tuple[str, int]],
        call: Callable[[str], A],
        refusal: Callable[[A], str | None],
        where: str,
    ) -> A:
        """``call`` with the shared token, renewed once when the vendor refuses it.

        ``refusal`` gives the vendor's message when an answer is a refusal (any refusal that is
        not a documented content, number or balance error: the documents give no code for a stale
        token), None otherwise; HTTP 401/403 is a refusal of the token. A refusal drops the token
        everywhere, fetches a new one and makes the call once more: a refused call was not acted
        on, so making it again cannot deliver twice. Refused again with words naming the token
        (failures.names_token), or 401/403 again, the credentials need an operator: transient
        (VendorUnavailable). Any other second answer is returned for the caller to classify.
        """
        token = self.token(fetch)
        answer = _attempt(call, token)
        if not isinstance(answer, _RefusedToken) and refusal(answer) is None:
            return answer
        logger.info(
            "vendor refused a call; fetching a new token and retrying once",
            extra={"account": self.account.name, "vendor": self.vendor},
        )
        self.forget_token(token)
        answer = _attempt(call, self.token(fetch))
        if isinstance(answer, _RefusedToken):
            detail = "HTTP 401/403"
        else:
            message = refusal(answer)
            if message is None or not failures.names_token(message):
                return answer
            detail = message[:100]
        raise VendorUnavailable(
            f"{self.vendor} {where} refused a renewed token: a freshly fetched token was refused"
            f" too ({redact_numbers(detail)})"
        )

    def forget_token(self, token: str) -> None:
        """The vendor refused ``token``: drop it everywhere so the next call fetches a new one."""
        if self.tokens is not None:
            self.tokens.invalidate(token)
        self._own_token = None

    def url(self, path: str) -> str:
        return f"{self.account.base_url}{path}"

    def vendor_number(self, e164: str) -> str:
        """The recipient as this vendor wants it; raise UnsupportedRecipient when it cannot send there."""
        return cn_national(e164)

    # ----------------------------------------------------------------- sending
    @abstractmethod
    def submit(self, submission: Submission) -> list[SubmitOutcome]:
        """One vendor call. Returns one outcome per item; raises VendorUnavailable or SubmitRejected."""

    # ----------------------------------------------------------------- pushes
    def parse_push(self, push: PushRequest) -> PushBatch:
        raise PushRejected(f"{self.vendor} does not push {push.kind}")

    def verify_push(self, push: PushRequest) -> None:
        """Vendor-level authentication of a push (beyond our callback token); raise PushUnauthorized."""

    def push_ack(self, push: PushRequest, batch: PushBatch) -> HttpAnswer:
        """The exact answer the vendor's document asks for once the push is stored."""
        return HttpAnswer(200, "", "text/plain")

    # ----------------------------------------------------------------- polling
    # A pull hands its raw answer to ``sink`` before parsing it (vendors that hand a record out
    # once), and each record it cannot read; it returns the records it could.
    def pull_reports(self, pending: PendingSource, sink: PullSink | None = None) -> list[ReportIn]:
        return []

    def pull_inbound(self, sink: PullSink | None = None) -> list[InboundIn]:
        return []

    @abstractmethod
    def balance(self) -> BalanceIn: ...


class _RefusedToken:
    """HTTP 401/403: the vendor refused the token before reading the call."""


def _attempt(call: Callable[[str], A], token: str) -> A | _RefusedToken:
    try:
        return call(token)
    except VendorRefusedHttp as exc:
        if exc.status in (401, 403):
            return _RefusedToken()
        raise


def adapter_class(vendor: str) -> type[VendorAdapter]:
    """The adapter class of a vendor id of the catalogue (KeyError for an unknown one)."""
    cls = catalogue.load(vendor)
    if not (isinstance(cls, type) and issubclass(cls, VendorAdapter)):
        raise TypeError(f"catalogue entry {vendor!r} is not a VendorAdapter")
    return cls


def json_body(push: PushRequest, *, exact: bool = False) -> object:
    """The pushed body as JSON within the bounds of limits.py, or PushRejected with a short reason."""
    return bounded_json(push.body, exact=exact)


def bounded_json(data: bytes | str, *, exact: bool = False) -> object:
    """Pushed JSON (a body, or a form field holding JSON) within bounds, or PushRejected."""
    try:
        return load_json(data, max_bytes=MAX_PUSH_BYTES, exact=exact)
    except InputRefused as exc:
        raise PushRejected(exc.reason) from exc


def safe_reason(exc: BaseException) -> str:
    """Why a record was unreadable, without quoting any of its values: our own messages name
    fields only; Python's (int(), KeyError, ...) quote the value, so only their type is kept."""
    text = str(exc)
    if isinstance(exc, KeyError):
        return "a required field is missing"
    if text and "'" not in text and '"' not in text and len(text) <= 160:
        return redact_numbers(text)
    return f"unreadable record ({type(exc).__name__})"


def read_each(entries: list[Any], parse: Callable[[dict[str, Any]], T]) -> tuple[list[T], list[Unreadable]]:
    """Parse records one by one: an unreadable record is set aside with its reason, never
    costing the others."""
    parsed: list[T] = []
    unreadable: list[Unreadable] = []
    for index, entry in enumerate(entries):
        try:
            if not isinstance(entry, dict):
                raise TypeError(f"record {index} is not a JSON object")
            parsed.append(parse(entry))
        except PushRejected as exc:
            unreadable.append(Unreadable(str(exc), entry, index))
        except Exception as exc:  # parsing a record touches nothing but the record
            unreadable.append(Unreadable(safe_reason(exc), entry, index))
    return parsed, unreadable


def push_batch(
    entries: list[Any], parse: Callable[[dict[str, Any]], ReportIn | InboundIn | None]
) -> PushBatch:
    """A pushed array as a batch: what is readable, and what is not (kept raw by ingest). A parse
    returning None read a record that carries nothing to apply. Nothing readable at all is a
    PushRejected: the push is answered 400 (and kept)."""
    parsed, unreadable = read_each(entries, parse)
    if unreadable and not parsed:
        first = unreadable[0]
        if len(entries) == 1:
            raise PushRejected(first.reason)
        raise PushRejected(
            f"none of {len(entries)} records readable; record {first.index}: {first.reason}"[:300]
        )
    return PushBatch(
        tuple(r for r in parsed if isinstance(r, ReportIn)),
        tuple(i for i in parsed if isinstance(i, InboundIn)),
        tuple(unreadable),
    )


def parse_each(
    entries: list[Any], parse: Callable[[dict[str, Any]], T], sink: PullSink | None = None
) -> list[T]:
    """Parse pulled records one by one. Pulled records are often handed out once: one unreadable
    record is handed to the sink (kept raw by the poller) and logged by its field names, never
    its values."""
    parsed, unreadable = read_each(entries, parse)
    for record in unreadable:
        # Field names are the vendor's too: a number used as a key is masked like any other.
        names = sorted(record.record)[:20] if isinstance(record.record, dict) else []
        fields = [redact_numbers(str(name))[:40] for name in names] or "not an object"
        logger.error("unreadable pulled record", extra={"fields": fields, "reason": record.reason})
        if sink is not None:
            sink.skip(record)
    return parsed
