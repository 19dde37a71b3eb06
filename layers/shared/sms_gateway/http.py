"""The HTTP client every vendor adapter uses: bounded timeouts; failures classified in failures.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sms_gateway import failures
from sms_gateway.errors import VendorRefusedHttp
from sms_gateway.limits import MAX_PULL_BYTES, InputRefused, load_json
from sms_gateway.observability import logger, trace_requests

if TYPE_CHECKING:
    import requests


class VendorHttp:
    """A requests.Session with timeouts. Raises VendorUnavailable for a call without a usable answer.

    ``sends`` marks a call that can deliver an SMS: only such a call is ever ambiguous (may have
    been sent) when its answer is lost.
    """

    def __init__(self, connect_timeout: float = 3.05, read_timeout: float = 10.0) -> None:
        self._session: requests.Session | None = None
        self._timeout = (connect_timeout, read_timeout)
        self.calls = 0

    def _client(self) -> requests.Session:
        # requests (with idna and charset_normalizer, ~100 ms) is imported at the first vendor
        # call, not with this module: the callback and publish functions build adapters (to parse
        # pushes) but never call a vendor.
        if self._session is None:
            import requests  # noqa: PLC0415

            trace_requests()
            self._session = requests.Session()
        return self._session

    def request(self, method: str, url: str, *, sends: bool = False, **kwargs: Any) -> requests.Response:
        import requests  # noqa: PLC0415 - loaded by _client; a dictionary lookup from then on

        self.calls += 1
        session = self._client()
        try:
            response = session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise failures.transport(exc, _host(url), sends=sends) from exc
        failure = failures.http_status(response.status_code, _host(url), sends=sends)
        if failure is not None:
            raise failure
        return response

    def json(
        self,
        method: str,
        url: str,
        *,
        sends: bool = False,
        exact: bool = False,
        keep: Callable[[bytes], object] | None = None,
        **kwargs: Any,
    ) -> Any:
        """The JSON answer, within the bounds of limits.py; a non-JSON or non-2xx answer is a
        VendorUnavailable.

        ``exact`` reads decimals as Decimal, never float: for ids and amounts that must not round.
        ``keep`` receives the raw answer before it is parsed (pulls that hand records out once).
        """
        response = self.request(method, url, sends=sends, **kwargs)
        if response.status_code >= 400:
            # The vendor answered and refused: nothing was sent.
            raise VendorRefusedHttp(
                f"{_host(url)} answered HTTP {response.status_code}", response.status_code
            )
        if keep is not None:
            keep(response.content)
        try:
            return load_json(_payload(response), max_bytes=MAX_PULL_BYTES, exact=exact)
        except InputRefused as exc:
            logger.warning("vendor answered unreadable JSON", extra={"url": _host(url), "reason": exc.reason})
            raise failures.garbled(
                _host(url), f"answered {exc.reason} (HTTP {response.status_code})", sends=sends
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
