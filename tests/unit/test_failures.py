"""The one classification of failed vendor calls (sms_gateway.failures), as the HTTP client applies
it, and calls split into parts (a failure part way keeps what the earlier parts decided)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sms_gateway import failures
from sms_gateway.errors import SubmitRejected, VendorUnavailable
from sms_gateway.http import VendorHttp
from sms_gateway.models import OutboundItem, Status, SubmitOutcome
from tests.support.vendor_server import Reply, VendorServer

pytestmark = pytest.mark.unit


@pytest.fixture
def server() -> Iterator[VendorServer]:
    vendor = VendorServer().start()
    yield vendor
    vendor.stop()


@pytest.mark.parametrize(
    ("status", "sends", "ambiguous"),
    [
        (502, True, True),  # a gateway may have forwarded the send
        (504, True, True),
        (502, False, False),  # a token fetch, poll or balance query sends nothing
        (500, True, False),  # the vendor itself said it failed
        (503, True, False),
        (429, True, False),
    ],
)
def test_an_http_status_is_classified_by_whether_the_call_sends(
    server: VendorServer, status: int, sends: bool, ambiguous: bool
) -> None:
    server.responder = lambda request: Reply(status, "<html>error</html>", "text/html")
    with pytest.raises(VendorUnavailable) as caught:
        VendorHttp().json("POST", f"{server.url}/send", sends=sends)
    assert caught.value.ambiguous is ambiguous


def test_a_garbled_answer_is_ambiguous_only_for_a_send(server: VendorServer) -> None:
    server.responder = lambda request: Reply(200, "<html>ok?</html>", "text/html")
    for sends in (True, False):
        with pytest.raises(VendorUnavailable) as caught:
            VendorHttp().json("POST", f"{server.url}/send", sends=sends)
        assert caught.value.ambiguous is sends


def test_a_refused_connection_sent_nothing() -> None:
    with pytest.raises(VendorUnavailable) as caught:
        VendorHttp(connect_timeout=1).json("POST", "http://127.0.0.1:9/send", sends=True)
    assert caught.value.ambiguous is False


ITEMS = [OutboundItem(f"m-{n}", f"+86138000000{n:02d}") for n in range(8)]


def submitted(part: list[OutboundItem]) -> list[SubmitOutcome]:
    return [SubmitOutcome(i.message_id, i.recipient, Status.SUBMITTED, "v", "0", "ok") for i in part]


def test_a_part_not_sent_stops_the_rest_and_keeps_what_was_decided() -> None:
    def call(part: list[OutboundItem]) -> list[SubmitOutcome]:
        if part[0] is ITEMS[4]:
            raise VendorUnavailable("busy")
        return submitted(part)

    with pytest.raises(VendorUnavailable) as caught:
        failures.submit_in_parts(failures.chunked(ITEMS, 2), call)
    assert [o.recipient for o in caught.value.decided] == [i.recipient for i in ITEMS[:4]]
    assert caught.value.ambiguous is False


def test_a_lost_part_is_unknown_and_the_other_parts_are_still_sent() -> None:
    def call(part: list[OutboundItem]) -> list[SubmitOutcome]:
        if part[0] is ITEMS[2]:
            raise VendorUnavailable("no answer", ambiguous=True)
        return submitted(part)

    outcomes = failures.submit_in_parts(failures.chunked(ITEMS, 2), call)
    assert [o.status for o in outcomes] == [Status.SUBMITTED] * 2 + [Status.UNKNOWN] * 2 + [
        Status.SUBMITTED
    ] * 4


def test_a_split_finds_the_refused_number_and_a_call_level_refusal_stops_at_the_budget() -> None:
    calls: list[int] = []

    def call(part: list[OutboundItem]) -> list[SubmitOutcome]:
        calls.append(len(part))
        if ITEMS[5] in part:
            raise SubmitRejected("1007", "MobileError")
        return submitted(part)

    outcomes = failures.submit_in_parts(
        [ITEMS], call, split=lambda exc, part: failures.halves(part), max_calls=20
    )
    assert [o.recipient for o in outcomes if o.status is Status.FAILED] == [ITEMS[5].recipient]
    assert len(calls) == 7  # 8 -> 4+4 -> 2+2 -> 1+1

    def refuse_all(part: list[OutboundItem]) -> list[SubmitOutcome]:
        raise SubmitRejected("1001", "ParamError")

    outcomes = failures.submit_in_parts(
        [ITEMS], refuse_all, split=lambda exc, part: failures.halves(part), max_calls=3
    )
    assert {o.status for o in outcomes} == {Status.FAILED} and len(outcomes) == 8


def test_a_submission_that_stays_one_call_raises_as_that_call_did() -> None:
    def call(part: list[OutboundItem]) -> list[SubmitOutcome]:
        raise SubmitRejected("1006", "ContentError")

    with pytest.raises(SubmitRejected):
        failures.submit_in_parts([ITEMS], call)
