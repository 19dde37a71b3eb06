"""The status API's reads ("what happened to this SMS?"), over today's item format (store.py).

Read-only: the status function's role allows GetItem, BatchGetItem and Query on the table and its
indexes, nothing else. Answers never carry a full phone number (masked as in logs) nor a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sms_gateway.status.counters import OutcomeCounters
    from sms_gateway.status.reader import StatusReader


def outcome_counters() -> OutcomeCounters:
    """The publish function's per-account outcome counts (see counters.py). Cheap to build: the
    client is the process's cached one."""
    from sms_gateway.aws import client  # noqa: PLC0415 - lazy: cold start
    from sms_gateway.settings import get_settings  # noqa: PLC0415
    from sms_gateway.status.counters import OutcomeCounters  # noqa: PLC0415

    return OutcomeCounters(get_settings().table_name, client("dynamodb"))


def status_reader() -> StatusReader:
    """A reader over the process's cached client; the accounts document is cached by load_registry."""
    from sms_gateway.accounts import load_registry  # noqa: PLC0415 - lazy: cold start
    from sms_gateway.aws import client  # noqa: PLC0415
    from sms_gateway.settings import get_settings  # noqa: PLC0415
    from sms_gateway.status.reader import StatusReader  # noqa: PLC0415

    return StatusReader(get_settings().table_name, client("dynamodb"), load_registry)
