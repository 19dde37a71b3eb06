"""Cold import of each handler as Lambda loads it, against a bare ``import boto3`` in the same run.

Each figure is a fresh interpreter importing the handler module with exactly Lambda's search path:
the function's ``sam build`` directory (the task root), then each built layer's ``python``
directory (``/opt/python``), then the packages the runtime adds (boto3 and its closure, as the
local runner links them). Nothing else: no virtualenv site-packages (``-S``), no PYTHON*
variables (``-I``), and no bytecode written (``-B``), because ``/opt`` is read-only in Lambda:
whatever the layer does not ship compiled is compiled again at every cold start. Tracing is on
(LAMBDA_TASK_ROOT set, POWERTOOLS_TRACE_DISABLED unset), as ``Tracing: Active`` makes it.

The reference is ``import boto3`` with the same interpreter, flags and environment. Runs
alternate (reference, handler, reference, ...) so that a drift of the machine's speed hits both;
the figure is the ratio of the medians.

A second reference, the stack's floor, says how much of a handler's import is the gateway's own:
a fresh interpreter imports, in the same order, every module the handler's import loaded except
the gateway's (``sms_gateway`` and the function's own files): the same boto3, Powertools,
pydantic (the internals its first model loads included), requests, phone metadata, X-Ray SDK and
standard library, with none of our classes, models, tables or objects built. The handler over the
floor is the price of our code; the floor over boto3 is the price of the stack it stands on.
Needs ``make build``. Prints, never judges.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"
RUNS = int(os.environ.get("COLD_IMPORT_RUNS", "9"))
LAYER_TARGET_MB = 15.0
IMPORT_TARGET = 2.0
# Send and callback first: they answer the traffic.
FUNCTIONS = (
    "SendFunction",
    "CallbackFunction",
    "PublishFunction",
    "PollReportsFunction",
    "PollInboundFunction",
    "PollBalanceFunction",
    "StatusFunction",
)

_CHILD = """
import sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
import {module}
sys.stdout.write(repr(time.perf_counter() - start))
"""

# Lists, in the order they were loaded, the modules a handler's import loaded that are not ours.
_LIST_STACK = """
import json, sys
sys.path[:0] = {paths!r}
before = set(sys.modules)
import app
ours = ({task_root!r}, {package!r})
def theirs(name):
    path = getattr(sys.modules[name], "__file__", None) or ""
    return name not in before and name != "app" and not path.startswith(ours)
sys.stdout.write(json.dumps([name for name in sys.modules if theirs(name)]))
"""

# Imports those modules, each as its own import statement would: the stack's floor.
_FLOOR = """
import importlib, sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
for name in {modules!r}:
    try:
        importlib.import_module(name)
    except Exception:
        pass  # an alias a package put into sys.modules by hand: its package loads it
sys.stdout.write(repr(time.perf_counter() - start))
"""


def layer_dirs() -> list[Path]:
    return sorted(p for p in BUILD.iterdir() if p.is_dir() and p.name.endswith("Layer"))


def unpacked_mb(directory: Path) -> float:
    """What Lambda counts against its unzipped limit: the bytes of every file (1 MB = 10^6 bytes)."""
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 1e6


def search_path(function: str, runtime_dir: Path) -> list[str]:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    paths = [BUILD / function]
    for layer in layer_dirs():
        paths += [layer / "python" / "lib" / version / "site-packages", layer / "python"]
    paths.append(runtime_dir)
    return [str(p) for p in paths if p.is_dir()]


def environment(function: str) -> dict[str, str]:
    # What Lambda and the template's Globals give every function, tracing on.
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "LAMBDA_TASK_ROOT": str(BUILD / function),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": "bench-table",
        "POWERTOOLS_SERVICE_NAME": "sms-gateway",
        "POWERTOOLS_METRICS_NAMESPACE": "SmsGateway",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def one_import(module: str, paths: list[str], env: dict[str, str]) -> float:
    """Seconds a fresh interpreter spends in ``import module``, measured inside it."""
    return float(_run(_CHILD.format(paths=paths, module=module), env))


def stack_modules(paths: list[str], env: dict[str, str]) -> list[str]:
    """The modules the handler's import loads that are not the gateway's, in load order."""
    package = str(BUILD / "SharedLayer" / "python" / "sms_gateway")
    code = _LIST_STACK.format(paths=paths, task_root=env["LAMBDA_TASK_ROOT"], package=package)
    return [str(name) for name in json.loads(_run(code, env))]


def floor_import(modules: list[str], paths: list[str], env: dict[str, str]) -> float:
    """Seconds a fresh interpreter spends importing ``modules`` (the stack's floor)."""
    return float(_run(_FLOOR.format(paths=paths, modules=modules), env))


def _run(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=env["LAMBDA_TASK_ROOT"],
    )
    if done.returncode != 0:
        raise RuntimeError(f"import failed: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout


def compare(function: str, runtime_dir: Path) -> tuple[float, float, float]:
    """Medians of the handler's import, of ``import boto3`` and of the stack's floor."""
    paths = search_path(function, runtime_dir)
    env = environment(function)
    modules = stack_modules(paths, env)  # also warms the page cache, not the bytecode (-B)
    handler, reference, floor = [], [], []
    for _ in range(RUNS):
        reference.append(one_import("boto3", paths, env))
        handler.append(one_import("app", paths, env))
        floor.append(floor_import(modules, paths, env))
    return statistics.median(handler), statistics.median(reference), statistics.median(floor)


def main() -> None:
    if not (BUILD / "SendFunction").is_dir():
        print("cold import: no .aws-sam/build; run `make build` first")
        return
    sys.path.insert(0, str(ROOT))
    from local_runner.workers import make_runtime_dir  # noqa: PLC0415 - the runner's own runtime

    runtime_dir = make_runtime_dir()
    layers = layer_dirs()
    total = sum(unpacked_mb(d) for d in layers)
    sizes = ", ".join(f"{d.name} {unpacked_mb(d):.1f} MB" for d in layers)
    print(
        f"layers unpacked: {sizes}; total {total:.1f} MB vs target {LAYER_TARGET_MB:.0f} MB"
        f" = {total / LAYER_TARGET_MB:.2f}x"
    )
    pyc = sum(1 for d in layers for _ in d.rglob("*.pyc"))
    print(f"layers ship {pyc} .pyc files")
    started = time.perf_counter()
    for function in FUNCTIONS:
        if not (BUILD / function).is_dir():
            continue
        handler, reference, floor = compare(function, runtime_dir)
        print(
            f"cold import {function}: {handler * 1000:.0f} ms vs import boto3 {reference * 1000:.0f} ms"
            f" = {handler / reference:.2f}x (target {IMPORT_TARGET:.1f}x; median of {RUNS});"
            f" its stack alone {floor * 1000:.0f} ms = {floor / reference:.2f}x boto3;"
            f" our code {(handler - floor) * 1000:.0f} ms = {handler / floor:.2f}x the stack"
        )
    print(f"cold import bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
