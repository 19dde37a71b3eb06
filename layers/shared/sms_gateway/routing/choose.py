"""Which accounts may serve a request, in the order to try them. Pure: the health of each account
comes in as data (``health.HealthReader.view``), so the same inputs always give the same order.

- A request naming ``account`` gets that account alone (no routing, as before routes existed).
- A request naming ``route`` gets that route's accounts, whatever its ``match`` says.
- Otherwise the first route whose ``match`` fits the request, else the default account.

Within a route the order is a weighted choice stable per message: rendezvous hashing of the
message id, so every recipient of a message lands on the same first account (its calls still
group with other requests on that account) and each account is first for its weight's share of
messages. The accounts after the first are the failover order.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sms_gateway.errors import InvalidSendRequest, UnknownAccount
from sms_gateway.models import SendRequest, Template
from sms_gateway.routing.config import AccountTemplate, Route, RouteMatch
from sms_gateway.vendors import catalogue

if TYPE_CHECKING:
    from sms_gateway.accounts import Account, AccountsDocument

PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.-]{1,64})\}")


@dataclass(frozen=True)
class AccountHealth:
    """What routing needs to know of one account right now (missing from the view: healthy)."""

    available: bool = True  # False: its circuit is open (cooling down) or another instance probes it
    low_balance: bool = False  # its last polled balance is below its threshold (when that setting is on)
    weight_factor: float = 1.0  # below 1 when its delivery rate is low (when that setting is on)
    reason: str = ""


HEALTHY = AccountHealth()


@dataclass(frozen=True)
class Candidate:
    """One account to try, with the request's content in that account's own form."""

    account: Account
    reason: str  # why it is in the list, for the recipient's history
    route: str | None = None
    template: Template | None = None  # the account's own template (a template request)
    content: str | None = None  # the text rendered for a vendor without templates


@dataclass(frozen=True)
class Skipped:
    account: str
    reason: str


@dataclass(frozen=True)
class Choice:
    """Candidates in order. Empty with skips: every account is unhealthy now; try again later."""

    candidates: tuple[Candidate, ...]
    route: str | None = None
    skipped: tuple[Skipped, ...] = field(default=())


def choose(
    request: SendRequest,
    document: AccountsDocument,
    health: Mapping[str, AccountHealth],
    message_id: str,
    recipients: Sequence[str] = (),
) -> Choice:
    """The ordered candidate accounts for ``recipients`` (E.164) of one request.

    Raises UnknownAccount (a named account, or no route and no default) and InvalidSendRequest
    (an unknown route, or no account of the route maps the request's template): both can never
    succeed. A destination criterion matches when every one of ``recipients`` fits it: ``plan``
    splits a request whose recipients fit different routes.
    """
    accounts = {a.name: a for a in document.accounts}
    if request.account is not None:
        if request.account not in accounts:
            raise UnknownAccount(request.account)
        return _direct(request, document, accounts[request.account], "named by the request")
    route = _named_route(request, document) if request.route else _matching(request, document, recipients)
    if route is None:
        default = _default(document)
        if default is None:
            raise UnknownAccount(None)
        return _direct(request, document, default, "the default account (no route matched)")
    return _ranked(request, document, health, message_id, route, accounts=accounts)


def plan(
    request: SendRequest,
    document: AccountsDocument,
    health: Mapping[str, AccountHealth],
    message_id: str,
    recipients: Sequence[str],
) -> list[tuple[list[str], Choice]]:
    """``recipients`` grouped by the route each fits first, with each group's choice. A request
    naming an account or a route, or a document without destination criteria, is one group."""
    if request.account or request.route or not any(r.match.destination for r in document.routes):
        return [(list(recipients), choose(request, document, health, message_id, recipients))]
    groups: dict[str | None, list[str]] = {}
    for recipient in recipients:
        route = _matching(request, document, [recipient])
        groups.setdefault(route.name if route else None, []).append(recipient)
    return [(members, choose(request, document, health, message_id, members)) for members in groups.values()]


def matches(match: RouteMatch, request: SendRequest, recipients: Sequence[str]) -> bool:
    if match.kind and request.kind not in match.kind:
        return False
    if any(request.tags.get(k) != v for k, v in match.tags.items()):
        return False
    if not match.destination:
        return True
    return bool(recipients) and all(_destination_fits(match, r) for r in recipients)


def order(message_id: str, route: str, weights: Sequence[tuple[str, float]]) -> list[str]:
    """Account names by weighted rendezvous hashing: the first is each account's for its share
    of message ids; the same message id always gives the same order. Weight 0 comes last, in
    the listed order."""

    def score(name: str, weight: float) -> float:
        digest = hashlib.sha256(f"{route}\x1f{message_id}\x1f{name}".encode()).digest()
        uniform = (int.from_bytes(digest[:8], "big") + 0.5) / 2**64
        return -math.log(uniform) / weight

    weighted = sorted((score(n, w), n) for n, w in weights if w > 0)
    return [n for _, n in weighted] + [n for n, w in weights if w <= 0]


# ---------------------------------------------------------------------------- internals


def _destination_fits(match: RouteMatch, e164: str) -> bool:
    if any(e164.startswith(p) for p in match.prefix):
        return True
    return bool(match.country) and _country(e164) in match.country


def _country(e164: str) -> str | None:
    import phonenumbers  # noqa: PLC0415 - the phone metadata is loaded only where routes need it

    try:
        region: str | None = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
    return region


def _named_route(request: SendRequest, document: AccountsDocument) -> Route:
    for route in document.routes:
        if route.name == request.route:
            return route
    raise InvalidSendRequest("the request names a route the accounts document does not have")


def _matching(request: SendRequest, document: AccountsDocument, recipients: Sequence[str]) -> Route | None:
    return next((r for r in document.routes if matches(r.match, request, recipients)), None)


def _default(document: AccountsDocument) -> Account | None:
    defaults = [a for a in document.accounts if a.default]
    if defaults:
        return defaults[0]
    return document.accounts[0] if len(document.accounts) == 1 else None


def _direct(request: SendRequest, document: AccountsDocument, account: Account, reason: str) -> Choice:
    """An account the request or the default names: no failover, and the template mapping still
    applies (without one, the template goes as it is, as before routes existed)."""
    candidate = _in_form(request, document, account, reason, None)
    if isinstance(candidate, Skipped):
        raise InvalidSendRequest(f"account {account.name}: {candidate.reason}")
    return Choice((candidate,))


def _ranked(
    request: SendRequest,
    document: AccountsDocument,
    health: Mapping[str, AccountHealth],
    message_id: str,
    route: Route,
    *,
    accounts: Mapping[str, Account],
) -> Choice:
    skipped: list[Skipped] = []
    eligible: list[Candidate] = []
    weights = [(e.account, e.weight * health.get(e.account, HEALTHY).weight_factor) for e in route.accounts]
    for position, name in enumerate(order(message_id, route.name, weights)):
        why = "weighted choice" if position == 0 else f"failover {position + 1} of {len(weights)}"
        candidate = _in_form(request, document, accounts[name], f"route {route.name}: {why}", route.name)
        if isinstance(candidate, Skipped):
            skipped.append(candidate)
        else:
            eligible.append(candidate)
    if not eligible:
        raise InvalidSendRequest(f"no account of route {route.name} can send this template")
    healthy = [c for c in eligible if health.get(c.account.name, HEALTHY).available]
    skipped += [
        Skipped(c.account.name, _unhealthy(health[c.account.name])) for c in eligible if c not in healthy
    ]
    funded = [c for c in healthy if not health.get(c.account.name, HEALTHY).low_balance]
    # A low balance is not an empty one: when every healthy account is low, they are still tried
    # (a vendor that refuses for balance moves its recipients on, and nothing is sent twice).
    if funded:
        skipped += [
            Skipped(c.account.name, "balance below its threshold") for c in healthy if c not in funded
        ]
        healthy = funded
    return Choice(tuple(healthy), route.name, tuple(skipped))


def _unhealthy(state: AccountHealth) -> str:
    return state.reason or "circuit open"


def _in_form(
    request: SendRequest, document: AccountsDocument, account: Account, reason: str, route: str | None
) -> Candidate | Skipped:
    """The request in this account's form: its own template id or text for a logical template."""
    if request.template is None:
        return Candidate(account, reason, route)
    mapping = next((t for t in document.templates if t.id == request.template.id), None)
    if mapping is None:
        # Not a logical template: the vendor's own id, for vendors with templates.
        if route is not None and not _has_templates(account):
            return Skipped(account.name, "its vendor has no templates")
        return Candidate(account, reason, route, template=request.template)
    form: AccountTemplate | None = mapping.accounts.get(account.name)
    if form is None:
        return Skipped(account.name, "the template has no mapping for this account")
    return _mapped(request.template, form, account, reason, route)


def _mapped(
    template: Template, form: AccountTemplate, account: Account, reason: str, route: str | None
) -> Candidate | Skipped:
    if form.template_id is not None:
        return Candidate(
            account, reason, route, template=Template(id=form.template_id, params=template.params)
        )
    text = form.content or ""
    missing = {name for name in PLACEHOLDER.findall(text) if name not in template.params}
    if missing:
        return Skipped(account.name, f"the template's text needs params {sorted(missing)}")
    return Candidate(
        account, reason, route, content=PLACEHOLDER.sub(lambda m: template.params[m.group(1)], text)
    )


def _has_templates(account: Account) -> bool:
    return catalogue.supports_templates(account.vendor)
