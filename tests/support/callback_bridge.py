"""An HTTP endpoint in front of the real CallbackFunction, for tests under moto.

Vendor simulators push to it as they would to API Gateway; each request becomes an HTTP API
payload v2.0 event for the handler, and the handler's answer goes back to the simulator, so the
simulator checks our real ack. Requests are handled one at a time: moto is not thread-safe.
"""

from __future__ import annotations

import base64
import copy
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.aws import CALLBACK_TOKEN, FakeContext, load_event, load_handler


class CallbackBridge:
    def __init__(self) -> None:
        self.handler = load_handler("callback")
        self.answers: list[tuple[str, int, str]] = []  # (path, status, body) per push

    def start(self) -> CallbackBridge:
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = bridge.invoke(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                data = (answer.get("body") or "").encode()
                if answer.get("isBase64Encoded"):
                    data = base64.b64decode(data)
                self.send_response(answer["statusCode"])
                for name, value in (answer.get("headers") or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def invoke(self, raw_path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        split = urlsplit(raw_path)
        parts = split.path.strip("/").split("/")
        event = copy.deepcopy(load_event("callback/action_v1-push.json"))
        event["rawPath"] = event["requestContext"]["http"]["path"] = split.path
        event["rawQueryString"] = split.query
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(split.query).items()} or None
        event["pathParameters"] = {"account": parts[1], "kind": parts[2]} if len(parts) == 3 else {}
        event["headers"] = headers
        try:
            event["body"], event["isBase64Encoded"] = body.decode("utf-8"), False
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        answer: dict[str, Any] = self.handler(event, FakeContext())
        self.answers.append((split.path, answer["statusCode"], answer.get("body") or ""))
        return answer

    def url(self, account: str, kind: str, token: str = CALLBACK_TOKEN) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/callbacks/{account}/{kind}?token={token}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
