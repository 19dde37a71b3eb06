"""Which recipient a delivery report is about: matching.ReportMatcher against a fake MatchStore."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from sms_gateway.matching import Advance, MatchStore, OrphanKey, ReportMatcher, ReportResult, orphan_key
from sms_gateway.models import RecipientRecord, ReportIn, Status

pytestmark = pytest.mark.unit

ACCOUNT = "cn-main"
ALICE, BOB = "+8613800138000", "+8613900139000"  # different masks: 138****8000, 139****9000
TWIN = "+8613811118000"  # the same mask as ALICE: 138****8000


class FakeMatchStore:
    """The table as MatchStore sees it: lookups, records (status only) and kept reports."""

    def __init__(self) -> None:
        self.lookup: dict[tuple[str, str], dict[str, str]] = {}  # (account, vid) -> number -> msg
        self.records: dict[tuple[str, str], Status] = {}  # (message id, number) -> status
        self.kept: dict[OrphanKey, ReportIn] = {}
        self.ambiguous: list[tuple[str, ReportIn, int]] = []

    def submit(self, message_id: str, number: str, vid: str, *, record: bool = True) -> RecipientRecord:
        self.lookup.setdefault((ACCOUNT, vid), {})[number] = message_id
        if record:
            self.records[(message_id, number)] = Status.SUBMITTED
        return RecipientRecord.submitted(
            message_id=message_id,
            recipient=number,
            account=ACCOUNT,
            vendor="action_v1",
            vendor_message_id=vid,
            vendor_status="0",
            description="ok",
            tags={},
        )

    # ------------------------------------------------------------------ MatchStore
    def lookup_message(self, account: str, vendor_message_id: str, number: str) -> str | None:
        return self.lookup.get((account, vendor_message_id), {}).get(number)

    def lookups(self, account: str, vendor_message_id: str) -> list[tuple[str, str]]:
        return [(m, n) for n, m in self.lookup.get((account, vendor_message_id), {}).items()]

    def advance(self, message_id: str, recipient: str, report: ReportIn) -> Advance:
        current = self.records.get((message_id, recipient))
        if current is None:
            return Advance.NO_RECORD
        if not report.status.follows(current):
            return Advance.NOT_FORWARD
        self.records[(message_id, recipient)] = report.status
        return Advance.MOVED

    def keep_orphan(self, account: str, report: ReportIn) -> None:
        self.kept.setdefault(orphan_key(account, report), report)  # conditional put: first wins

    def drop_orphan(self, key: OrphanKey) -> None:
        self.kept.pop(key, None)

    def orphans(self, wanted: Iterable[OrphanKey]) -> list[tuple[OrphanKey, ReportIn]]:
        return [(k, self.kept[k]) for k in wanted if k in self.kept]

    def keep_ambiguous(self, account: str, report: ReportIn, candidates: int) -> None:
        self.ambiguous.append((account, report, candidates))


def report(status: Status, vid: str = "V1", *, to: str | None = None, mask: str | None = None) -> ReportIn:
    return ReportIn(vid, status, status.value.upper(), "", recipient=to, recipient_mask=mask)


@pytest.fixture
def store() -> FakeMatchStore:
    return FakeMatchStore()


@pytest.fixture
def matcher(store: FakeMatchStore) -> ReportMatcher:
    typed: MatchStore = store  # the fake keeps to the Protocol the matcher depends on
    return ReportMatcher(typed)


def test_a_report_naming_the_full_number_moves_that_recipient_only(
    store: FakeMatchStore, matcher: ReportMatcher
) -> None:
    # Given two recipients sent under one vendor id
    store.submit("m1", ALICE, "V1")
    store.submit("m1", BOB, "V1")
    # When a report names Alice in full
    result = matcher.apply(ACCOUNT, report(Status.DELIVERED, to=ALICE))
    # Then Alice is delivered and Bob still waits
    assert result is ReportResult.UPDATED
    assert store.records == {("m1", ALICE): Status.DELIVERED, ("m1", BOB): Status.SUBMITTED}


def test_a_repeated_or_late_report_changes_nothing(store: FakeMatchStore, matcher: ReportMatcher) -> None:
    # Given a recipient already delivered
    store.submit("m1", ALICE, "V1")
    assert matcher.apply(ACCOUNT, report(Status.DELIVERED, to=ALICE)) is ReportResult.UPDATED
    # When the same report, then a contradicting one, arrive
    repeated = matcher.apply(ACCOUNT, report(Status.DELIVERED, to=ALICE))
    late = matcher.apply(ACCOUNT, report(Status.UNDELIVERED, to=ALICE))
    # Then both are unchanged and the first final status stays
    assert (repeated, late) == (ReportResult.UNCHANGED, ReportResult.UNCHANGED)
    assert store.records[("m1", ALICE)] is Status.DELIVERED
    assert not store.kept


def test_a_masked_number_that_fits_one_recipient_moves_it(
    store: FakeMatchStore, matcher: ReportMatcher
) -> None:
    # Given two recipients of one vendor id whose masks differ
    store.submit("m1", ALICE, "V1")
    store.submit("m1", BOB, "V1")
    # When a report shows only Bob's masked number
    result = matcher.apply(ACCOUNT, report(Status.UNDELIVERED, mask="139****9000"))
    # Then Bob, and only Bob, is undelivered
    assert result is ReportResult.UPDATED
    assert store.records == {("m1", ALICE): Status.SUBMITTED, ("m1", BOB): Status.UNDELIVERED}


def test_a_masked_number_that_fits_two_recipients_is_kept_never_guessed(
    store: FakeMatchStore, matcher: ReportMatcher
) -> None:
    # Given two recipients of one vendor id with the same masked form
    store.submit("m1", ALICE, "V1")
    store.submit("m1", TWIN, "V1")
    # When a report shows that masked form
    masked = report(Status.DELIVERED, mask="138****8000")
    result = matcher.apply(ACCOUNT, masked)
    # Then it is kept as ambiguous with its two candidates and no record moves
    assert result is ReportResult.AMBIGUOUS
    assert store.ambiguous == [(ACCOUNT, masked, 2)]
    assert set(store.records.values()) == {Status.SUBMITTED}


def test_a_report_without_a_number_fits_a_vendor_id_of_one_recipient(
    store: FakeMatchStore, matcher: ReportMatcher
) -> None:
    # Given one recipient under vendor id V1 and two under V2
    store.submit("m1", ALICE, "V1")
    store.submit("m2", ALICE, "V2")
    store.submit("m2", BOB, "V2")
    # When reports naming no number arrive for both vendor ids
    one = matcher.apply(ACCOUNT, report(Status.EXPIRED, "V1"))
    two = matcher.apply(ACCOUNT, report(Status.EXPIRED, "V2"))
    # Then the single recipient moves and the pair is kept as ambiguous
    assert (one, two) == (ReportResult.UPDATED, ReportResult.AMBIGUOUS)
    assert store.records[("m1", ALICE)] is Status.EXPIRED
    assert store.records[("m2", ALICE)] is Status.SUBMITTED


def test_a_report_before_its_submission_is_kept_and_applied_when_the_record_is_written(
    store: FakeMatchStore, matcher: ReportMatcher
) -> None:
    # Given a report whose vendor id is not recorded yet, then a later second report
    first = matcher.apply(ACCOUNT, report(Status.DELIVERED, to=ALICE))
    second = matcher.apply(ACCOUNT, report(Status.UNDELIVERED, to=ALICE))
    assert (first, second) == (ReportResult.ORPHANED, ReportResult.ORPHANED)
    assert list(store.kept) == [(ACCOUNT, "V1", ALICE)]
    # When the submission is recorded and its orphans adopted
    record = store.submit("m1", ALICE, "V1")
    matcher.adopt([record])
    # Then the first report is applied and the orphan is gone
    assert store.records[("m1", ALICE)] is Status.DELIVERED
    assert not store.kept


def test_a_masked_orphan_is_adopted_by_the_recipient_it_fits(
    store: FakeMatchStore, matcher: ReportMatcher
) -> None:
    # Given a masked report kept before the submission
    assert matcher.apply(ACCOUNT, report(Status.REJECTED, mask="139****9000")) is ReportResult.ORPHANED
    # When two recipients are recorded under that vendor id
    records = [store.submit("m1", ALICE, "V1"), store.submit("m1", BOB, "V1")]
    matcher.adopt(records)
    # Then the one whose mask it is takes the report
    assert store.records == {("m1", ALICE): Status.SUBMITTED, ("m1", BOB): Status.REJECTED}
    assert not store.kept


def test_a_report_between_the_lookup_and_the_record_is_kept_as_an_orphan(
    store: FakeMatchStore, matcher: ReportMatcher
) -> None:
    # Given a lookup written but not yet its record (the sender is mid-write)
    record = store.submit("m1", ALICE, "V1", record=False)
    # When the report arrives
    result = matcher.apply(ACCOUNT, report(Status.DELIVERED, to=ALICE))
    # Then it is kept, not dropped as a duplicate, and the record adopts it once written
    assert result is ReportResult.ORPHANED
    store.records[("m1", ALICE)] = Status.SUBMITTED
    matcher.adopt([record])
    assert store.records[("m1", ALICE)] is Status.DELIVERED
