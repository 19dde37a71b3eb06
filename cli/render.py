"""Human-readable tables (the default) and JSON (``--json``) for every command's answer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    if not rows:
        out.write("(none)\n")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def pairs(values: dict[str, Any], out: TextIO) -> None:
    width = max((len(k) for k in values), default=0)
    for key, value in values.items():
        out.write(f"{key.ljust(width)}  {_cell(value)}\n")


def message(answer: dict[str, Any], out: TextIO) -> None:
    out.write(f"message {answer['message_id']}\n")
    pairs(answer.get("request") or {"request": "(no request item)"}, out)
    out.write("\n")
    recipients = answer["recipients"]
    table(
        recipients,
        [
            "recipient",
            "status",
            "final",
            "vendor_status",
            "description",
            "vendor_message_id",
            "account",
            "status_at",
        ],
        out,
    )
    out.write("\nhistory\n")
    history = [{"recipient": r["recipient"], **h} for r in recipients for h in r["history"]]
    table(history, ["recipient", "at", "status", "vendor_status"], out)
    attempts = [{"recipient": r["recipient"], **a} for r in recipients for a in r.get("attempts") or []]
    if attempts:  # routed: which account served each recipient, and why
        out.write("\nattempts\n")
        table(attempts, ["recipient", "at", "account", "vendor", "delivery", "reason", "chosen"], out)


def number(answer: dict[str, Any], out: TextIO) -> None:
    out.write(f"messages to {answer['recipient']}, newest first\n")
    table(
        answer["messages"],
        ["message_id", "created_at", "status", "vendor_status", "account", "vendor", "status_at"],
        out,
    )


def account(answer: dict[str, Any], out: TextIO) -> None:
    flat = {k: v for k, v in answer.items() if k not in {"balance", "last_hour", "token"}}
    for group in ("balance", "token", "last_hour"):
        for key, value in (answer.get(group) or {}).items():
            flat[f"{group}.{key}"] = value
    pairs(flat, out)


def operation(outcome: dict[str, Any], out: TextIO) -> None:
    rows = [*outcome["done"], *outcome["left"]]
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    table(rows, columns, out)
    out.write(f"{len(outcome['done'])} done, {len(outcome['left'])} left\n")


def as_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
