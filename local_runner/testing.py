"""Start ``python -m local_runner`` as a SUBPROCESS and talk to it: for the e2e tests and the demo.

Why it exists: tests and the demo must exercise the runner exactly as ``make local`` starts it
(its own process, its own moto, its workers), on free ports, and must never hang. So:

    with start_runner({"accounts": [...]}, poll_seconds=1) as runner:
        sqs = runner.client("sqs")
        sqs.send_message(QueueUrl=runner.info["send_queue_url"], MessageBody=...)
        ...
    # leaving the block sends SIGTERM and checks the exit status

``info`` is the runner's ready line (aws_endpoint, api_url, send_queue_url, events_queue_url,
table_name, event_bus_name, region, ...). Ports default to 0: the runner binds free ports
itself and reports them, so nothing can take a port between choosing and binding it. The
runner's stderr (its log and the functions' output) is kept in memory (``log_text()``,
``invocations()``) and echoed to this process's stderr when LOCAL_RUNNER_ECHO=1.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local_runner import dynamodb_local
from local_runner.embedded_aws import FAKE_CREDENTIALS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_SECONDS = 90.0
# Called with every line a runner writes to stderr (its log and its functions' output): the test
# suite's log scan (tests/support/log_scan.py) reads them here.
OUTPUT_TAPS: list[Callable[[str], None]] = []


class RunnerFailed(RuntimeError):
    pass


class RunningRunner:
    def __init__(
        self,
        process: subprocess.Popen[str],
        info: dict[str, Any],
        log: collections.deque[str],
        cleanup: Callable[[], None],
    ) -> None:
        self.process = process
        self.info = info
        self._log = log
        self._cleanup = cleanup
        self.returncode: int | None = None

    def __enter__(self) -> RunningRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ AWS access
    def session(self) -> boto3.Session:
        """A boto3 session for the embedded AWS (fake credentials, the runner's region)."""
        return boto3.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.info["region"],
        )

    def client(self, service: str, **config: Any) -> Any:
        # DynamoDB Local serves the tables and streams when the runner uses it.
        dynamodb = service in {"dynamodb", "dynamodbstreams"} and self.info.get("dynamodb_endpoint")
        return self.session().client(  # type: ignore[call-overload]
            service,
            endpoint_url=dynamodb or self.info["aws_endpoint"],
            config=Config(retries={"mode": "standard", "max_attempts": 3}, **config),
        )

    # ------------------------------------------------------------------ log
    def log_lines(self) -> list[str]:
        return list(self._log)

    def log_text(self, last: int | None = None) -> str:
        lines = self.log_lines()
        return "\n".join(lines[-last:] if last else lines)

    def invocations(self, function: str | None = None) -> list[str]:
        """The runner's one-line invocation records (optionally of one function's logical id)."""
        prefix = "invoke " + (f"{function} " if function else "")
        return [
            line.split(" ", 1)[1] for line in self.log_lines() if line.split(" ", 1)[-1].startswith(prefix)
        ]

    # ------------------------------------------------------------------ stop
    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the runner and wait; returns its exit status (killed if it does not stop)."""
        if self.returncode is None:
            if self.process.poll() is None:
                self.process.send_signal(sig)
            try:
                self.returncode = self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                self.returncode = -9
            self._cleanup()
        return self.returncode


def _reader(stream: Any, sink: Callable[[str], None]) -> None:
    for line in iter(stream.readline, ""):
        sink(line.rstrip("\n"))
    stream.close()


def start_runner(
    accounts: dict[str, Any] | str | Path,
    *,
    poll_seconds: float = 1.0,
    api_port: int = 0,
    aws_port: int = 0,
    build_dir: str | Path | None = None,
    extra_args: tuple[str, ...] | list[str] = (),
    ready_timeout: float = READY_TIMEOUT_SECONDS,
    echo: bool | None = None,
    keep_lines: int = 50_000,
) -> RunningRunner:
    """Start the runner subprocess and wait (bounded) for its ready line."""
    cleanup_paths: list[Path] = []
    accounts_path = _accounts_file(accounts, cleanup_paths)
    command = [
        sys.executable,
        "-m",
        "local_runner",
        "--accounts",
        str(accounts_path),
        "--api-port",
        str(api_port),
        "--aws-port",
        str(aws_port),
        "--poll-seconds",
        str(poll_seconds),
        *(["--build-dir", str(build_dir)] if build_dir else []),
        *extra_args,
    ]
    # One DynamoDB Local for every runner this process starts (the runner uses it if it answers).
    dynamodb_local.shared()
    process = _spawn(command)
    echo = os.environ.get("LOCAL_RUNNER_ECHO") == "1" if echo is None else echo
    log: collections.deque[str] = collections.deque(maxlen=keep_lines)

    def keep(line: str) -> None:
        log.append(line)
        for tap in OUTPUT_TAPS:
            tap(line)
        if echo:
            print(line, file=sys.stderr, flush=True)

    stdout_lines: queue.Queue[str | None] = queue.Queue()

    def stdout_sink(line: str) -> None:
        stdout_lines.put(line)

    stderr_reader = threading.Thread(target=_reader, args=(process.stderr, keep), daemon=True)
    stderr_reader.start()

    def read_stdout() -> None:
        _reader(process.stdout, stdout_sink)
        stdout_lines.put(None)

    threading.Thread(target=read_stdout, daemon=True).start()

    def cleanup() -> None:
        # The process has exited: its last lines reach the log (and OUTPUT_TAPS) before stop()
        # returns, so they are charged to the test that stopped it.
        stderr_reader.join(timeout=10)
        for path in cleanup_paths:
            with contextlib.suppress(OSError):
                path.unlink()

    info = _ready_line(stdout_lines, ready_timeout)
    if isinstance(info, str):
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        cleanup()
        time.sleep(0.1)  # let the stderr reader catch up
        raise RunnerFailed(f"the local runner {info}:\n" + "\n".join(list(log)[-40:]))
    return RunningRunner(process, info, log, cleanup)


def _accounts_file(accounts: dict[str, Any] | str | Path, cleanup_paths: list[Path]) -> Path:
    """The accounts document as a file: a dict is written to a temporary one (removed at stop)."""
    if not isinstance(accounts, dict):
        return Path(accounts)
    handle, name = tempfile.mkstemp(prefix="local-runner-accounts-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(accounts, file, ensure_ascii=False)
    cleanup_paths.append(Path(name))
    return Path(name)


def _spawn(command: list[str]) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen(
        command,
        cwd=str(PROJECT_ROOT),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
    )


def _ready_line(stdout_lines: queue.Queue[str | None], ready_timeout: float) -> dict[str, Any] | str:
    """The runner's ready line as a dict, or why there is none ("exited", "was not ready ...")."""
    deadline = time.monotonic() + ready_timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            line = stdout_lines.get(timeout=max(0.05, remaining))
        except queue.Empty:
            line = ""
        if line is None:
            return "exited"
        if not line and time.monotonic() >= deadline:
            return f"was not ready within {ready_timeout:.0f} s"
        if line:
            try:
                info = json.loads(line)
            except ValueError:
                continue
            if isinstance(info, dict) and info.get("ready"):
                return info


@contextlib.contextmanager
def running(accounts: dict[str, Any] | str | Path, **kwargs: Any) -> Iterator[RunningRunner]:
    runner = start_runner(accounts, **kwargs)
    try:
        yield runner
    finally:
        runner.stop()


def wait_for(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.2, what: str = "condition"
) -> Any:
    """Poll until predicate() is truthy (and return it); AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
