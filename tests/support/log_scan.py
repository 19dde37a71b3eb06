"""A pytest plugin that fails every test whose logs carry a full phone number or a credential.

What it reads, per test phase (setup, call, teardown):
* everything pytest captured: stdout and stderr (Powertools writes its JSON lines to stdout, EMF
  metrics too) and the records of every stdlib logger (botocore, urllib3, the local runner);
* every line the local runner subprocesses wrote (their own log and the forwarded output of each
  function's worker), through ``local_runner.testing.OUTPUT_TAPS``. A runner outlives a test when
  its fixture is module-scoped, so its lines are charged to the test running when they arrive
  (stopping a runner waits for its last lines, so they go to the test whose teardown stops it);
  anything left after the last test fails the session (without xdist: a worker's exit status
  is not the session's, so there it is only printed).

What it looks for, with its own patterns (deliberately not the redactor's code, so that a bug
there cannot hide a leak here):
* a full number: ``+`` and 8 to 15 digits, or a Chinese mobile ``1[3-9]`` + 9 digits (optionally
  after ``86`` or ``0086``) that is not part of a longer digit run; plus the digits-only form
  (no ``+``) of every foreign E.164 number written in the tests and sample events, which is how
  international gateways print them. Masked forms (``138****8000``) are fine.
* a secret: every credential value and callback token written in the test accounts documents
  (tests/**.py, local_runner/accounts.sample.json), 6 characters or longer, standing between
  non-alphanumeric characters: the same rule as the redactor's registry.

The output of the vendor simulators' own loggers is the vendor's side of the wire and is not the
gateway's to redact: records of the ``simulators`` logger are left out. Everything else counts.
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FULL_NUMBER = re.compile(r"\+\d{8,15}(?!\d)|(?<!\d)(?:0086|86)?1[3-9]\d{9}(?!\d)")
MIN_SECRET_LENGTH = 6
LOG_LEVEL = logging.INFO
SECRET_KEYS = {"callback_token"}
SECRET_NAMES = re.compile(r"(TOKEN|SECRET|PASSWORD|APP_KEY)$")
NOT_OURS = ("simulators",)  # logger names whose records are the vendor's, not the gateway's


# ------------------------------------------------------------------------------- what to look for


def _constants(tree: ast.Module) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    names[target.id] = node.value.value
    return names


def _text(node: ast.AST | None, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    return None


def secrets_in_python(source: str) -> set[str]:
    """Credential values and callback tokens of the account documents written in a test module."""
    tree = ast.parse(source)
    names = _constants(tree)
    found = {value for name, value in names.items() if SECRET_NAMES.search(name)}
    for node in ast.walk(tree):
        pairs: list[tuple[str | None, ast.AST | None]] = []
        if isinstance(node, ast.Dict):
            pairs = [(_text(k, names), v) for k, v in zip(node.keys, node.values, strict=True)]
        elif isinstance(node, ast.Call):
            pairs = [(k.arg, k.value) for k in node.keywords]
        for key, value in pairs:
            if key == "credentials" and isinstance(value, ast.Dict):
                found.update(filter(None, (_text(v, names) for v in value.values)))
            elif key in SECRET_KEYS:
                found.update(filter(None, [_text(value, names)]))
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH}


def secrets_in_json(document: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "credentials" and isinstance(value, dict):
                found.update(str(v) for v in value.values())
            elif key in SECRET_KEYS and isinstance(value, str):
                found.add(value)
            else:
                found |= secrets_in_json(value)
    elif isinstance(document, list):
        for value in document:
            found |= secrets_in_json(value)
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH}


def project_secrets(root: Path = ROOT) -> set[str]:
    found: set[str] = set()
    for path in sorted((root / "tests").rglob("*.py")):
        found |= secrets_in_python(path.read_text(encoding="utf-8"))
    for path in sorted((root / "local_runner").glob("*.json")):
        found |= secrets_in_json(json.loads(path.read_text(encoding="utf-8")))
    return found


def foreign_digit_forms(root: Path = ROOT) -> set[str]:
    """``447911123456`` for every ``+447911123456`` in the tests and sample events (not +86)."""
    found: set[str] = set()
    for path in [*(root / "tests").rglob("*.py"), *(root / "events").rglob("*.json")]:
        for match in re.finditer(r"\+(\d{8,15})(?!\d)", path.read_text(encoding="utf-8")):
            if not match.group(1).startswith("86"):
                found.add(match.group(1))
    return found


class Scanner:
    def __init__(self, secrets: Iterable[str], digit_forms: Iterable[str] = ()) -> None:
        literals = sorted({*secrets}, key=len, reverse=True)
        self._secrets = (
            re.compile("(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, literals)) + ")(?![A-Za-z0-9])")
            if literals
            else None
        )
        forms = sorted({*digit_forms}, key=len, reverse=True)
        self._forms = re.compile("(?<!\\d)(?:" + "|".join(forms) + ")(?!\\d)") if forms else None

    def leaks(self, text: str) -> list[str]:
        """What leaked, each shown masked (this report is printed too)."""
        found = [f"number {_masked(m.group())}" for m in FULL_NUMBER.finditer(text)]
        if self._forms:
            found += [f"number {_masked(m.group())}" for m in self._forms.finditer(text)]
        if self._secrets:
            found += [f"secret {_masked(m.group())}" for m in self._secrets.finditer(text)]
        return found


def _masked(value: str) -> str:
    return value[:3] + "*" * max(len(value) - 7, 1) + value[-4:] if len(value) > 7 else "*" * len(value)


# ------------------------------------------------------------------------------- the plugin


class _RecordTap(logging.Handler):
    """Every stdlib record of the process, rendered with its exception, whatever pytest's level."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.NOTSET)
        self._sink = sink
        # Powertools writes its logger's records to stdout itself, redacted (scanned there); the
        # raw record that also reaches the root logger is never written anywhere.
        self._powertools = os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(NOT_OURS) or self._powertools in record.name:
            return
        # A record that cannot be rendered cannot leak either.
        with contextlib.suppress(Exception):
            self._sink(f"log {record.name}: {self.format(record)}")


