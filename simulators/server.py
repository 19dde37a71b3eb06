"""The HTTP server: one ThreadingHTTPServer per simulator, requests parsed once, control calls
(``/_sim/``) apart, vendor calls counted, faulted or routed to the vendor's handler."""

from __future__ import annotations

import contextlib
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from .core import SimCore
from .wire import Reply, SimRequest, VendorError, log, text_reply


class _Server(ThreadingHTTPServer):
    # Adapters send in parallel bursts; the default backlog of 5 would reset connections.
    request_queue_size = 128
    daemon_threads = True


class ServerMixin(SimCore):
    def start(self) -> Self:
        """Bind and serve in background threads; idempotent. Port 0 picks a free port."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, self.port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        for target, label in (
            (lambda: server.serve_forever(poll_interval=0.1), "http"),
            (self._run_scheduler, "scheduler"),
        ):
            thread = threading.Thread(target=target, name=f"{self.vendor}-{label}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving and the scheduler; sleeping timeout faults are woken up."""
        server, self._server = self._server, None
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        if server is not None:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads = []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}{self.path_prefix}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        split = urllib.parse.urlsplit(handler.path)
        path = split.path or "/"
        if self.path_prefix and path.startswith(self.path_prefix):
            path = path[len(self.path_prefix) :] or "/"
        req = SimRequest(handler.command, path, split.query, dict(handler.headers.items()), body)

        if path == "/_sim" or path.startswith("/_sim/"):
            _write_reply(handler, self._control(req))
            return

        endpoint = self.endpoint_key(req)
        with self._lock:
            self._received.append(req.record(endpoint))
            self._calls[endpoint] += 1
            fault = self._take_fault(req.path, endpoint)

        if fault is None:
            reply = self._dispatch(req)
        elif fault["kind"] == "5xx":
            reply = text_reply(
                "<html><body><h1>503 Service Unavailable</h1><p>simulated fault</p></body></html>",
                503,
                "text/html;charset=UTF-8",
            )
        elif fault["kind"] in ("502", "504"):
            if self.reading("gateway_error") == "forwarded":
                self._dispatch(req)  # the vendor acted on it; its answer is lost behind the gateway
            reply = text_reply(
                f"<html><body><h1>{fault['kind']} Bad Gateway</h1><p>simulated gateway</p></body></html>",
                int(fault["kind"]),
                "text/html;charset=UTF-8",
            )
        elif fault["kind"] == "non_json":
            reply = text_reply(
                "<!DOCTYPE html><html><head><title>Gateway</title></head>"
                "<body>simulated non-JSON answer</body></html>",
                200,
                "text/html;charset=UTF-8",
            )
        else:  # timeout
            seconds = self.fault_timeout if fault["seconds"] is None else float(fault["seconds"])
            self._stopping.wait(seconds)
            if fault["then"] == "drop":
                handler.close_connection = True
                with contextlib.suppress(OSError):
                    handler.connection.shutdown(socket.SHUT_RDWR)
                return
            reply = self._dispatch(req)
        _write_reply(handler, reply)

    def _dispatch(self, req: SimRequest) -> Reply:
        route = self.ROUTES.get(req.path)
        try:
            if route is None:
                raise self.reject(self.PARAM_ERROR, f"unknown path {req.path} for {self.vendor}", 404)
            methods, handler_name = route
            if req.method not in methods:
                raise self.reject(
                    self.PARAM_ERROR,
                    f"method {req.method} not allowed on {req.path}; the document says {'/'.join(methods)}",
                    405,
                )
            reply: Reply = getattr(self, handler_name)(req)
            return reply
        except VendorError as exc:
            return exc.reply
        except Exception as exc:  # a simulator bug must not look like a hang
            log.exception("%s simulator: handler crashed", self.vendor)
            return self.reject(self.PARAM_ERROR, f"simulator internal error: {exc!r}", 500).reply


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


def _write_reply(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    try:
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client gave up (e.g. its own timeout): nothing left to answer


def _make_handler(sim: ServerMixin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"{sim.vendor}-simulator"

        def _serve(self) -> None:
            sim._handle(self)

        # http.server dispatches on do_<METHOD>; unknown methods get the vendor's 405
        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug("%s %s", sim.vendor, fmt % args)

    return Handler
