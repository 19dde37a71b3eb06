"""The last balance read of each account (the low test is the poller's: polling.balance_is_low)."""

from __future__ import annotations

import sms_gateway.store.keys as layout
from sms_gateway.clock import iso, utcnow
from sms_gateway.models import BalanceIn
from sms_gateway.store.table import Table


class BalanceStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def record(
        self, account: str, vendor: str, balance: BalanceIn, *, low: bool, threshold: float | None
    ) -> None:
        pk, sk = layout.balance(account)
        self.table.put(
            {
                "pk": pk,
                "sk": sk,
                "type": layout.BALANCE,
                "account": account,
                "vendor": vendor,
                "amount": balance.amount,
                "currency": balance.currency,
                "raw": balance.raw,
                "low": low,
                "threshold": threshold,
                "polled_at": iso(utcnow()),
            }
        )