class LogScan:
    def __init__(self, scanner: Scanner) -> None:
        self.scanner = scanner
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._tap = _RecordTap(self.feed)

    def feed(self, line: str) -> None:
        """A log record of this process, or a line a runner subprocess (or its workers) wrote."""
        with self._lock:
            self._lines.append(line)

    def _take(self) -> list[str]:
        with self._lock:
            lines, self._lines[:] = list(self._lines), []
        return lines

    @pytest.hookimpl
    def pytest_configure(self, config: pytest.Config) -> None:
        # The gateway's logger at INFO (the template's default LogLevel) whatever the suite's
        # quieter setting, so that every log call the tests reach is written and scanned.
        logging.getLogger(os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")).setLevel(LOG_LEVEL)
        os.environ["POWERTOOLS_LOG_LEVEL"] = logging.getLevelName(LOG_LEVEL)
        config.addinivalue_line(
            "markers", "leaks_on_purpose: the test of the log scan itself; its output is not scanned"
        )
        logging.getLogger().addHandler(self._tap)
        try:
            from local_runner import testing

            testing.OUTPUT_TAPS.append(self.feed)
        except ImportError:  # pragma: no cover - the runner is part of this repository
            pass

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if item.get_closest_marker("leaks_on_purpose"):
            self._take()
            return
        # Captured stdout/stderr only: the records of stdlib loggers come through the tap instead,
        # which can tell the simulators' loggers from the gateway's.
        texts = [
            content
            for title, content in report.sections
            if title.endswith(f" {call.when}") and not title.startswith("Captured log")
        ]
        leaks = self.scanner.leaks("\n".join([*texts, *self._take()]))
        if leaks and not report.failed:
            report.outcome = "failed"
            report.longrepr = (
                f"log scan: {len(leaks)} full phone number(s) or secret(s) in the {call.when} "
                f"output (see tests/support/log_scan.py): " + ", ".join(sorted(set(leaks))[:20])
            )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        leaks = self.scanner.leaks("\n".join(self._take()))
        logging.getLogger().removeHandler(self._tap)
        if leaks:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"log scan after the last test: {', '.join(sorted(set(leaks))[:20])}")


def plugin() -> LogScan:
    return LogScan(Scanner(project_secrets(), foreign_digit_forms()))
