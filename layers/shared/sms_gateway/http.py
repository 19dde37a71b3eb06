"""The HTTP client every vendor adapter uses: bounded timeouts and one way to classify failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from sms_gateway.errors import VendorUnavailable
from sms_gateway.limits import MAX_PULL_BYTES, InputRefused, load_json
from sms_gateway.observability import logger

RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class VendorHttp:
    """A requests.Session with timeouts. Raises VendorUnavailable for anything worth retrying.

    A connection that never opened is safe to retry; a read timeout or a garbled answer after the
    request went out is ``ambiguous``: the vendor may have acted on it.
    """

    def __init__(self, connect_timeout: float = 3.05, read_timeout: float = 10.0) -> None:
        self._session = requests.Session()
        self._timeout = (connect_timeout, read_timeout)
        self.calls = 0

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls += 1
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.ConnectTimeout as exc:
            raise VendorUnavailable(f"connect timeout to {_host(url)}") from exc
        except requests.ConnectionError as exc:
            # Refused before anything was written: safe to resend. A reset after the request
            # went out: the vendor may have acted on it.
            cause = exc.args[0] if exc.args else None
            refused = isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)
            raise VendorUnavailable(f"connection error to {_host(url)}", ambiguous=not refused) from exc
        except requests.Timeout as exc:
            raise VendorUnavailable(f"no answer from {_host(url)} in time", ambiguous=True) from exc
        if response.status_code in RETRYABLE_STATUS:
            raise VendorUnavailable(f"{_host(url)} answered HTTP {response.status_code}")
        return response

    def json(
        self,
        method: str,
        url: str,
        *,
        ambiguous_if_garbled: bool = False,
        exact: bool = False,
        keep: Callable[[bytes], object] | None = None,
        **kwargs: Any,
    ) -> Any:
        """The JSON answer, within the bounds of limits.py; a non-JSON or non-2xx answer is a
        VendorUnavailable.

        ``exact`` reads decimals as Decimal, never float: for ids and amounts that must not round.
        ``keep`` receives the raw answer before it is parsed (pulls that hand records out once).
        """
        response = self.request(method, url, **kwargs)
        if response.status_code >= 400:
            raise VendorUnavailable(f"{_host(url)} answered HTTP {response.status_code}")
        if keep is not None:
            keep(response.content)
        try:
            return load_json(_payload(response), max_bytes=MAX_PULL_BYTES, exact=exact)
        except InputRefused as exc:
            logger.warning("vendor answered unreadable JSON", extra={"url": _host(url), "reason": exc.reason})
            raise VendorUnavailable(
                f"{_host(url)} answered {exc.reason} (HTTP {response.status_code})",
                ambiguous=ambiguous_if_garbled,
            ) from exc


def _payload(response: requests.Response) -> bytes | str:
    """The answer for the JSON parser: its bytes when they are UTF-8 (RFC 8259) and no other
    charset is declared; otherwise the text as requests decodes it (a declared GBK, say, or its
    guess), as response.json() did."""
    declared = (response.encoding or "").lower().replace("-", "").replace("_", "")
    if declared and declared not in {"utf8", "iso88591", "ascii", "usascii"}:
        return response.text
    try:
        response.content.decode("utf-8")
    except UnicodeDecodeError:
        return response.text
    return response.content


def _host(url: str) -> str:
    # Query strings can carry passwords (action_v1); log the host and path only.
    return url.split("?", 1)[0]
