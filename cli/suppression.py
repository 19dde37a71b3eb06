"""``sms-gateway suppression ACCOUNT list|add|remove``: the account's opt-out list, read and changed
in the table directly (the stream publishes `SMS Opt Out` / `SMS Opt In` for every change, as for
a reply). Numbers are masked in the listing unless ``--show-numbers`` is given."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from cli import render
from cli.target import CommandRefused, Target
from sms_gateway.errors import UnsupportedRecipient
from sms_gateway.phone import mask, to_e164
from sms_gateway.protection.optout import SuppressionStore
from sms_gateway.store.table import Table

RETENTION_SECONDS = 90 * 86400  # unused by suppression items (they never expire); the Table needs one


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("suppression", help="an account's opt-out list: list, add, remove")
    parser.add_argument("account")
    parser.add_argument("action", choices=["list", "add", "remove"])
    parser.add_argument("number", nargs="?", help="the number to add or remove (any form)")
    parser.add_argument("--sign", help="the sign's own list, where the account keeps one per sign")
    parser.add_argument("--show-numbers", action="store_true", help="full numbers in the listing")


def run(args: argparse.Namespace, target: Target, out: TextIO) -> dict[str, Any]:
    store = SuppressionStore(Table(target.output("TableName"), target.client("dynamodb"), RETENTION_SECONDS))
    if args.action == "list":
        rows = [
            {
                "number": s.number if args.show_numbers else mask(s.number),
                "sign": s.sign or "",
                "keyword": s.keyword or "",
                "source": s.source,
                "since": s.changed_at,
            }
            for s in store.listing(args.account, args.sign)
        ]
        result: dict[str, Any] = {"account": args.account, "suppressed": rows}
        if args.json:
            render.as_json(result, out)
        else:
            render.table(rows, ["number", "sign", "keyword", "source", "since"], out)
        return result
    if not args.number:
        raise CommandRefused(f"suppression {args.action} needs a number")
    try:
        number = to_e164(args.number)
    except UnsupportedRecipient as exc:
        raise CommandRefused(f"not a phone number: {exc}") from None
    changed = store.change(
        args.account, number, opted_out=args.action == "add", sign=args.sign, keyword=None, source="cli"
    )
    result = {"account": args.account, "number": mask(number), "action": args.action, "changed": changed}
    render.as_json(result, out) if args.json else out.write(
        f"{mask(number)}: {'changed' if changed else 'already so; nothing changed'}\n"
    )
    return result
