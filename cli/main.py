"""``sms-gateway``: status questions (through the status API) and recovery operations, against a
deployed stack (``--stack NAME``) or the local runner (``--local STATE_FILE``).

Exit codes: 0 done, 1 the answer is a refusal (not found, invalid input, items left), 2 the
command could not run (no target, unreachable, unreadable file).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from cli import render, suppression
from cli.target import CommandRefused, Target, TargetError, from_stack, from_state_file

OK, REFUSED, FAILED = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sms-gateway", description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="a deployed stack, found by name through its outputs")
    where.add_argument("--local", type=Path, metavar="STATE_FILE", help="the local runner's --state-file")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    parser.add_argument("--json", action="store_true", help="JSON for scripts instead of tables")
    commands = parser.add_subparsers(dest="command", required=True)
    status = commands.add_parser("status", help="a message: request, recipients, every report")
    status.add_argument("id")
    status.add_argument("--show-content", action="store_true", help="show the request's text")
    number = commands.add_parser("number", help="what we sent to a number (any form), newest first")
    number.add_argument("number")
    number.add_argument("--since")
    number.add_argument("--until")
    account = commands.add_parser("account", help="balance, pending, token state, the last hour's counts")
    account.add_argument("name")
    for name, text in (
        ("redrive", "dead letters back to the send queue"),
        ("republish", "parked changes back to the bus"),
    ):
        commands.add_parser(name, help=text).add_argument("--dry-run", action="store_true")
    replay = commands.add_parser("replay", help="kept pushes and pulled batches through the current parser")
    replay.add_argument("account")
    replay.add_argument("--since", required=True, help="UTC ISO 8601, e.g. 2026-12-01T00:00:00Z")
    replay.add_argument("--until", required=True)
    replay.add_argument("--dry-run", action="store_true")
    suppression.add_parser(commands)
    check = commands.add_parser("check-accounts", help="validate an accounts document offline")
    check.add_argument("file", type=Path)
    return parser


def main(argv: list[str] | None = None, *, target: Target | None = None, out: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)
    stream = out or sys.stdout
    try:
        if args.command == "check-accounts":
            return check_accounts(args.file, args.json, stream)
        where = target or _target(args)
        return _run(args, where, stream)
    except CommandRefused as exc:
        sys.stderr.write(f"sms-gateway: {exc}\n")
        return REFUSED
    except TargetError as exc:
        sys.stderr.write(f"sms-gateway: {exc}\n")
        return FAILED


def _target(args: argparse.Namespace) -> Target:
    if args.local:
        return from_state_file(args.local)
    if args.stack:
        return from_stack(args.stack, args.region)
    raise TargetError("say where: --stack NAME (a deployed stack) or --local STATE_FILE (the local runner)")


def _run(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    if args.command in {"status", "number", "account"}:
        return _ask(args, target, out)
    if args.command == "suppression":
        suppression.run(args, target, out)
        return OK
    from cli import operations  # noqa: PLC0415 - the shared package's send and ingest paths

    if args.command == "redrive":
        outcome = operations.redrive(
            target.client("sqs"),
            target.output("SendDeadLetterQueueUrl"),
            target.output("SendQueueUrl"),
            dry_run=args.dry_run,
        )
    elif args.command == "republish":
        outcome = operations.republish(
            target.client("sqs"),
            target.output("PublishFailureQueueUrl"),
            _publisher(target),
            dry_run=args.dry_run,
        )
    else:
        outcome = _replay(args, target)
    result = outcome.as_json()
    render.as_json(result, out) if args.json else render.operation(result, out)
    return REFUSED if any(row["action"] == "refused again; kept" for row in outcome.left) else OK


def _ask(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    if args.command == "status":
        answer, status = _all_pages(
            target, f"/messages/{args.id}", {"content": "show"} if args.show_content else {}
        )
        show = render.message
    elif args.command == "number":
        query = {k: v for k, v in (("since", args.since), ("until", args.until)) if v}
        answer, status = _all_pages(target, f"/recipients/{args.number}/messages", query, key="messages")
        show = render.number
    else:
        status, answer = target.get(f"/accounts/{args.name}", {})
        show = render.account
    if status != 200:
        sys.stderr.write(f"sms-gateway: {status} {(answer or {}).get('error', '')}\n")
        return REFUSED if 400 <= status < 500 else FAILED
    render.as_json(answer, out) if args.json else show(answer, out)
    return OK


def _all_pages(
    target: Target, path: str, query: dict[str, str], key: str = "recipients", max_pages: int = 100
) -> tuple[dict[str, Any], int]:
    status, first = target.get(path, {**query, "limit": "1000"})
    if status != 200:
        return first, status
    page = first
    for _ in range(max_pages):
        if not page.get("next_cursor"):
            break
        status, page = target.get(path, {**query, "limit": "1000", "cursor": page["next_cursor"]})
        if status != 200:
            return page, status
        first[key] += page[key]
        first["next_cursor"] = page.get("next_cursor")
    return first, 200


def _publisher(target: Target) -> Any:
    from sms_gateway.publishing import Publisher  # noqa: PLC0415

    # The parked entries name their bus and source; these only fill a publisher's fields.
    return Publisher(target.outputs.get("EventBusName", ""), "sms.gateway", target.client("events"))


def _replay(args: argparse.Namespace, target: Target) -> Any:
    from cli import operations  # noqa: PLC0415
    from sms_gateway.accounts import AccountRegistry  # noqa: PLC0415
    from sms_gateway.status.cursor import InvalidQuery  # noqa: PLC0415
    from sms_gateway.status.reader import utc_bound  # noqa: PLC0415
    from sms_gateway.store.facade import Store  # noqa: PLC0415

    ssm = target.client("ssm")
    document = ssm.get_parameter(Name=target.output("AccountsParameterName"), WithDecryption=True)
    registry = AccountRegistry.parse(json.loads(document["Parameter"]["Value"]))
    db = target.client("dynamodb")
    store = Store(target.output("TableName"), dynamodb=db)
    try:
        since, until = utc_bound("--since", args.since), utc_bound("--until", args.until)
    except InvalidQuery as exc:
        raise CommandRefused(str(exc)) from None
    return operations.replay(
        store, db, registry, args.account, str(since), until=str(until), dry_run=args.dry_run
    )


def check_accounts(path: Path, as_json: bool, out: TextIO) -> int:
    """Validate offline; report field paths and messages only, never a value (values are secrets)."""
    from sms_gateway.accounts import AccountRegistry  # noqa: PLC0415
    from sms_gateway.errors import ConfigurationError  # noqa: PLC0415

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"sms-gateway: cannot read {path}: {type(exc).__name__}\n")
        return FAILED
    except ValueError as exc:
        problems = [f"not JSON (line {getattr(exc, 'lineno', '?')}, column {getattr(exc, 'colno', '?')})"]
        return _checked(problems, [], as_json, out)
    try:
        registry = AccountRegistry.parse(raw)
    except ConfigurationError as exc:
        text = str(exc).removeprefix("invalid accounts document: ")
        return _checked(text.split("; "), [], as_json, out)
    accounts = [{"name": a.name, "vendor": a.vendor, "default": a.default} for a in registry]
    return _checked([], accounts, as_json, out)


def _checked(problems: list[str], accounts: list[dict[str, Any]], as_json: bool, out: TextIO) -> int:
    if as_json:
        render.as_json({"valid": not problems, "problems": problems, "accounts": accounts}, out)
    elif problems:
        out.write("invalid accounts document:\n" + "".join(f"  {p}\n" for p in problems))
    else:
        out.write(f"valid: {len(accounts)} account(s)\n")
        render.table(accounts, ["name", "vendor", "default"], out)
    return REFUSED if problems else OK
