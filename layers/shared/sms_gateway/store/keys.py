"""The key layout of the table, defined once. Item kinds and their keys:

| item         | pk                              | sk                         | written by            |
|--------------|---------------------------------|----------------------------|-----------------------|
| recipient    | MSG#{message_id}                | RCPT#{e164}                | send; reports update  |
| request      | MSG#{message_id}                | REQUEST                    | send (claim, lease)   |
| lookup       | VID#{account}#{vendor_msg_id}   | RCPT#{e164}                | send, with recipient  |
| orphan       | VID#{account}#{vendor_msg_id}   | ORPHAN#{number}            | a report seen first   |
| ambiguous    | VID#{account}#{vendor_msg_id}   | AMBIGUOUS#{mask}#{hash}    | masked, 2+ candidates |
| inbound      | INBOUND#{account}#{shard}       | {received_at}#{key}        | MO push or pull       |
| balance      | ACCOUNT#{account}               | BALANCE                    | balance poller        |
| token        | ACCOUNT#{account}               | TOKEN                      | token-based vendors   |
| inbox        | INBOX#{account}#{shard}         | {received_at}#{uuid}       | pushes worth a copy   |
| orphan sig.  | ORPHANS#{account}#{shard}       | SIGNAL                     | an orphan report kept |
| pulled       | PULLED#{account}                | {received_at}#{uuid}       | raw pulls, unreadable |

The sparse `pending` index (pending_pk, pending_sk) holds recipients waiting for a report
(PENDING#{account}#{shard}, {next check}#{message_id}#{recipient}) and kept pushes waiting to be
applied (REPLAY#{account}#{shard}, the inbox sk). Every per-account key that takes writes at the
rate of reports is sharded (SHARDS; a read of them all queries each shard); balance, token and
pulled items are written at the rate of polls and are not. The `type` attribute names the item
kind; the stream filter in template.yaml publishes the kinds RECIPIENT, INBOUND and BALANCE, the
protection items `suppression` and `cancel` (sms_gateway.protection: optout.py, cancel.py,
quotas.py) and routing's `route_health`.
"""

from __future__ import annotations

import zlib

from sms_gateway.store.table import Key

RECIPIENT, INBOUND, BALANCE = "recipient", "inbound", "balance"
LOOKUP, ORPHAN, AMBIGUOUS = "lookup", "orphan_report", "ambiguous_report"
ORPHAN_SIGNAL = "orphan_signal"

# Per-account keys are spread over this many shards: DynamoDB serves ~1,000 writes/s per
# partition key, so one account takes 16,000 writes/s before a key runs hot (bench/key_heat.py).
SHARDS = 16


def shard_of(*parts: str) -> str:
    """A stable shard of these parts (crc32: the same on every instance, unlike hash())."""
    return f"{zlib.crc32(chr(31).join(parts).encode()) % SHARDS:02d}"


def all_shards() -> list[str]:
    return [f"{n:02d}" for n in range(SHARDS)]


INBOX, PULLED, TOKEN = "inbox", "pulled", "token"
# Protection (opt-out list entries, cancel requests) and routing (an account's circuit and its
# delivery window): named here so that the publisher tells them apart without loading either.
SUPPRESSION, CANCEL = "suppression", "cancel"
CIRCUIT, DELIVERY_WINDOW = "route_health", "route_delivery"

RCPT_PREFIX = "RCPT#"
ORPHAN_PREFIX = "ORPHAN#"
NO_NUMBER = "-"  # the number part of an orphan's sk when the report named none
INVALID_RECIPIENT = "invalid"  # a record of a request too broken to name a recipient


def request(message_id: str) -> Key:
    return f"MSG#{message_id}", "REQUEST"


def message_pk(message_id: str) -> str:
    return f"MSG#{message_id}"


def recipient(message_id: str, number: str) -> Key:
    return message_pk(message_id), f"{RCPT_PREFIX}{number}"


def number_of(sk: str) -> str:
    """The number of a recipient's or a lookup's sk."""
    return sk[len(RCPT_PREFIX) :]


def lookup_pk(account: str, vendor_message_id: str) -> str:
    return f"VID#{account}#{vendor_message_id}"


def vendor_message_id_of(lookup: str) -> str:
    return lookup.split("#", 2)[2]


def lookup(account: str, vendor_message_id: str, number: str) -> Key:
    return lookup_pk(account, vendor_message_id), f"{RCPT_PREFIX}{number}"


def orphan(account: str, vendor_message_id: str, number: str | None) -> Key:
    return lookup_pk(account, vendor_message_id), f"{ORPHAN_PREFIX}{number or NO_NUMBER}"


def ambiguous(account: str, vendor_message_id: str, mask: str | None, digest: str) -> Key:
    return lookup_pk(account, vendor_message_id), f"AMBIGUOUS#{mask}#{digest}"


def orphan_signal(account: str, vendor_message_id: str) -> Key:
    """When an orphan report of this account's shard was last kept: the send path reads it once
    instead of three keys per recipient (recipients.RecipientStore.signalled)."""
    return f"ORPHANS#{account}#{shard_of(vendor_message_id)}", "SIGNAL"


def pending_pk(account: str, message_id: str, number: str) -> str:
    return f"PENDING#{account}#{shard_of(message_id, number)}"


def pending_pks(account: str) -> list[str]:
    """Every shard of the account's pending recipients (a poll reads them all)."""
    return [f"PENDING#{account}#{s}" for s in all_shards()]


def pending_sk(due: str, message_id: str, number: str) -> str:
    return f"{due}#{message_id}#{number}"


def pending_due_before(moment: str) -> str:
    """The bound of a pending query: "$" sorts after "#", so every key whose time is <= moment."""
    return f"{moment}$"


def replay_pk(account: str, shard: str) -> str:
    return f"REPLAY#{account}#{shard}"


def replay_pks(account: str) -> list[str]:
    return [replay_pk(account, s) for s in all_shards()]


def inbound(account: str, received: str, key: str) -> Key:
    # Sharded by the MO's own key: the same MO pushed twice lands on the same item.
    return f"INBOUND#{account}#{shard_of(key)}", f"{received}#{key}"


def balance(account: str) -> Key:
    return f"ACCOUNT#{account}", "BALANCE"


def token(account: str) -> Key:
    return f"ACCOUNT#{account}", "TOKEN"


def inbox_pk(account: str, shard: str) -> str:
    return f"INBOX#{account}#{shard}"


def inbox_pks(account: str) -> list[str]:
    return [inbox_pk(account, s) for s in all_shards()]


def pulled_pk(account: str) -> str:
    return f"PULLED#{account}"
