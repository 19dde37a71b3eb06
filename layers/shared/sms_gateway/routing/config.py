"""The routing part of the accounts document: ``routes`` (tried in order) and ``templates`` (a
logical template id mapped to each account's own template id or text). See README "Routing"."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sms_gateway.models import MessageKind
from sms_gateway.protection.settings import Protection
from sms_gateway.vendors import catalogue

ROUTE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
E164_PREFIX = re.compile(r"^\+\d{1,15}$")
MAX_ROUTES, MAX_ROUTE_ACCOUNTS, MAX_TEMPLATES = 100, 20, 1000
MAX_WEIGHT = 1_000_000


def _listed(value: Any) -> Any:
    """A single value where a list is expected reads as a list of one."""
    return [value] if isinstance(value, str) else value


class RouteMatch(BaseModel):
    """All given criteria must hold; within a list any entry does. An empty match matches all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: list[MessageKind] = Field(default_factory=list)
    # The destination: in one of these countries (ISO 3166-1 alpha-2) or under one of these
    # E.164 prefixes. Either one is enough when both are given.
    country: list[str] = Field(default_factory=list, max_length=250)
    prefix: list[str] = Field(default_factory=list, max_length=1000)
    # Every tag given must be on the request with this exact value.
    tags: dict[str, str] = Field(default_factory=dict, max_length=50)

    _one_kind = field_validator("kind", "country", "prefix", mode="before")(_listed)

    @field_validator("country")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        upper = [c.strip().upper() for c in value]
        if not all(COUNTRY.match(c) for c in upper):
            raise ValueError("a country is an ISO 3166-1 alpha-2 code such as CN")
        return upper

    @field_validator("prefix")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        if not all(E164_PREFIX.match(p) for p in value):
            raise ValueError("a prefix is '+' and 1-15 digits, such as +8613")
        return value

    @property
    def destination(self) -> bool:
        return bool(self.country or self.prefix)


class RouteAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str = Field(min_length=1, max_length=64)
    # Share of the route's messages; 0 makes the account a failover target only.
    weight: float = Field(default=1.0, ge=0, le=MAX_WEIGHT, allow_inf_nan=False)


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    match: RouteMatch = Field(default_factory=RouteMatch)
    accounts: list[RouteAccount] = Field(min_length=1, max_length=MAX_ROUTE_ACCOUNTS)
    # Overrides the protection settings of the account chosen, field by field (README "Protection").
    protection: Protection | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not ROUTE_NAME.match(value):
            raise ValueError("route name must be 1-64 characters of A-Za-z0-9_-")
        return value

    @model_validator(mode="after")
    def _accounts(self) -> Route:
        names = [a.account for a in self.accounts]
        if len(names) != len(set(names)):
            raise ValueError("an account is listed at most once per route")
        if not any(a.weight > 0 for a in self.accounts):
            raise ValueError("at least one account of a route needs a weight above 0")
        return self


class AccountTemplate(BaseModel):
    """One account's form of a logical template: the vendor's own template id, or the text to
    send (``{param}`` placeholders filled from the request's params) on a vendor without templates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template_id: str | None = Field(default=None, min_length=1, max_length=64)
    content: str | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _one(self) -> AccountTemplate:
        if (self.template_id is None) == (self.content is None):
            raise ValueError("give either 'template_id' or 'content'")
        return self


class TemplateMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    accounts: dict[str, AccountTemplate] = Field(min_length=1, max_length=MAX_ROUTE_ACCOUNTS * 5)


class NamedAccount(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def vendor(self) -> str: ...


def validate_routing(
    accounts: Sequence[NamedAccount], routes: Sequence[Route], templates: Sequence[TemplateMap]
) -> None:
    """Raise ValueError naming the field path of the first problem (never a value: the document
    is a secret). Called by the accounts document's own validation."""
    vendor_of = {a.name: a.vendor for a in accounts}
    problems: list[str] = []
    if len(routes) > MAX_ROUTES or len(templates) > MAX_TEMPLATES:
        problems.append(f"at most {MAX_ROUTES} routes and {MAX_TEMPLATES} templates")
    if len({r.name for r in routes}) != len(routes):
        problems.append("routes: route names must be unique")
    for r_index, route in enumerate(routes):
        problems += [
            f"routes.{r_index}.accounts.{a_index}.account: no such account"
            for a_index, entry in enumerate(route.accounts)
            if entry.account not in vendor_of
        ]
    if len({t.id for t in templates}) != len(templates):
        problems.append("templates: template ids must be unique")
    for t_index, template in enumerate(templates):
        for position, (name, form) in enumerate(template.accounts.items()):
            path = f"templates.{t_index}.accounts.{position}"
            if name not in vendor_of:
                problems.append(f"{path}: no such account")
            elif form.template_id is not None and not catalogue.supports_templates(vendor_of[name]):
                problems.append(f"{path}.template_id: this account's vendor has no templates; give content")
    if problems:
        raise ValueError("; ".join(problems))
