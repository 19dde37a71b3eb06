"""The one HTTP stub of the tests: a local server that records every request and answers what a
responder function returns. Stand-in vendors, push receivers and the callback bridge are
responders over it, so none of them writes its own ``BaseHTTPRequestHandler``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    """One request as the stub got it. ``headers`` has lower-case names; ``raw_headers`` keeps
    them as the client wrote them (``appKey``); ``target`` is the path with its query string."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    target: str = ""
    raw_headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """What the stub answers: a str or bytes body as it is, anything else as JSON."""

    status: int = 200
    body: Any = ""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        body = self.body if isinstance(self.body, str | bytes) else json.dumps(self.body)
        return body if isinstance(body, bytes) else body.encode()


Responder = Callable[[Received], Reply]


def _not_scripted(_: Received) -> Reply:
    return Reply(404, {"error": "not scripted"})


@dataclass
class HttpStub:
    """``serial=True`` answers one request at a time (a responder that drives moto needs it)."""

    responder: Responder = field(default=_not_scripted)
    received: list[Received] = field(default_factory=list)
    serial: bool = False
    _server: HTTPServer | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self) -> Self:
        server_class = HTTPServer if self.serial else ThreadingHTTPServer
        self._server = server_class(("127.0.0.1", 0), _handler(self))
        if isinstance(self._server, ThreadingHTTPServer):
            self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stub first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The requests once ``count`` arrived (or what arrived when ``timeout`` ran out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.01)
        return self.requests()

    def _answer(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
        return self.responder(request)


def _handler(stub: HttpStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Received(
                self.command,
                split.path,
                {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()},
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
                target=self.path,
                raw_headers=dict(self.headers.items()),
            )
            reply = stub._answer(request)
            data = reply.encoded()
            self.send_response(reply.status)
            if reply.content_type is not None:
                self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    return Handler
