"""MO (inbound messages), stored once however often they are pushed or pulled."""

from __future__ import annotations

import hashlib

import sms_gateway.store.keys as layout
from sms_gateway.clock import iso, utcnow
from sms_gateway.models import InboundIn
from sms_gateway.store.table import Table


def digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:20]


class InboundStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def record(self, account: str, vendor: str, inbound: InboundIn) -> bool:
        """Store an MO once; a repeated push of the same MO is recognised and not stored again."""
        received = iso(inbound.received_at) if inbound.received_at else (inbound.raw_time or "-")
        # When the vendor shows a masked form, the MO is known by it alone: the same MO pushed
        # with the full number and pulled masked (pwd_v1) is then stored, and published, once.
        sender = None if inbound.sender_mask else inbound.sender
        key = inbound.vendor_message_id or digest(
            sender, inbound.sender_mask, inbound.content, inbound.ext_no, inbound.raw_time
        )
        pk, sk = layout.inbound(account, received, key)
        return self.table.put(
            {
                "pk": pk,
                "sk": sk,
                "type": layout.INBOUND,
                "account": account,
                "vendor": vendor,
                "sender": inbound.sender,
                "sender_mask": inbound.sender_mask,
                "content": inbound.content,
                "ext_no": inbound.ext_no,
                "vendor_message_id": inbound.vendor_message_id,
                "received_at": received,
                "vendor_time": inbound.raw_time,
                "stored_at": iso(utcnow()),
                "expires_at": self.table.expires(),
            },
            condition="attribute_not_exists(pk)",
        )
