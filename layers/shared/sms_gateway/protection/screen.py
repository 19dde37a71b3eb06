"""The screening step, between claim and plan: which recipients of a request may be sent at all.

In order, per recipient: the destination (`country_blocked`), the suppression list
(`opted_out`), the per-number limit (`rate_limited`), the account's caps (`cap_reached`). A
refused recipient gets a final `failed` record with that reason (so `SMS Submit Failed`) and
nothing is sent to it. Marketing content gets the opt-out hint here, before it is planned.

What a kept recipient reserved (a place under its number's limit, a unit of each cap) is given
back when its call was not sent or the vendor refused it (``settle``); a call that may have
reached the vendor keeps its reservations: at most once wins over a quota.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from sms_gateway.accounts import Account, AccountRegistry
from sms_gateway.models import OutboundItem, RecipientRecord, SendRequest, Status
from sms_gateway.observability import logger
from sms_gateway.protection.cancel import CancelRequest, CancelStore
from sms_gateway.protection.optout import SuppressionStore, with_hint
from sms_gateway.protection.quotas import Place, QuotaStore
from sms_gateway.protection.settings import Protection
from sms_gateway.protection.size import count_size
from sms_gateway.sending.dispatch import RecipientResult, Verdict
from sms_gateway.sending.plan import Call, Work
from sms_gateway.store.table import Key, Table

COUNTRY_BLOCKED, OPTED_OUT, RATE_LIMITED, CAP_REACHED = (
    "country_blocked",
    "opted_out",
    "rate_limited",
    "cap_reached",
)
REASONS = {
    COUNTRY_BLOCKED: "the destination country is not allowed for this account",
    OPTED_OUT: "the recipient opted out of this kind of message",
    RATE_LIMITED: "the number reached its limit of messages of this kind",
    CAP_REACHED: "the account reached its recipient cap",
}

SettingsFor = Callable[[Account, SendRequest], Protection]


def account_settings(account: Account, _request: SendRequest) -> Protection:
    return account.protection


def route_settings(registry: AccountRegistry) -> SettingsFor:
    """The account's settings, overridden field by field by those of the route the request names."""

    def settings_for(account: Account, request: SendRequest) -> Protection:
        route = registry.route(request.route) if request.route else None
        return account.protection.overlaid(route.protection if route else None)

    return settings_for


@dataclass
class _Held:
    places: list[Place] = field(default_factory=list)
    caps: list[Key] = field(default_factory=list)


