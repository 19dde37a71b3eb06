"""A tiny stand-in action_v1 vendor for the runner's e2e tests (document 004_cb8a16e64a688ed7.txt).

Only what the end-to-end path needs, checked strictly: ``POST /sms`` form-encoded with
``rt=json``; ``action=send`` authenticated with ``MD5(password+extno+content+mobile)``
(lower-case hex), answering ``{"status":"0","balance":..,"list":[{"mid","mobile","result":0}]}``;
``balance``/``report``/``mo`` answer what the pollers expect (nothing pending). After a send,
the report ``[{"flag":1,"mid","mobile","stat":"DELIVRD","time":"yyyy-MM-dd HH:mm:ss"}]`` is
pushed to the configured URL, and the acknowledgement (plain ``OK``) recorded. Sends to the
numbers in ``unavailable_for`` answer STATUS 5 (a retryable outage).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHINA = timezone(timedelta(hours=8))
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ActionV1StandIn:
    def __init__(self, account: str = "922011", password: str = "secret", extno: str = "106900") -> None:
        self.account, self.password, self.extno = account, password, extno
        self.push_url: str | None = None
        self.report_delay = 0.2
        self.unavailable_for: set[str] = set()  # sends to these numbers answer STATUS 5 (其它错误)
        self.requests: list[dict[str, str]] = []  # every /sms form, in order
        self.pushes: list[dict[str, Any]] = []  # url, body, status, answer
        self._ids = itertools.count(0x4C2CA88382720003)
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                status, answer = stand_in.handle(self.path, self.headers.get("Content-Type", ""), body)
                data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ActionV1StandIn:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def sends(self) -> list[dict[str, str]]:
        with self._lock:
            return [r for r in self.requests if r.get("action") == "send"]

    # ------------------------------------------------------------------ vendor behaviour
    def handle(self, path: str, content_type: str, body: str) -> tuple[int, dict[str, Any]]:
        if urllib.parse.urlsplit(path).path != "/sms":
            return 404, {"status": "1", "message": "no such path"}
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return 200, {"status": "1", "message": "form expected"}
        form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        with self._lock:
            self.requests.append(form)
        if form.get("rt") != "json" or form.get("account") != self.account:
            return 200, {"status": "1" if form.get("rt") != "json" else "3", "message": "bad request"}
        action = form.get("action")
        if action == "send":
            return self._send(form)
        if form.get("password") != _md5(self.password):
            return 200, {"status": "3", "message": "account/password"}
        if action == "balance":
            return 200, {"status": 0, "balance": 1_000_000, "chargeType": "PRECHARGE"}
        if action in {"report", "mo"}:
            return 200, {"status": "0", "list": []}
        return 200, {"status": "1", "message": f"unknown action {action!r}"}

    def _send(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        expected = _md5(
            self.password + form.get("extno", "") + form.get("content", "") + form.get("mobile", "")
        )
        if form.get("password") != expected:
            return 200, {"status": "3", "message": "account/password"}
        if set(form.get("mobile", "").split(",")) & self.unavailable_for:
            return 200, {"status": "5", "message": "其它错误"}
        entries = [
            {"mid": f"{next(self._ids):X}", "mobile": mobile, "result": 0}
            for mobile in form.get("mobile", "").split(",")
            if mobile
        ]
        if self.push_url:
            report = [
                {
                    "flag": 1,
                    "mid": e["mid"],
                    "mobile": e["mobile"],
                    "stat": "DELIVRD",
                    "time": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                }
                for e in entries
            ]
            threading.Timer(self.report_delay, self._push, args=(self.push_url, report)).start()
        return 200, {"status": "0", "balance": 999_950, "list": entries}

    def _push(self, url: str, records: list[dict[str, Any]]) -> None:
        body = json.dumps(records, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with _NO_PROXY.open(request, timeout=10) as answer:
                status, text = answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        except OSError as exc:
            status, text = 0, str(exc)
        with self._lock:
            self.pushes.append({"url": url, "body": records, "status": status, "answer": text})


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()
