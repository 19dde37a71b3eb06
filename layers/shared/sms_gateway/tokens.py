"""Access tokens for vendors that issue them (paasw_v1, paasw_v2).

Kept in memory and in the table, so a burst of Lambda instances shares one token instead of
each fetching its own; a token the vendor refuses is dropped everywhere and fetched once more.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar, Protocol

from sms_gateway.observability import emit, register_secret

# Renew this long before the vendor's expiry, so a token never dies in the middle of a call.
EXPIRY_MARGIN_SECONDS = 300


class TokenBackend(Protocol):
    def get_token(self, account: str) -> tuple[str, int] | None: ...
    def put_token(self, account: str, token: str, valid_until: int) -> None: ...
    def drop_token(self, account: str, token: str) -> None: ...


class TokenCache:
    # Without a memory of its own (the composition root passes its process's), every instance
    # shares this one.
    _memory: ClassVar[dict[str, tuple[str, int]]] = {}

    def __init__(
        self,
        backend: TokenBackend,
        account: str,
        vendor: str | None = None,
        *,
        memory: dict[str, tuple[str, int]] | None = None,
    ) -> None:
        self._backend = backend
        self._account = account
        self._vendor = vendor
        self._held = TokenCache._memory if memory is None else memory

    def get(self, fetch: Callable[[], tuple[str, int]]) -> str:
        """A valid token; ``fetch`` returns (token, lifetime in seconds) from the vendor."""
        now = int(time.time())
        cached = self._held.get(self._account)
        if cached and cached[1] - EXPIRY_MARGIN_SECONDS > now:
            return cached[0]
        shared = self._backend.get_token(self._account)
        if shared and shared[1] - EXPIRY_MARGIN_SECONDS > now:
            register_secret(shared[0])
            self._held[self._account] = shared
            return shared[0]
        token, lifetime = fetch()
        register_secret(token)
        emit("TokenRefreshes", dimensions={"vendor": self._vendor, "account": self._account})
        lifetime = int(lifetime)
        # A vendor that hands back the same token with what is left of its life would otherwise be
        # asked again on every call inside the margin: keep it until it dies (a refusal renews it).
        valid_until = now + lifetime + (EXPIRY_MARGIN_SECONDS if lifetime <= EXPIRY_MARGIN_SECONDS else 0)
        self._backend.put_token(self._account, token, valid_until)
        self._held[self._account] = (token, valid_until)
        return token

    def invalidate(self, token: str) -> None:
        if self._held.get(self._account, ("",))[0] == token:
            del self._held[self._account]
        self._backend.drop_token(self._account, token)