class Screen:
    """The send path's Guard (sms_gateway.sending.guard)."""

    def __init__(
        self,
        table: Table,
        settings_for: SettingsFor = account_settings,
        country_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.quotas = QuotaStore(table)
        self.suppressions = SuppressionStore(table)
        self.cancels = CancelStore(table)
        self.settings_for = settings_for
        self.country_of = country_of or _country
        self._held: dict[tuple[str, str], _Held] = {}

    def screen(self, work: Work) -> tuple[Work, list[RecipientRecord]]:
        """The request with only the recipients that may be sent, and the records of the others."""
        settings = self.settings_for(work.account, work.request)
        refused: dict[str, str] = {}
        items = list(work.items)
        refused |= self._destinations(settings, items)
        refused |= self._opted_out(settings, work, [i for i in items if i.recipient not in refused])
        refused |= self._rate_limited(settings, work, [i for i in items if i.recipient not in refused])
        refused |= self._capped(settings, work, [i for i in items if i.recipient not in refused])
        kept = tuple(_hinted(settings, work.request, i) for i in items if i.recipient not in refused)
        request = work.request
        if request.kind == "marketing" and request.content is not None and settings.opt_out.hint:
            request = request.model_copy(update={"content": with_hint(request.content, settings.opt_out)})
        return replace(work, request=request, items=kept), [
            RecipientRecord.failed(
                message_id=work.message_id,
                recipient=number,
                account=work.account.name,
                vendor=work.account.vendor,
                vendor_status=code,
                reason=REASONS[code],
                tags=work.request.tags,
                kind=work.request.kind,
            )
            for number, code in refused.items()
        ]

    def cancel(self, request: CancelRequest) -> None:
        cancelled = self.cancels.cancel(request)
        logger.info("cancel request", extra={"message_id": request.message_id, "cancelled": cancelled})

    def release_unsent(self) -> None:
        held, self._held = self._held, {}
        for places in held.values():
            self._give_back(places)

    def _give_back(self, held: _Held) -> None:
        self.quotas.release(held.places)
        for key in held.caps:
            self.quotas.give_back_cap(key, 1)

    def settle(self, call: Call, results: Sequence[RecipientResult]) -> None:
        """Give back what recipients that were not sent reserved; keep the rest's. Count the
        segments and cost of those submitted, per account."""
        count_size(call, results)
        for result in results:
            held = self._held.pop((result.item.message_id, result.item.recipient), None)
            if held is None:
                continue
            refused = result.outcome is not None and result.outcome.status is Status.FAILED
            if result.verdict is Verdict.NOT_SENT or (result.verdict is Verdict.ANSWERED and refused):
                self._give_back(held)

    # ------------------------------------------------------------------ the rules
    def _destinations(self, settings: Protection, items: list[OutboundItem]) -> dict[str, str]:
        if not settings.allowed_countries:
            return {}  # the adapter already refused what its vendor does not reach
        allowed = set(settings.allowed_countries)
        return {i.recipient: COUNTRY_BLOCKED for i in items if self.country_of(i.recipient) not in allowed}

    def _opted_out(self, settings: Protection, work: Work, items: list[OutboundItem]) -> dict[str, str]:
        if work.request.kind not in settings.opt_out.blocks or not items:
            return {}
        sign = (work.request.sign or work.account.sign) if settings.opt_out.per_sign else None
        out = self.suppressions.suppressed(work.account.name, [i.recipient for i in items], sign)
        return dict.fromkeys(sorted(out), OPTED_OUT)

    def _rate_limited(self, settings: Protection, work: Work, items: list[OutboundItem]) -> dict[str, str]:
        window = settings.limit_for(work.request.kind)
        if window is None:
            return {}
        refused: dict[str, str] = {}
        for item in items:
            holder = f"{item.message_id}#{item.recipient}"
            places = self.quotas.reserve(work.request.kind, item.recipient, holder, window)
            if places is None:
                refused[item.recipient] = RATE_LIMITED
            else:
                self._hold(item).places.extend(places)
        return refused

    def _capped(self, settings: Protection, work: Work, items: list[OutboundItem]) -> dict[str, str]:
        granted = len(items)
        for period, cap in (("D", settings.daily_cap), ("M", settings.monthly_cap)):
            if cap is None or granted == 0:
                continue
            key, count = self.quotas.take_cap(work.account.name, period, cap, granted)
            for item in items[:count]:
                self._hold(item).caps.append(key)
            granted = count
        refused = {i.recipient: CAP_REACHED for i in items[granted:]}
        for item in items[granted:]:
            # Refused here: whatever it reserved under an earlier rule or cap is given back.
            self._give_back(self._held.pop((item.message_id, item.recipient), _Held()))
        return refused

    def _hold(self, item: OutboundItem) -> _Held:
        return self._held.setdefault((item.message_id, item.recipient), _Held())


def _hinted(settings: Protection, request: SendRequest, item: OutboundItem) -> OutboundItem:
    if request.kind != "marketing" or item.content is None or not settings.opt_out.hint:
        return item
    return replace(item, content=with_hint(item.content, settings.opt_out))


def _country(e164: str) -> str | None:
    import phonenumbers  # noqa: PLC0415 - the phone metadata is loaded only where lists are set

    try:
        region: str | None = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
    return region
