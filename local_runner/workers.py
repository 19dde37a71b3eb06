"""The runner's side of the execution environments: worker subprocesses, per function.

Why it exists: the triggers (SQS, HTTP API, schedules, streams) only say "invoke function X
with this event"; this module owns the sandboxes that do it. Each function gets its own
long-lived ``worker.py`` process, started with the runner (the cold start happens then) and
kept warm; it is replaced by a cold one after a crash or a timeout. Its environment is built as
Lambda builds it from the stack's configuration, and its LambdaContext's deadline is the
function's Timeout. A sandbox runs one invocation at a time; when every sandbox of a function
is busy (concurrent pushes on the HTTP API), another is started, as Lambda scales out, up to
``--max-sandboxes`` (the pollers invoke one batch at a time, so they use one).

The functions' stdout/stderr (Powertools JSON logs, EMF metrics, tracebacks) never reach the
runner's stdout: each line is forwarded, prefixed with the function's logical id, to stderr or
to a log file. Every invocation is logged as ONE line on the ``local_runner.invoke`` logger.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from local_runner import iam as iam_module
from local_runner import worker as worker_module
from local_runner.embedded_aws import FAKE_CREDENTIALS
from local_runner.iam import Principal
from local_runner.stack import FunctionSpec

log = logging.getLogger("local_runner.workers")
invocations = logging.getLogger("local_runner.invoke")

_HEADER = struct.Struct(">I")
_WORKER_SCRIPT = Path(worker_module.__file__).resolve()
_IAM_MODULE = Path(iam_module.__file__).resolve()
# What the Lambda python3.x runtime itself provides: boto3 and its dependencies.
RUNTIME_DISTRIBUTIONS = ("boto3",)
INIT_TIMEOUT_SECONDS = 30.0  # Lambda allows 10 s of init; a laptop's first import is slower


class WorkerError(RuntimeError):
    pass


@dataclass
class InvocationResult:
    ok: bool
    payload: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    init_ms: float | None = None  # set on a cold start
    request_id: str = ""

    @property
    def error_text(self) -> str:
        if not self.error:
            return ""
        return f"{self.error.get('errorType', 'Error')}: {self.error.get('errorMessage', '')}"[:300]


# --------------------------------------------------------------------------- the runtime's boto3


def _distribution_closure(names: tuple[str, ...]) -> list[importlib.metadata.Distribution]:
    seen: dict[str, importlib.metadata.Distribution] = {}
    pending = list(names)
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        seen[key] = dist
        for requirement in dist.requires or []:
            if "extra ==" in requirement.replace('"', "").replace("'", ""):
                continue
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
            if match:
                pending.append(match.group(1))
    return list(seen.values())


def _top_level_names(dist: importlib.metadata.Distribution) -> set[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return {line.strip() for line in text.splitlines() if line.strip()}
    names = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".egg-info", ".data")) or first in {"..", "__pycache__", "bin"}:
            continue
        names.add(first[:-3] if first.endswith(".py") and len(file.parts) == 1 else first)
    return names


def make_runtime_dir() -> Path:
    """A directory with (links to) exactly the packages the Lambda runtime adds to a function.

    Workers do not see the runner's site-packages: a dependency missing from a layer fails
    here as it would in Lambda, instead of being found in the runner's virtualenv. Next to it,
    ``home`` is the sandboxes' empty HOME (no ~/.aws, ~/.netrc or ~/.config of the laptop).
    """
    base = Path(tempfile.mkdtemp(prefix="local-runner-runtime-"))
    (base / "home").mkdir()
    directory = base / "python"
    directory.mkdir()
    for dist in _distribution_closure(RUNTIME_DISTRIBUTIONS):
        base = Path(str(dist.locate_file("")))
        for name in _top_level_names(dist):
            for candidate in (base / name, base / f"{name}.py"):
                if candidate.exists() and not (directory / candidate.name).exists():
                    (directory / candidate.name).symlink_to(candidate)
    return directory


# --------------------------------------------------------------------------- output forwarding


class OutputSink:
    """Where the functions' own output goes: stderr (default) or a file; one prefixed line each."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.Lock()
        self._file: TextIO | None = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def write(self, source: str, line: str) -> None:
        target = self._file or sys.stderr
        with self._lock:
            target.write(f"[{source}] {line.rstrip()}\n")
            target.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


# --------------------------------------------------------------------------- one sandbox


