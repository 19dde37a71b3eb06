"""The `protection` settings of an account (and of a route, overriding the account's field by field).

Every field has a default, so an accounts document without `protection` keeps working; a wrong
value is refused when the document is loaded, with its field path (AccountRegistry.parse).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sms_gateway.models import MessageKind

COUNTRY = re.compile(r"^[A-Z]{2}$")


class Window(BaseModel):
    """At most this many messages per number in each fixed window (0 refuses every one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    minute: int | None = Field(default=None, ge=0)
    hour: int | None = Field(default=None, ge=0)
    day: int | None = Field(default=None, ge=0)


# Issue 14's defaults for verification codes; other kinds are unlimited unless configured.
DEFAULT_LIMITS: dict[MessageKind, Window] = {MessageKind.VERIFICATION: Window(minute=1, hour=5, day=10)}
DEFAULT_OPT_OUT = ("退订", "TD", "T", "N", "STOP", "UNSUBSCRIBE", "取消", "QUIT", "END", "CANCEL")
DEFAULT_OPT_IN = ("订阅", "START", "UNSTOP", "YES", "Y")


def normalise_keyword(text: str) -> str:
    """Case- and width-insensitive: ＳＴＯＰ, stop and Stop are STOP; surrounding blanks and
    punctuation a phone keyboard adds (。！.!) do not count."""
    folded = unicodedata.normalize("NFKC", text).strip().strip("。！!.，,").strip()
    return folded.upper()


class OptOut(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    opt_out_keywords: tuple[str, ...] = DEFAULT_OPT_OUT
    opt_in_keywords: tuple[str, ...] = DEFAULT_OPT_IN
    # The kinds a suppressed number does not receive.
    blocks: tuple[MessageKind, ...] = (MessageKind.MARKETING,)
    # A suppression per sign: a reply to one sign (known by the MO's ext_no, see ext_no_signs)
    # stops that sign only; a reply whose sign is unknown stops every sign of the account.
    per_sign: bool = False
    ext_no_signs: dict[str, str] = Field(default_factory=dict)
    # The account's hint (e.g. 回T退订), appended to marketing content that carries none; None (the
    # default) appends nothing: the words must match what the account's channel understands.
    hint: str | None = Field(default=None, max_length=20)

    @field_validator("opt_out_keywords", "opt_in_keywords")
    @classmethod
    def _keywords(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        normalised = tuple(normalise_keyword(k) for k in value)
        if not all(normalised):
            raise ValueError("a keyword cannot be empty")
        return normalised


class Protection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Per number and kind; a kind given here replaces its default whole.
    limits: dict[MessageKind, Window] = Field(default_factory=dict)
    daily_cap: int | None = Field(default=None, ge=0)  # recipients a UTC day, the account's
    monthly_cap: int | None = Field(default=None, ge=0)  # recipients a UTC month
    # ISO 3166-1 alpha-2; empty: wherever the account's vendor reaches (its adapter decides).
    allowed_countries: tuple[str, ...] = ()
    opt_out: OptOut = Field(default_factory=OptOut)
    price_per_segment: Decimal | None = Field(default=None, ge=0)

    @field_validator("allowed_countries")
    @classmethod
    def _countries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        upper = tuple(c.strip().upper() for c in value)
        if not all(COUNTRY.match(c) for c in upper):
            raise ValueError("a country is an ISO 3166-1 alpha-2 code such as CN")
        return upper

    def limit_for(self, kind: MessageKind) -> Window | None:
        return self.limits.get(kind, DEFAULT_LIMITS.get(kind))

    def overlaid(self, override: Protection | None) -> Protection:
        """These settings with the fields ``override`` sets replacing them (a route's over its
        account's)."""
        if override is None:
            return self
        return self.model_copy(update={name: getattr(override, name) for name in override.model_fields_set})
