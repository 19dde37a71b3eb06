"""An HTTP endpoint in front of the real CallbackFunction, for tests under moto.

Vendor simulators push to it as they would to API Gateway; each request becomes an HTTP API
payload v2.0 event for the handler, and the handler's answer goes back to the simulator, so the
simulator checks our real ack. Requests are handled one at a time: moto is not thread-safe.
"""

from __future__ import annotations

import base64
import copy
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.aws import CALLBACK_TOKEN, FakeContext, load_event, load_handler
from tests.support.http_stub import HttpStub, Received, Reply


class CallbackBridge:
    def __init__(self) -> None:
        self.handler = load_handler("callback")
        self.answers: list[tuple[str, int, str]] = []  # (path, status, body) per push

    def start(self) -> CallbackBridge:
        self._stub = HttpStub(responder=self._answer, serial=True).start()
        return self

    def _answer(self, request: Received) -> Reply:
        answer = self.invoke(request.target, dict(request.headers), request.body)
        data = (answer.get("body") or "").encode()
        if answer.get("isBase64Encoded"):
            data = base64.b64decode(data)
        return Reply(answer["statusCode"], data, content_type=None, headers=dict(answer.get("headers") or {}))

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
        return f"{self._stub.url}/callbacks/{account}/{kind}?token={token}"

    def stop(self) -> None:
        self._stub.stop()