#: the error of a sandbox that never said it was ready
_NO_ANSWER = {"errorType": "Runtime.Unknown", "errorMessage": "no answer"}


def _write_frame(fd: int, message: dict[str, Any]) -> None:
    """One length-prefixed JSON frame to the worker."""
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    data = _HEADER.pack(len(body)) + body
    while data:
        data = data[os.write(fd, data) :]


class FunctionWorker:
    def __init__(
        self,
        spec: FunctionSpec,
        *,
        region: str,
        endpoint: str,
        runtime_dir: Path,
        sink: OutputSink,
        python: str = sys.executable,
        label: str | None = None,
        principal: Principal | None = None,
        extra_environment: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.principal = principal  # None: its AWS calls are not checked against a role
        self._extra_environment = extra_environment or {}
        self.label = label or spec.logical_id  # the prefix of its output lines
        self._region = region
        self._endpoint = endpoint
        self._runtime_dir = runtime_dir
        self._sink = sink
        self._python = python
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._to_worker = -1
        self._from_worker = -1
        self._buffer = b""
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> float:
        """Start the sandbox and import the handler (the init phase); returns init ms."""
        with self._lock:
            return self._start()

    def _start(self) -> float:
        self._kill()
        spec = self.spec
        log_stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        started = time.monotonic()
        try:
            environment = sandbox_environment(
                spec,
                runtime_dir=self._runtime_dir,
                region=self._region,
                endpoint=self._endpoint,
                extra=self._extra_environment,
                log_stream=log_stream,
            )
            process = _spawn_worker(self._python, spec, environment, to_worker_r, from_worker_w)
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
        self._process = process
        self._to_worker, self._from_worker = to_worker_w, from_worker_r
        self._buffer = b""
        threading.Thread(
            target=self._forward_output, args=(process,), name=f"output-{spec.logical_id}", daemon=True
        ).start()
        _write_frame(self._to_worker, _init_message(spec, self._runtime_dir, log_stream, self.principal))
        try:
            reply = self._receive(time.monotonic() + INIT_TIMEOUT_SECONDS)
        except EOFError:
            reply = None
        if reply is None or reply.get("type") != "ready":
            self._kill()
            error = (reply or {}).get("error") or _NO_ANSWER
            raise WorkerError(f"{error.get('errorType')}: {error.get('errorMessage')}")
        return (time.monotonic() - started) * 1000

    def _forward_output(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            self._sink.write(self.label, raw.decode("utf-8", errors="replace"))
        process.stdout.close()

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """One frame, or None when the deadline passes; EOFError when the worker is gone."""
        while True:
            if len(self._buffer) >= _HEADER.size:
                (length,) = _HEADER.unpack(self._buffer[: _HEADER.size])
                if len(self._buffer) >= _HEADER.size + length:
                    body = self._buffer[_HEADER.size : _HEADER.size + length]
                    self._buffer = self._buffer[_HEADER.size + length :]
                    return json.loads(body.decode("utf-8"))  # type: ignore[no-any-return]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._from_worker], [], [], min(remaining, 0.5))
            if not ready:
                continue
            chunk = os.read(self._from_worker, 65536)
            if not chunk:
                raise EOFError("the worker closed its channel")
            self._buffer += chunk

    # ------------------------------------------------------------------ invoke
    def invoke(self, event: Any) -> InvocationResult:
        with self._lock:
            if self._stopping:
                return InvocationResult(
                    False, error={"errorType": "Runner.Stopping", "errorMessage": "stopping"}
                )
            init_ms = None
            started = time.monotonic()
            if not self.alive:
                try:
                    init_ms = self._start()
                except (WorkerError, OSError) as exc:
                    return InvocationResult(
                        False,
                        error={"errorType": "Runtime.InitError", "errorMessage": str(exc)},
                        duration_ms=(time.monotonic() - started) * 1000,
                    )
            request_id = str(uuid.uuid4())
            timeout = float(self.spec.timeout)
            begun = time.monotonic()
            deadline_ms = int(time.time() * 1000 + timeout * 1000)
            exited = False
            try:
                _write_frame(
                    self._to_worker,
                    {"type": "invoke", "request_id": request_id, "event": event, "deadline_ms": deadline_ms},
                )
                reply = self._receive(begun + timeout + 0.5)
            except (OSError, EOFError):
                reply, exited = None, True
            duration = (time.monotonic() - begun) * 1000
            if reply is None:
                code = self._kill(grace=2.0 if exited else 0.0)
                error = (
                    {
                        "errorType": "Runtime.ExitError",
                        "errorMessage": f"Runtime exited with status {code}",
                    }
                    if exited
                    else {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"Task timed out after {timeout:.2f} seconds",
                    }
                )
                return InvocationResult(
                    False, error=error, duration_ms=duration, init_ms=init_ms, request_id=request_id
                )
            if reply.get("ok"):
                payload = json.loads(reply.get("payload") or "null")
                return InvocationResult(
                    True, payload=payload, duration_ms=duration, init_ms=init_ms, request_id=request_id
                )
            return InvocationResult(
                False, error=reply.get("error"), duration_ms=duration, init_ms=init_ms, request_id=request_id
            )

    # ------------------------------------------------------------------ stop
    def _kill(self, grace: float = 0.0) -> int | None:
        """End the sandbox (after ``grace`` seconds to exit by itself); its exit status."""
        process, self._process = self._process, None
        for fd in (self._to_worker, self._from_worker):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._to_worker = self._from_worker = -1
        if process is None:
            return None
        if grace:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace)
        if process.poll() is None:
            process.kill()
        try:
            return process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 3.0) -> None:
        """Let a running invocation finish (``timeout`` at most), ask the sandbox to exit, or kill it."""
        self._stopping = True
        if not self._lock.acquire(timeout=timeout):
            process = self._process
            if process is not None:
                # The invoking thread sees the sandbox go (EOF) and cleans up after it.
                with contextlib.suppress(OSError):
                    os.killpg(process.pid, signal.SIGKILL)
            return
        try:
            if self.alive:
                with contextlib.suppress(OSError):
                    _write_frame(self._to_worker, {"type": "stop"})
            self._kill(grace=timeout)
        finally:
            self._lock.release()


