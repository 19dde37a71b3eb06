"""The HTTP client every vendor adapter uses: bounded timeouts; failures classified in failures.py."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import requests

from sms_gateway import failures
from sms_gateway.errors import VendorUnavailable
from sms_gateway.observability import logger


class VendorHttp:
    """A requests.Session with timeouts. Raises VendorUnavailable for a call without a usable answer.

    ``sends`` marks a call that can deliver an SMS: only such a call is ever ambiguous (may have
    been sent) when its answer is lost.
    """

    def __init__(self, connect_timeout: float = 3.05, read_timeout: float = 10.0) -> None:
        self._session = requests.Session()
        self._timeout = (connect_timeout, read_timeout)
        self.calls = 0

    def request(self, method: str, url: str, *, sends: bool = False, **kwargs: Any) -> requests.Response:
        self.calls += 1
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise failures.transport(exc, _host(url), sends=sends) from exc
        failure = failures.http_status(response.status_code, _host(url), sends=sends)
        if failure is not None:
            raise failure
        return response

    def json(self, method: str, url: str, *, sends: bool = False, exact: bool = False, **kwargs: Any) -> Any:
        """The JSON answer; a non-JSON or non-2xx answer is a VendorUnavailable.

        ``exact`` reads decimals as Decimal, never float: for ids and amounts that must not round.
        """
        response = self.request(method, url, sends=sends, **kwargs)
        if response.status_code >= 400:
            # The vendor answered and refused: nothing was sent.
            raise VendorUnavailable(f"{_host(url)} answered HTTP {response.status_code}")
        try:
            return json.loads(response.content, parse_float=Decimal) if exact else response.json()
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            logger.warning(
                "vendor answered non-JSON", extra={"url": _host(url), "prefix": response.text[:80]}
            )
            raise failures.garbled(
                _host(url), f"answered non-JSON (HTTP {response.status_code})", sends=sends
            ) from exc


def _host(url: str) -> str:
    # Query strings can carry passwords (action_v1); log the host and path only.
    return url.split("?", 1)[0]
