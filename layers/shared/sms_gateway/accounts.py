"""The accounts document (SSM SecureString, JSON) and the registry that reads it with caching."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails

from sms_gateway.clock import DEFAULT_TIMEZONE
from sms_gateway.errors import ConfigurationError, UnknownAccount
from sms_gateway.observability import register_secret
from sms_gateway.protection.settings import Protection
from sms_gateway.routing.config import Route, TemplateMap, validate_routing
from sms_gateway.vendors import catalogue
from sms_gateway.vendors.settings import problems
from sms_gateway.vendors.toolkit import bare_sign

ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Account(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str
    vendor: str
    base_url: str
    credentials: dict[str, str]
    options: dict[str, Any] = Field(default_factory=dict)
    sign: str | None = None
    callback_token: str | None = Field(default=None, min_length=16)
    timezone: str = DEFAULT_TIMEZONE
    balance_low_threshold: float | None = None
    default: bool = False
    protection: Protection = Field(default_factory=Protection)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not ACCOUNT_NAME.match(value):
            raise ValueError("account name must be 1-64 characters of A-Za-z0-9_- (it is a URL segment)")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("sign")
    @classmethod
    def _bare_sign(cls, value: str | None) -> str | None:
        return bare_sign(value)

    @model_validator(mode="after")
    def _register_secrets(self) -> Account:
        # Whoever builds an account (the registry, a test, the CLI) makes its secrets unloggable.
        for value in (*self.credentials.values(), self.callback_token):
            register_secret(value)
        return self

    def __repr__(self) -> str:  # never print credentials
        return f"Account(name={self.name!r}, vendor={self.vendor!r})"

    __str__ = __repr__


class AccountsDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    accounts: list[Account]
    routes: list[Route] = Field(default_factory=list)
    templates: list[TemplateMap] = Field(default_factory=list)

    @field_validator("accounts")
    @classmethod
    def _vendor_settings(cls, accounts: list[Account]) -> list[Account]:
        """Every account's credentials and options against its vendor's models, at load: a typo
        is an error naming its path here, never a failure after recipients were marked inflight."""
        errors = [
            error for index, account in enumerate(accounts) for error in _settings_errors(index, account)
        ]
        if errors:
            raise ValidationError.from_exception_data("AccountsDocument", errors)
        return accounts

    @model_validator(mode="after")
    def _consistent(self) -> AccountsDocument:
        names = [a.name for a in self.accounts]
        if len(names) != len(set(names)):
            raise ValueError("account names must be unique")
        if sum(a.default for a in self.accounts) > 1:
            raise ValueError("at most one account may be the default")
        unknown = {a.vendor for a in self.accounts if not catalogue.known(a.vendor)}
        if unknown:
            raise ValueError(f"unknown vendor(s) {sorted(unknown)}; known: {sorted(catalogue.VENDORS)}")
        validate_routing(self.accounts, self.routes, self.templates)
        return self


def _settings_errors(index: int, account: Account) -> list[InitErrorDetails]:
    if not catalogue.known(account.vendor):
        return []  # reported once by AccountsDocument._consistent
    found: list[InitErrorDetails] = []
    credentials, options = catalogue.settings(account.vendor)
    checks = (("credentials", credentials, account.credentials), ("options", options, account.options))
    for field, model, raw in checks:
        try:
            model.model_validate(raw)
        except ValidationError as exc:
            found += [
                InitErrorDetails(
                    type=e["type"], loc=(index, field, *e["loc"]), input=e["input"], ctx=e.get("ctx", {})
                )
                for e in exc.errors()
            ]
    return found


class AccountRegistry:
    """Accounts by name, plus the default. Built from an already-parsed document."""

    def __init__(self, document: AccountsDocument) -> None:
        self.document = document  # its routes and templates: routing chooses among the accounts
        self._by_name = {a.name: a for a in document.accounts}
        self._routes = {r.name: r for r in document.routes}
        defaults = [a for a in document.accounts if a.default]
        self._default = (
            defaults[0] if defaults else (document.accounts[0] if len(document.accounts) == 1 else None)
        )

    @classmethod
    def parse(cls, raw: Any) -> AccountRegistry:
        try:
            return cls(AccountsDocument.model_validate(raw))
        except ValidationError as exc:
            # Only field paths and messages: the input may hold secrets.
            raise ConfigurationError(f"invalid accounts document: {problems(exc)}") from exc

    def get(self, name: str | None) -> Account:
        if name is None:
            if self._default is None:
                raise UnknownAccount(None)
            return self._default
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownAccount(name) from None

    def find(self, name: str) -> Account | None:
        return self._by_name.get(name)

    def route(self, name: str) -> Route | None:
        return self._routes.get(name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_name.values())
