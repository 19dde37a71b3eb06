"""The status API in process: a GET becomes the HTTP API's v2.0 event (as the local runner builds
it) for the real StatusFunction, run under its role; the answer comes back as (status, JSON)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from local_runner.stack import HttpRoute
from local_runner.triggers.http_api import build_event, compile_route, match
from tests.support.aws import FakeContext, load_handler

ROUTES = [
    compile_route(HttpRoute("StatusApi", "GET", path, "StatusFunction", "2.0"))
    for path in ("/messages/{id}", "/recipients/{number}/messages", "/accounts/{name}")
]


def get(path: str, **query: str) -> tuple[int, Any]:
    """GET ``path`` (segments quoted as a client would) with ``query``; (status code, body)."""
    raw_path = "/".join(quote(part, safe="") for part in path.split("/"))
    found = match(ROUTES, "GET", raw_path)
    assert found is not None, f"no status route for {path}"
    route, parameters = found
    event = build_event(
        route,
        parameters,
        method="GET",
        raw_path=raw_path,
        raw_query=urlencode(query),
        headers=[("host", "status.example")],
        body=b"",
        source_ip="203.0.113.10",
        protocol="HTTP/1.1",
        api_id="status",
        account_id="123456789012",
        host="status.example",
    )
    answer = load_handler("status")(event, FakeContext())
    return answer["statusCode"], json.loads(answer["body"])