# --------------------------------------------------------------------------- all of them


def sandbox_environment(
    spec: FunctionSpec,
    *,
    runtime_dir: Path,
    region: str,
    endpoint: str,
    extra: dict[str, str],
    log_stream: str,
) -> dict[str, str]:
    """The environment of one sandbox: what Lambda sets, the stack's variables, fake credentials."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(runtime_dir.parent / "home"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    env.update(spec.environment)  # the stack's resolved Environment.Variables
    env.update(FAKE_CREDENTIALS)
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            **extra,
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
            # The laptop's ~/.aws must not leak a profile, region or endpoint into a sandbox.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )
    return env


def _init_message(
    spec: FunctionSpec, runtime_dir: Path, log_stream: str, principal: Principal | None
) -> dict[str, Any]:
    """The init frame: what the worker imports, and the role it checks AWS calls against."""
    return {
        "type": "init",
        "handler": spec.handler,
        "code_dir": str(spec.code_dir),
        "layer_dirs": [str(d) for d in spec.layer_dirs],
        "runtime_dirs": [str(runtime_dir)],
        "function_name": spec.name,
        "function_arn": spec.arn,
        "memory_mb": spec.memory,
        "log_group": f"/aws/lambda/{spec.name}",
        "log_stream": log_stream,
        "iam_module": str(_IAM_MODULE),
        "iam": None
        if principal is None
        else {
            "function": principal.function,
            "role_arn": principal.role_arn,
            "account": principal.account,
            "documents": list(principal.documents),
        },
    }


def _spawn_worker(
    python: str, spec: FunctionSpec, environment: dict[str, str], read_fd: int, write_fd: int
) -> subprocess.Popen[bytes]:
    """The sandbox process: isolated interpreter, the worker script, its two pipe ends."""
    return subprocess.Popen(
        [python, "-I", "-S", "-u", "-X", "utf8", str(_WORKER_SCRIPT), str(read_fd), str(write_fd)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=(read_fd, write_fd),
        env=environment,
        cwd=str(spec.code_dir),
        start_new_session=True,  # Ctrl-C reaches the runner, which stops the sandboxes
    )


class FunctionPool:
    """One function's sandboxes: the first started with the runner, more on demand.

    An invocation takes the most recently used idle sandbox (warm). When all are busy (an HTTP
    API under concurrent pushes), another one is started, a cold start, as Lambda scales out,
    up to ``max_sandboxes``; beyond that the invocation waits for one to be free.
    """

    def __init__(self, spec: FunctionSpec, max_sandboxes: int, make: Callable[[str], FunctionWorker]) -> None:
        self.spec = spec
        self.max_sandboxes = max(1, max_sandboxes)
        self._make = make
        self.sandboxes: list[FunctionWorker] = [make(spec.logical_id)]
        self._idle: list[FunctionWorker] = list(self.sandboxes)
        self._changed = threading.Condition()
        self._stopping = False

    def start(self) -> float:
        return self.sandboxes[0].start()

    def invoke(self, event: Any) -> tuple[InvocationResult, float]:
        """The result, and the milliseconds spent waiting for a free sandbox."""
        asked = time.monotonic()
        with self._changed:
            while not self._idle and len(self.sandboxes) >= self.max_sandboxes and not self._stopping:
                self._changed.wait()
            if self._stopping:
                return InvocationResult(
                    False, error={"errorType": "Runner.Stopping", "errorMessage": "stopping"}
                ), 0
            if self._idle:
                sandbox = self._idle.pop()
            else:
                sandbox = self._make(f"{self.spec.logical_id}#{len(self.sandboxes) + 1}")
                self.sandboxes.append(sandbox)
        waited = (time.monotonic() - asked) * 1000
        try:
            return sandbox.invoke(event), waited
        finally:
            with self._changed:
                self._idle.append(sandbox)
                self._changed.notify()

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
            sandboxes = list(self.sandboxes)
        threads = [threading.Thread(target=s.stop) for s in sandboxes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


class Functions:
    """Every function's worker, and the one place invocations are made and logged."""

    def __init__(
        self,
        specs: dict[str, FunctionSpec],
        *,
        region: str,
        endpoint: str,
        function_log: str | None = None,
        max_sandboxes: int = 1,
        principals: dict[str, Principal] | None = None,
        extra_environment: dict[str, str] | None = None,
    ) -> None:
        self.specs = specs
        self.runtime_dir = make_runtime_dir()
        self.sink = OutputSink(function_log)

        def maker(spec: FunctionSpec) -> Callable[[str], FunctionWorker]:
            def make(label: str) -> FunctionWorker:
                return FunctionWorker(
                    spec,
                    region=region,
                    endpoint=endpoint,
                    runtime_dir=self.runtime_dir,
                    sink=self.sink,
                    label=label,
                    principal=(principals or {}).get(spec.logical_id),
                    extra_environment=extra_environment,
                )

            return make

        self.pools = {
            logical_id: FunctionPool(spec, max_sandboxes, maker(spec)) for logical_id, spec in specs.items()
        }

    def start_all(self) -> dict[str, float]:
        """Start every sandbox in parallel (cold starts happen now, not on the first event)."""
        results: dict[str, float | BaseException] = {}

        def start(logical_id: str) -> None:
            try:
                results[logical_id] = self.pools[logical_id].start()
            except BaseException as exc:
                results[logical_id] = exc

        threads = [threading.Thread(target=start, args=(lid,)) for lid in self.pools]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failures = {lid: r for lid, r in results.items() if isinstance(r, BaseException)}
        if failures:
            raise WorkerError(
                "; ".join(f"{lid}: {exc}" for lid, exc in sorted(failures.items()))
                + " (see the function output above)"
            )
        return {lid: float(r) for lid, r in results.items()}  # type: ignore[arg-type]

    def invoke(
        self,
        logical_id: str,
        event: Any,
        *,
        trigger: str,
        records: int | None = None,
        outcome: Callable[[InvocationResult], str] | None = None,
    ) -> InvocationResult:
        result, waited_ms = self.pools[logical_id].invoke(event)
        text = outcome(result) if outcome else ("ok" if result.ok else f"error ({result.error_text})")
        parts = [f"invoke {logical_id}", f"trigger={trigger}"]
        if records is not None:
            parts.append(f"records={records}")
        parts += [f"outcome={text}", f"duration_ms={result.duration_ms:.0f}"]
        if result.init_ms is not None:
            parts.append(f"cold_start_ms={result.init_ms:.0f}")
        if waited_ms >= 50:
            parts.append(f"waited_ms={waited_ms:.0f}")
        invocations.info(" ".join(parts))
        return result

    def stop(self) -> None:
        threads = [threading.Thread(target=pool.stop) for pool in self.pools.values()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.sink.close()
        shutil.rmtree(self.runtime_dir.parent, ignore_errors=True)
