"""The accounts document (SSM SecureString, JSON) and the registry that reads it with caching."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sms_gateway.clock import DEFAULT_TIMEZONE
from sms_gateway.errors import ConfigurationError, UnknownAccount
from sms_gateway.observability import register_secret
from sms_gateway.routing.config import Route, TemplateMap, validate_routing

ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Account(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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
        return value.strip().removeprefix("【").removesuffix("】") if value else None

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
    model_config = ConfigDict(extra="forbid", frozen=True)

    accounts: list[Account]
    routes: list[Route] = Field(default_factory=list)
    templates: list[TemplateMap] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> AccountsDocument:
        names = [a.name for a in self.accounts]
        if len(names) != len(set(names)):
            raise ValueError("account names must be unique")
        if sum(a.default for a in self.accounts) > 1:
            raise ValueError("at most one account may be the default")
        from sms_gateway.vendors import VENDORS  # noqa: PLC0415 - avoids an import cycle

        unknown = {a.vendor for a in self.accounts} - set(VENDORS)
        if unknown:
            raise ValueError(f"unknown vendor(s) {sorted(unknown)}; known: {sorted(VENDORS)}")
        validate_routing(self.accounts, self.routes, self.templates)
        return self


class AccountRegistry:
    """Accounts by name, plus the default. Built from an already-parsed document."""

    def __init__(self, document: AccountsDocument) -> None:
        self.document = document  # its routes and templates: routing chooses among the accounts
        self._by_name = {a.name: a for a in document.accounts}
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
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)
            )
            raise ConfigurationError(f"invalid accounts document: {problems}") from exc

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

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_name.values())


def load_registry() -> AccountRegistry:
    """The registry from SSM, cached per instance for ACCOUNTS_CACHE_SECONDS (Powertools Parameters)."""
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415 - lazy: cold start

    from sms_gateway.settings import get_settings  # noqa: PLC0415

    settings = get_settings()
    try:
        raw = parameters.get_parameter(
            settings.accounts_parameter_name,
            decrypt=True,
            transform="json",
            max_age=settings.accounts_cache_seconds,
        )
    except parameters.exceptions.TransformParameterError as exc:
        raise ConfigurationError("accounts document is not valid JSON") from exc
    except parameters.exceptions.GetParameterError as exc:
        raise ConfigurationError(f"cannot read {settings.accounts_parameter_name}: {exc}") from exc
    global _parsed  # noqa: PLW0603 - per-instance cache, keyed on Powertools' cached object
    if _parsed is None or _parsed[0] is not raw:
        _parsed = (raw, AccountRegistry.parse(raw))
    return _parsed[1]


_parsed: tuple[Any, AccountRegistry] | None = None
