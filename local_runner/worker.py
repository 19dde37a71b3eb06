"""One function's execution environment: a long-lived subprocess, as a warm Lambda sandbox.

Why it exists: each function runs in its OWN interpreter, so the modules every function calls
``app`` never collide, module-level state (boto3 clients, caches, Powertools) stays warm
between invocations as in Lambda, and a crash or a timeout kills one sandbox, not the runner.

This file is started as a script with ``python -I -S -u -X utf8 worker.py FD_IN FD_OUT``:
isolated (no PYTHONPATH, no current directory, no site-packages), so ``sys.path`` is exactly
what Lambda builds: the function's ``sam build`` directory, each layer's ``python`` (and
``python/lib/pythonX.Y/site-packages``) directory, then the runtime's own packages (boto3 and
its dependencies, as the python3.x runtime provides them). It therefore imports nothing but
the standard library itself.

Protocol: length-prefixed JSON frames (4-byte big-endian length, UTF-8 JSON) on two inherited
pipe file descriptors, never on stdout/stderr, which carry the function's own logs and EMF
metrics (the runner forwards them to its stderr or a log file).

    runner -> worker  {"type": "init", "handler", "code_dir", "layer_dirs", "runtime_dirs",
                       "function_name", "function_arn", "memory_mb", "log_group", "log_stream",
                       "iam_module", "iam": {"function", "role_arn", "account", "documents"} | null}
    worker -> runner  {"type": "ready", "init_ms"} | {"type": "init_error", "error": {...}}
    runner -> worker  {"type": "invoke", "request_id", "event", "deadline_ms"}
    worker -> runner  {"type": "result", "request_id", "ok": true, "payload": <JSON text>}
                    | {"type": "result", "request_id", "ok": false, "error": {...}}

An error is Lambda's shape: errorType, errorMessage, stackTrace. Timeouts are the runner's
business: it kills a sandbox that overruns its deadline, as Lambda does.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import struct
import sys
import time
import traceback
from typing import Any

_HEADER = struct.Struct(">I")


def read_frame(fd: int) -> dict[str, Any] | None:
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    body = _read_exactly(fd, length)
    if body is None:
        return None
    return json.loads(body.decode("utf-8"))  # type: ignore[no-any-return]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def write_frame(fd: int, message: dict[str, Any]) -> None:
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    data = _HEADER.pack(len(body)) + body
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__)[1:],
    }


class LambdaContext:
    """What the Python runtime passes as ``context``."""

    def __init__(self, init: dict[str, Any], request_id: str, deadline_ms: int) -> None:
        self.function_name: str = init["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn: str = init["function_arn"]
        self.memory_limit_in_mb = int(init["memory_mb"])
        self.aws_request_id = request_id
        self.log_group_name: str = init["log_group"]
        self.log_stream_name: str = init["log_stream"]
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r})"


def _enforce_iam(module_path: str, role: dict[str, Any]) -> None:
    """The function's role checked on each of its AWS calls (local_runner/iam.py), before the
    handler's module (and any client it creates) is imported. Loaded by path under a private
    name, so nothing of the runner joins the function's sys.path."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location("_local_runner_iam", module_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the IAM check from {module_path}")
    iam = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = iam  # dataclasses look their module up
    spec.loader.exec_module(iam)
    principal = iam.Principal(
        function=role["function"],
        role_arn=role["role_arn"],
        account=role["account"],
        documents=tuple(role["documents"]),
    )
    iam.install(iam.Enforcer(lambda: principal, iam.to_stderr))


def _load_handler(init: dict[str, Any]) -> Any:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    paths = [init["code_dir"]]
    for layer in init["layer_dirs"]:
        paths += [
            os.path.join(layer, "python", "lib", version, "site-packages"),
            os.path.join(layer, "python"),
        ]
    paths += list(init["runtime_dirs"])
    sys.path[:0] = [p for p in paths if os.path.isdir(p)]
    os.chdir(init["code_dir"])  # Lambda's working directory is the task root
    if init.get("iam"):
        _enforce_iam(init["iam_module"], init["iam"])
    module_name, _, function_name = init["handler"].rpartition(".")
    if not module_name:
        raise ValueError(f"bad handler {init['handler']!r}: expected module.function")
    module = importlib.import_module(module_name.replace("/", "."))
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise AttributeError(f"handler {function_name!r} missing on module {module_name!r}")
    return handler


def main(argv: list[str]) -> int:
    fd_in, fd_out = int(argv[1]), int(argv[2])
    # The runner decides when a sandbox stops: Ctrl-C in a terminal reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    init = read_frame(fd_in)
    if init is None or init.get("type") != "init":
        return 2
    started = time.monotonic()
    try:
        handler = _load_handler(init)
    except BaseException as exc:
        traceback.print_exc()
        error_type = (
            "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        )
        write_frame(fd_out, {"type": "init_error", "error": _error(exc, error_type)})
        return 1
    write_frame(fd_out, {"type": "ready", "init_ms": round((time.monotonic() - started) * 1000, 1)})

    while True:
        message = read_frame(fd_in)
        if message is None or message.get("type") == "stop":
            return 0
        request_id = message["request_id"]
        context = LambdaContext(init, request_id, int(message["deadline_ms"]))
        if message.get("trace_id"):
            os.environ["_X_AMZN_TRACE_ID"] = message["trace_id"]
        reply: dict[str, Any] = {"type": "result", "request_id": request_id}
        try:
            result = handler(message["event"], context)
        except Exception as exc:
            # As the runtime does: the error is logged to the function's output and returned.
            print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc()
            reply.update(ok=False, error=_error(exc))
        else:
            try:
                reply.update(ok=True, payload=json.dumps(result, ensure_ascii=False))
            except (TypeError, ValueError) as exc:
                reply.update(ok=False, error=_error(exc, "Runtime.MarshalError"))
        sys.stdout.flush()
        sys.stderr.flush()
        write_frame(fd_out, reply)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
