"""The base of every vendor's `Credentials` and `Options` models (the accounts document's
`credentials` and `options` of one account), and the field types they share.

Each vendor module declares its own two models next to its code tables; the accounts document
validates every account against them when it loads (accounts.py), so a missing credential or a
wrong option is an error naming its field path, never a failure in the middle of a send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from sms_gateway.errors import ConfigurationError
from sms_gateway.vendors import toolkit

M = TypeVar("M", bound="VendorSettings")


class VendorSettings(BaseModel):
    # Inputs are left out of every error: credentials are secrets, options may quote them.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    def __repr__(self) -> str:  # never print a value
        return f"{type(self).__name__}({', '.join(type(self).model_fields)})"

    __str__ = __repr__


class VendorCredentials(VendorSettings):
    """An account's `credentials`: every field required, none ever logged."""


class VendorOptions(VendorSettings):
    """An account's `options`: every field optional, with the vendor's documented default."""


def _text(value: object) -> object:
    """A number written where text is meant (an extension, a sender id) is its digits."""
    return toolkit.vendor_id(value) if isinstance(value, int | float) else value


# One required credential: text, not empty.
Secret = Annotated[str, Field(min_length=1)]
# Text that may arrive as a JSON number (extension numbers).
Text = Annotated[str, BeforeValidator(_text)]
# Send answer codes, one or a list, numbers or strings alike (429 and "429").
Codes = Annotated[frozenset[str], BeforeValidator(toolkit.codes)]


def clamp(low: int, high: int, default: int) -> Callable[[object], int]:
    """A validator keeping an integer option within [low, high]; a value that is no integer takes
    the default (a bounded knob, never a reason to stop polling)."""

    def within(value: object) -> int:
        try:
            number = int(str(value).strip())
        except ValueError:
            number = default
        return max(low, min(high, number))

    return within


def parse(model: type[M], raw: Mapping[str, Any], *, account: str, field: str) -> M:
    """``raw`` (an account's ``field``) validated by ``model``; a ConfigurationError naming the
    account and the field paths, never a value."""
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigurationError(f"account {account}: {problems(exc, field)}") from exc


def problems(exc: ValidationError, *prefix: str | int) -> str:
    """Field paths and messages of a validation error, without its inputs (they may be secrets)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in (*prefix, *e['loc']))}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )
