"""HttpApi events: the HTTP API's routes served on 127.0.0.1:api-port, payload format 2.0.

Why it exists: ``sam local start-api`` needs Docker, and moto's CloudFormation does not create
AWS::ApiGatewayV2::Api. The routes come from the translated template (the API's OpenAPI Body:
path, method, the integration's function, payloadFormatVersion). A threaded HTTP server turns
each request into API Gateway's HTTP API v2.0 event (version, routeKey, rawPath,
rawQueryString, cookies, lower-cased headers, queryStringParameters, pathParameters,
requestContext.http{method, path, protocol, sourceIp, userAgent}, body, isBase64Encoded —
base64 for non-text bodies) and the function's answer back into HTTP as API Gateway does:
a dict with statusCode/headers/cookies/body/isBase64Encoded, or anything else as a 200 JSON
answer. A function that crashes, times out or answers garbage gets API Gateway's own
``500 {"message":"Internal Server Error"}``: never a stack trace. A request no route matches
gets ``404 {"message":"Not Found"}``.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local_runner.stack import HttpRoute
from local_runner.workers import Functions, InvocationResult

log = logging.getLogger("local_runner.http_api")

_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|.*\+json|xml|.*\+xml|javascript|x-www-form-urlencoded|graphql))$"
)
_DIGIT_RUN = re.compile(r"\d{7,}")
INTERNAL_ERROR = (500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
NOT_FOUND = (404, {"content-type": "application/json"}, b'{"message":"Not Found"}')


class _Server(ThreadingHTTPServer):
    # Vendors push in bursts (intl_v1: one POST per report); the default backlog of 5 resets them.
    request_queue_size = 128
    daemon_threads = True


@dataclass(frozen=True)
class CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str] | None  # None: $default
    specificity: tuple[int, int, int]


def compile_route(route: HttpRoute) -> CompiledRoute:
    if route.path == "$default":
        return CompiledRoute(route, None, (1, 0, 0))
    regex, params, greedy = "", 0, 0
    for part in re.split(r"(\{[^}]+\})", route.path):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            if name.endswith("+"):
                regex += f"(?P<{_group(name[:-1])}>.+)"
                greedy += 1
            else:
                regex += f"(?P<{_group(name)}>[^/]+)"
            params += 1
        else:
            regex += re.escape(part)
    # Literal routes beat parameters, parameters beat greedy ones, a method beats ANY.
    return CompiledRoute(route, re.compile(f"^{regex}$"), (0, greedy, params * 2 + (route.method == "ANY")))


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


def match(routes: list[CompiledRoute], method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
    for compiled in sorted(routes, key=lambda c: c.specificity):
        route = compiled.route
        if route.method not in (method, "ANY"):
            continue
        if compiled.pattern is None:
            return route, {}
        found = compiled.pattern.match(path)
        if found:
            names = re.findall(r"\{([^}]+?)\+?\}", route.path)
            values = found.groupdict()
            return route, {n: unquote(values[_group(n)]) for n in names}
    return None


def is_text(content_type: str) -> bool:
    return bool(_TEXT_TYPES.match(content_type.split(";", 1)[0].strip().lower()))


def _merge_headers(headers: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Header names lower-cased with repeated values comma-joined, and the cookies apart (2.0 format)."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    return merged, cookies


def build_event(
    route: HttpRoute,
    path_parameters: dict[str, str],
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    protocol: str,
    api_id: str,
    account_id: str,
    host: str,
) -> dict[str, Any]:
    """API Gateway HTTP API payload format version 2.0."""
    merged, cookies = _merge_headers(headers)
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", "http")
    merged.setdefault("x-forwarded-port", host.rsplit(":", 1)[-1] if ":" in host else "80")
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = datetime.now(UTC)
    request_id = uuid.uuid4().hex[:16]
    merged.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": method,
                "path": unquote(raw_path),
                "protocol": protocol,
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        text = None
        content_type = merged.get("content-type", "")
        if not content_type or is_text(content_type):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def http_answer(result: InvocationResult) -> tuple[int, dict[str, str], bytes, list[str]]:
    """The function's result as API Gateway turns a 2.0 response into HTTP."""
    if not result.ok:
        return (*INTERNAL_ERROR, [])
    payload = result.payload
    if isinstance(payload, dict) and "statusCode" in payload:
        try:
            status = int(payload["statusCode"])
            if not 100 <= status <= 599:
                raise ValueError(status)
            headers = {str(k).lower(): str(v) for k, v in (payload.get("headers") or {}).items()}
            for name, values in (payload.get("multiValueHeaders") or {}).items():
                headers[str(name).lower()] = ",".join(map(str, values))
            raw = payload.get("body")
            text = "" if raw is None else raw if isinstance(raw, str) else json.dumps(raw)
            body = base64.b64decode(text) if payload.get("isBase64Encoded") else text.encode("utf-8")
            cookies = [str(c) for c in payload.get("cookies") or []]
        except (TypeError, ValueError, AttributeError):
            log.warning("malformed function response: answered 500")
            return (*INTERNAL_ERROR, [])
        return status, headers, body, cookies
    # No statusCode: API Gateway assumes 200 and JSON; a string is the body as it is.
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return 200, {"content-type": "application/json"}, text.encode("utf-8"), []


