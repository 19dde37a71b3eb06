"""Account resolution for the send path (issue 13): which accounts may serve a request, in order.

With an accounts document (``Router``) the routes decide (sms_gateway.routing.choose); without one
the request's named account or the default is the only candidate, as before routes existed. The
health of every account (its circuit, its balance, its delivery rate) is read once per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from sms_gateway.errors import UnsupportedRecipient
from sms_gateway.models import SendRequest
from sms_gateway.phone import to_e164
from sms_gateway.routing.choose import AccountHealth, Candidate, Choice, choose, plan
from sms_gateway.sending.ports import AccountSource

if TYPE_CHECKING:
    from sms_gateway.accounts import AccountsDocument
    from sms_gateway.routing.health import Breaker, HealthReader

# (request, message id, its recipients in E.164) -> the ordered candidates
Resolver = Callable[[SendRequest, str, Sequence[str]], Choice]


def direct(registry: AccountSource) -> Resolver:
    """No routing: the account the request names, else the default one."""

    def resolve(request: SendRequest, message_id: str, numbers: Sequence[str]) -> Choice:
        account = registry.get(request.account)
        why = "named by the request" if request.account else "the default account"
        return Choice((Candidate(account, why, template=request.template),))

    return resolve


class Router:
    """The routes of one accounts document, with the breaker shared by every instance."""

    def __init__(
        self,
        document: AccountsDocument,
        *,
        breaker: Breaker | None = None,
        health: HealthReader | None = None,
        count_unknown: bool = False,
    ) -> None:
        self.document = document
        self.breaker = breaker
        self.health = health
        self.count_unknown = count_unknown
        self._view: Mapping[str, AccountHealth] = {}

    def refresh(self) -> None:
        """Reads every account's health in one batch; once per SQS batch."""
        if self.health is not None:
            self._view = self.health.view(a.name for a in self.document.accounts)

    def resolve(self, request: SendRequest, message_id: str, numbers: Sequence[str]) -> Choice:
        """The choice of the request, or of its first part when ``parts`` splits it."""
        return self.parts(request, message_id, numbers)[0][1]

    def parts(
        self, request: SendRequest, message_id: str, numbers: Sequence[str]
    ) -> list[tuple[list[str], Choice]]:
        """Its recipients grouped by the route each fits first (destination criteria), with each
        group's choice; one group when no route has a destination criterion."""
        groups = plan(request, self.document, self._view, message_id, numbers) if numbers else []
        return groups or [(list(numbers), choose(request, self.document, self._view, message_id, numbers))]


def e164_numbers(raw: Iterable[str]) -> list[str]:
    """The numbers routing can match on; one it cannot read is refused later, per recipient."""
    numbers: list[str] = []
    for number in raw:
        try:
            numbers.append(to_e164(number))
        except UnsupportedRecipient:
            continue
    return numbers
