"""Which recipient a delivery report is about (the ingest side's matching rules).

A report names a vendor message id and the number in full, masked (135****9831) or not at all:
- one recipient fits: its status moves forward (never backwards: Status.follows);
- none is recorded yet (the report overtook its submission): the report is kept as an orphan
  and applied when the submission is recorded (adopt);
- a masked number fits two or more recipients of one vendor id: the report is kept as
  ambiguous, never guessed.
The rules talk to the table only through MatchStore, so they are tested against a fake.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from sms_gateway.models import ReportIn
from sms_gateway.phone import cn_mask, matches_mask

if TYPE_CHECKING:
    from sms_gateway.models import RecipientRecord


class ReportResult(StrEnum):
    UPDATED = "updated"  # the status moved forward
    UNCHANGED = "unchanged"  # duplicate or late: the record already had this or a final status
    ORPHANED = "orphaned"  # no record yet; kept and applied when the submission is recorded
    AMBIGUOUS = "ambiguous"  # a masked number fits two recipients; kept against the vendor id


class Advance(StrEnum):
    """What a forward-only update of one record found."""

    MOVED = "moved"  # the status moved forward
    NOT_FORWARD = "not_forward"  # the record already had this or a later status
    NO_RECORD = "no_record"  # no record (yet) under that key


# (account, vendor message id, the number as a report names it: full, masked, or None)
OrphanKey = tuple[str, str, str | None]


class MatchStore(Protocol):
    def lookup_message(self, account: str, vendor_message_id: str, number: str) -> str | None: ...
    def lookups(self, account: str, vendor_message_id: str) -> list[tuple[str, str]]: ...
    def advance(self, message_id: str, recipient: str, report: ReportIn) -> Advance: ...
    def keep_orphan(self, account: str, report: ReportIn) -> None: ...
    def drop_orphan(self, key: OrphanKey) -> None: ...
    def orphans(self, wanted: Iterable[OrphanKey]) -> Iterable[tuple[OrphanKey, ReportIn]]: ...
    def keep_ambiguous(self, account: str, report: ReportIn, candidates: int) -> None: ...


_RESULTS = {Advance.MOVED: ReportResult.UPDATED, Advance.NOT_FORWARD: ReportResult.UNCHANGED}


def orphan_key(account: str, report: ReportIn) -> OrphanKey:
    return account, report.vendor_message_id, report.recipient or report.recipient_mask


class ReportMatcher:
    def __init__(self, store: MatchStore) -> None:
        self.store = store

    def apply(self, account: str, report: ReportIn) -> ReportResult:
        candidates = self._candidates(account, report)
        if not candidates:
            return self._keep_orphan(account, report)
        if len(candidates) > 1:
            self.store.keep_ambiguous(account, report, len(candidates))
            return ReportResult.AMBIGUOUS
        result = self._advance(*candidates[0], report)
        if result is ReportResult.ORPHANED:  # the lookup is written before its record
            return self._keep_orphan(account, report)
        return result

    def adopt(self, records: Sequence[RecipientRecord]) -> None:
        """Apply kept reports to newly recorded recipients: one key per form of the number a
        vendor may have used (full, masked as 135****9831, or none)."""
        wanted: dict[OrphanKey, RecipientRecord] = {}
        for record in records:
            if record.vendor_message_id and record.recipient and record.account:
                for number in (record.recipient, cn_mask(record.recipient), None):
                    wanted[(record.account, record.vendor_message_id, number)] = record
        for key, report in self.store.orphans(wanted):
            record = wanted[key]
            assert record.recipient is not None  # only records that name one are wanted
            if report.recipient_mask and not matches_mask(record.recipient, report.recipient_mask):
                continue
            self.store.advance(record.message_id, record.recipient, report)
            self.store.drop_orphan(key)

    def _candidates(self, account: str, report: ReportIn) -> list[tuple[str, str]]:
        """(message id, recipient) pairs of this vendor id that the report can be about."""
        if report.recipient:
            message_id = self.store.lookup_message(account, report.vendor_message_id, report.recipient)
            return [(message_id, report.recipient)] if message_id else []
        candidates = self.store.lookups(account, report.vendor_message_id)
        if report.recipient_mask:
            mask = report.recipient_mask
            candidates = [c for c in candidates if matches_mask(c[1], mask)]
        return candidates

    def _advance(self, message_id: str, recipient: str, report: ReportIn) -> ReportResult:
        return _RESULTS.get(self.store.advance(message_id, recipient, report), ReportResult.ORPHANED)

    def _keep_orphan(self, account: str, report: ReportIn) -> ReportResult:
        """Keep a report whose submission is not recorded yet, then look once more.

        The sender writes its lookup and then looks for orphans; we write the orphan and then look
        for the lookup. With consistent reads at least one side sees the other, so none is stranded.
        """
        self.store.keep_orphan(account, report)
        candidates = self._candidates(account, report)
        if len(candidates) == 1:
            result = self._advance(*candidates[0], report)
            if result is not ReportResult.ORPHANED:
                self.store.drop_orphan(orphan_key(account, report))
                return result
        return ReportResult.ORPHANED
