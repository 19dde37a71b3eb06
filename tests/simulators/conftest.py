"""Shared fixtures of the simulator tests: an HTTP client that ignores proxy settings, and a
tiny callback receiver that records what the simulators push and answers as told."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests


class Receiver:
    """A local push target. ``respond()`` sets what it answers (status, body, content type);
    ``requests`` lists every POST it got (path, headers, body text, parsed JSON)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._answer = (200, "OK", "text/plain")
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                with receiver._lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body, "json": parsed}
                    )
                    status, text, content_type = receiver._answer
                payload = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

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
        self._server.shutdown()
        self._server.server_close()


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


def _wait_until(predicate: Callable[[], object], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


# Helpers are handed out as fixtures, so the tests import nothing from this directory
# (it works under any pytest import mode, next to other test folders' conftest files).
@pytest.fixture
def free_port() -> Any:
    return _free_port


@pytest.fixture
def wait_until() -> Any:
    return _wait_until


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The simulators are tested on their own, without AWS: fast, so part of `make unit`.
    for item in items:
        if "tests/simulators/" in str(item.fspath):
            item.add_marker(pytest.mark.unit)
