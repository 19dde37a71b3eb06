"""``python -m local_runner``: the command line ``make local`` runs.

Why it exists: one process a developer (or a test, or the demo) starts and stops. Its stdout
carries exactly ONE line, the JSON ready line; everything else (the runner's log, one line per
invocation, the functions' own output) goes to stderr, so a parent process can read the ready
line safely. SIGINT and SIGTERM stop it cleanly with exit status 0; a start-up failure exits 2
with the reason on stderr and no ready line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from local_runner.runner import DEFAULT_BUILD_DIR, LocalRunner, RunnerConfig


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = "" if record.levelno < logging.WARNING else f"{record.levelname} "
        message = (
            f"{self.formatTime(record, '%H:%M:%S')}.{int(record.msecs):03d} {prefix}{record.getMessage()}"
        )
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return message


def _parameter(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected Key=Value, got {text!r}")
    return key, value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local_runner",
        description="Run the SAM template's functions and triggers locally on an embedded AWS (moto).",
    )
    parser.add_argument(
        "--accounts", required=True, type=Path, help="accounts document (JSON) to store in SSM"
    )
    parser.add_argument(
        "--api-port", type=int, default=3000, help="HTTP API port on 127.0.0.1 (0: any free port)"
    )
    parser.add_argument(
        "--aws-port", type=int, default=5000, help="embedded AWS port on 127.0.0.1 (0: any free port)"
    )
    parser.add_argument("--poll-seconds", type=float, default=5.0, help="how often scheduled functions run")
    parser.add_argument(
        "--build-dir", type=Path, default=DEFAULT_BUILD_DIR, help="sam build output directory"
    )
    parser.add_argument("--stack-name", default="sms-gateway-local")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    parser.add_argument(
        "--parameter-overrides",
        nargs="*",
        type=_parameter,
        default=[],
        metavar="KEY=VALUE",
        help="template parameter values (as sam deploy --parameter-overrides)",
    )
    parser.add_argument(
        "--max-batch-window",
        type=float,
        default=1.0,
        help="cap of the event source mappings' MaximumBatchingWindowInSeconds, locally (seconds)",
    )
    parser.add_argument(
        "--max-sandboxes",
        type=int,
        default=4,
        help="sandboxes per function at most; more start on demand when all are busy (as Lambda scales out)",
    )
    parser.add_argument(
        "--no-iam",
        action="store_true",
        help="do not check the functions' AWS calls against their roles (checked by default)",
    )
    parser.add_argument(
        "--moto-dynamodb",
        action="store_true",
        help="serve the tables from moto instead of DynamoDB Local (used when Java or the jar is missing)",
    )
    parser.add_argument("--function-log", help="write the functions' own output here instead of stderr")
    parser.add_argument(
        "--state-file",
        type=Path,
        help="also write the ready line here (sms-gateway --local reads it); removed on stop",
    )
    parser.add_argument("--verbose", action="store_true", help="debug logging of the runner")
    args = parser.parse_args(argv)
    if args.poll_seconds <= 0:
        parser.error("--poll-seconds must be positive")
    if args.max_sandboxes < 1:
        parser.error("--max-sandboxes must be at least 1")
    return args


def _private_stdout() -> TextIO:
    """Keep fd 1 for the ready line only: anything else that writes to stdout lands on stderr."""
    sys.stdout.flush()
    ready_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(ready_fd, "w", encoding="utf-8", buffering=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ready_out = _private_stdout()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, handlers=[handler], force=True)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "moto", "samtranslator"):
        logging.getLogger(noisy).setLevel(logging.WARNING if not args.verbose else logging.INFO)
    log = logging.getLogger("local_runner")

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        document = json.loads(args.accounts.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.error("cannot read the accounts document %s: %s", args.accounts, exc)
        return 2
    if not isinstance(document, dict):
        log.error("the accounts document must be a JSON object")
        return 2

    runner = LocalRunner(
        RunnerConfig(
            accounts=document,
            api_port=args.api_port,
            aws_port=args.aws_port,
            poll_seconds=args.poll_seconds,
            build_dir=args.build_dir,
            stack_name=args.stack_name,
            region=args.region,
            parameter_overrides=dict(args.parameter_overrides),
            max_batch_window=args.max_batch_window,
            function_log=args.function_log,
            max_sandboxes=args.max_sandboxes,
            enforce_iam=not args.no_iam,
            dynamodb_local=not args.moto_dynamodb,
        )
    )
    try:
        info = runner.start()
    except Exception as exc:
        log.error("could not start: %s", exc, exc_info=args.verbose)
        return 2
    if stop.is_set():  # a signal arrived while starting
        runner.stop()
        return 0
    ready_out.write(json.dumps(info, ensure_ascii=False) + "\n")
    ready_out.flush()
    if args.state_file:
        args.state_file.write_text(json.dumps(info, ensure_ascii=False) + "\n", encoding="utf-8")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        runner.stop()
        if args.state_file:
            args.state_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
