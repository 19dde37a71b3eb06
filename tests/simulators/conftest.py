"""Shared fixtures of the simulator tests: an HTTP client that ignores proxy settings, and a
tiny callback receiver that records what the simulators push and answers as told."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.support.http_stub import HttpStub, Received, Reply


class Receiver:
    """A local push target. ``respond()`` sets what it answers (status, body, content type);
    ``requests`` lists every POST it got (path, headers, body text, parsed JSON)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._answer = (200, "OK", "text/plain")
        self._lock = threading.Lock()
        self._stub = HttpStub(responder=self._reply).start()

    def _reply(self, request: Received) -> Reply:
        body = request.text
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        with self._lock:
            self.requests.append(
                {"path": request.target, "headers": request.raw_headers, "body": body, "json": parsed}
            )
            status, text, content_type = self._answer
        return Reply(status, text, content_type)

    @property
    def url(self) -> str:
        return self._stub.url

    def respond(self, status: int = 200, body: str = "OK", content_type: str = "text/plain") -> None:
        with self._lock:
            self._answer = (status, body, content_type)

    def respond_json(self, obj: Any, status: int = 200) -> None:
        self.respond(status, json.dumps(obj), "application/json")

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        # Returns as soon as ``count`` requests arrived: the bound only matters on a failure.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.requests) < count:
            time.sleep(0.01)
        return list(self.requests)

    def close(self) -> None:
        self._stub.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # never send loopback traffic through a proxy from the environment
    yield session
    session.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until(predicate: Callable[[], Any], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


# Helpers are handed out as fixtures, so the tests import nothing from this directory
# (it works under any pytest import mode, next to other test folders' conftest files).
@pytest.fixture
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture
def wait_until() -> Callable[..., bool]:
    return _wait_until


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The simulators are tested on their own, without AWS: fast, so part of `make unit`.
    for item in items:
        if "tests/simulators/" in str(item.fspath):
            item.add_marker(pytest.mark.unit)