class HttpApiServer:
    def __init__(
        self,
        routes: list[HttpRoute],
        functions: Functions,
        *,
        port: int,
        account_id: str,
        host: str = "127.0.0.1",
    ) -> None:
        self.routes = [compile_route(r) for r in routes]
        self._functions = functions
        self._account_id = account_id
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "local-runner-http-api"

            def _handle(self) -> None:
                server.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass  # every request is logged once, with its invocation

        self._httpd = _Server((host, port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="http-api", daemon=True)

    def describe(self) -> list[str]:
        return [
            f"{c.route.function} <- http {c.route.route_key} (payload {c.route.payload_version})"
            for c in self.routes
        ]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    # ------------------------------------------------------------------ one request
    @staticmethod
    def _read_body(request: BaseHTTPRequestHandler) -> bytes:
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(request.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while request.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(request.rfile.read(size))
                request.rfile.readline()
        length = int(request.headers.get("Content-Length") or 0)
        return request.rfile.read(length) if length > 0 else b""

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        split = urlsplit(request.path)
        method = request.command.upper()
        try:
            body = self._read_body(request)
        except (ValueError, OSError):
            self._reply(request, 400, {"content-type": "application/json"}, b'{"message":"Bad Request"}', [])
            return
        found = match(self.routes, method, split.path or "/")
        if found is None:
            self._reply(request, *NOT_FOUND, [])
            log.info(
                "http %s %s -> 404 (no route) in %.0f ms",
                method,
                _DIGIT_RUN.sub("*", split.path),  # no phone number in the log
                (time.monotonic() - started) * 1000,
            )
            return
        route, path_parameters = found
        if route.payload_version != "2.0":
            log.warning(
                "%s: payload format %s is not emulated; answering 500", route.route_key, route.payload_version
            )
            self._reply(request, *INTERNAL_ERROR, [])
            return
        event = build_event(
            route,
            path_parameters,
            method=method,
            raw_path=split.path or "/",
            raw_query=split.query,
            headers=list(request.headers.items()),
            body=body,
            source_ip=request.client_address[0],
            protocol=request.request_version,
            api_id=route.api.lower()[:10],
            account_id=self._account_id,
            host=request.headers.get("Host") or f"127.0.0.1:{self.port}",
        )
        answer: list[tuple[int, dict[str, str], bytes, list[str]]] = []

        def outcome(result: InvocationResult) -> str:
            answer.append(http_answer(result))
            status = answer[0][0]
            return f"{status}" if result.ok else f"{status} ({result.error_text})"

        # The route key, not the path: a path can carry a phone number (the status API's
        # /recipients/{number}/messages), and API Gateway's access log is written the same way.
        self._functions.invoke(route.function, event, trigger=f"http:{route.route_key}", outcome=outcome)
        self._reply(request, *answer[0])

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes, cookies: list[str]
    ) -> None:
        try:
            request.send_response(status)
            for name, value in headers.items():
                if name not in {"content-length", "connection", "transfer-encoding"}:
                    request.send_header(name, value)
            for cookie in cookies:
                request.send_header("set-cookie", cookie)
            request.send_header("content-length", str(len(body)))
            request.send_header("apigw-requestid", uuid.uuid4().hex[:16])
            request.end_headers()
            if request.command != "HEAD":
                request.wfile.write(body)
        except OSError:
            pass  # the client went away
