"""Vendor access tokens shared by every instance of an account (tokens.TokenCache uses them)."""

from __future__ import annotations

import sms_gateway.store.keys as layout
from sms_gateway.store.table import Table

TOKEN_KEPT_AFTER_EXPIRY_SECONDS = 3600


class TokenStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get_token(self, account: str) -> tuple[str, int] | None:
        item = self.table.get(layout.token(account))
        if not item:
            return None
        return str(item["token"]), int(item["valid_until"])

    def put_token(self, account: str, token: str, valid_until: int) -> None:
        pk, sk = layout.token(account)
        self.table.put(
            {
                "pk": pk,
                "sk": sk,
                "type": layout.TOKEN,
                "token": token,
                "valid_until": valid_until,
                "expires_at": valid_until + TOKEN_KEPT_AFTER_EXPIRY_SECONDS,
            }
        )

    def drop_token(self, account: str, token: str) -> None:
        """Forget a token the vendor refused, unless another instance already replaced it."""
        self.table.delete(
            layout.token(account),
            "#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":token": {"S": token}},
        )
