"""pwd_v1 parsers, code tables and calls, fed with the vendor document's own examples (003) and,
for the calls, the pwd_v1 simulator (which enforces the document) on a local port."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from simulators import PwdV1Simulator
from sms_gateway.accounts import Account
from sms_gateway.errors import (
    ConfigurationError,
    PushRejected,
    SubmitRejected,
    UnsupportedRecipient,
    VendorUnavailable,
)
from sms_gateway.http import VendorHttp
from sms_gateway.models import MessageKind, OutboundItem, PushRequest, Status, Submission
from sms_gateway.vendors import pwd_v1
from sms_gateway.vendors.base import adapter_class
from sms_gateway.vendors.pwd_v1 import PwdV1Adapter, mask_unique_tasks, records_of, report_status
from tests.support.vendor_server import Reply, VendorServer

pytestmark = pytest.mark.unit

ACCOUNT, PASSWORD = "acme", "p@ss"
PWD = hashlib.md5(PASSWORD.encode()).hexdigest()

# The document's examples, with its JSON mistakes repaired in the two obvious readings.
DOC_REPORT_PULL_DATA = [
    {
        "sendId": "b681adb3-fc1a-422d-80dd-b95cec7be769",
        "status": "DELIVER",
        "times": "2019-04-12 17:57:08",
        "mobile": "135****9831",
        "extNo": "",
    },
    {
        "sendId": "feebfa40-0680-49a4-8074-2c401432ab25",
        "status": "MBBLACK",
        "times": "2019-04-12 17:57:08",
        "mobile": "136****0014",
        "extNo": "",
    },
]
DOC_MO_PULL_DATA = [
    {"mobile": "138****1234", "content": "端午节快乐", "times": "2019-04-12 17:57:08", "extNo": 10},
    {"mobile": "139****1234", "content": "端午节快乐", "times": "2019-04-12 17:57:08", "extNo": 10},
]
DOC_REPORT_PUSH = {
    "sendId": "b681adb3-fc1a-422d-80dd-b95cec7be769",
    "mobile": "13512349831",
    "times": "2019-04-12 17:57:08",
    "status": "DELIVRD",
}
DOC_MO_PUSH = {
    "mobile": "13912341234",
    "content": "端午节快乐",
    "times": "2019-04-12 17:57:08",
    "extNo": "10",
}


def make_account(base_url: str = "http://127.0.0.1:9", **options: Any) -> Account:
    return Account(
        name="cn-pwd",
        vendor="pwd_v1",
        base_url=base_url,
        credentials={"account": ACCOUNT, "password": PASSWORD},
        options=options,
        sign="圆通快递",
    )


def adapter(base_url: str = "http://127.0.0.1:9", **options: Any) -> PwdV1Adapter:
    return PwdV1Adapter(make_account(base_url, **options), VendorHttp(read_timeout=2))


def push(body: object, kind: str = "report", content_type: str = "application/json") -> PushRequest:
    raw = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return PushRequest(kind, {}, {}, raw.encode(), content_type)  # type: ignore[arg-type]


def submission(*numbers: str, call_id: str = "c" * 32, **fields: Any) -> Submission:
    items = tuple(OutboundItem(f"m-{i}", f"+86{n}") for i, n in enumerate(numbers))
    shared: dict[str, Any] = {"content": "您的快件已签收", "sign": "圆通快递"}
    shared.update(fields)
    return Submission(call_id=call_id, items=items, kind=MessageKind.NOTIFICATION, **shared)


@pytest.fixture
def sim() -> Iterator[PwdV1Simulator]:
    with PwdV1Simulator({"account": ACCOUNT, "password": PASSWORD}) as simulator:
        simulator.configure(delivery="pull", report_delay=0.01)
        yield simulator


# ---------------------------------------------------------------------------------- declarations


def test_the_registry_finds_the_adapter_and_its_declarations_follow_the_document() -> None:
    assert adapter_class("pwd_v1") is PwdV1Adapter
    assert PwdV1Adapter.max_recipients_per_call == 3000
    assert not PwdV1Adapter.supports_templates and not PwdV1Adapter.supports_p2p
    assert not PwdV1Adapter.native_scheduling
    assert PwdV1Adapter.ack_once_stored
    assert PwdV1Adapter.push_kinds == {"report", "mo"}
    assert PwdV1Adapter.pulls_reports and PwdV1Adapter.pulls_inbound


def test_only_mainland_mobiles_are_sent() -> None:
    assert adapter().vendor_number("+8613512349831") == "13512349831"
    with pytest.raises(UnsupportedRecipient):
        adapter().vendor_number("+861068001234")  # a Beijing landline
    with pytest.raises(UnsupportedRecipient):
        adapter().vendor_number("+85291234567")


def test_pwd_is_the_md5_of_the_password_lower_case_unless_told_otherwise() -> None:
    assert adapter()._pwd() == PWD
    assert adapter(md5_uppercase=True)._pwd() == PWD.upper()
    assert (
        PwdV1Adapter(
            make_account(password_is_md5=True).model_copy(
                update={"credentials": {"account": "a", "password": PWD}}
            ),
            VendorHttp(),
        )._pwd()
        == PWD
    )


# ---------------------------------------------------------------------------------- code tables


def test_both_success_markers_are_delivered_and_everything_else_is_a_failure() -> None:
    # Given the document: pulled DELIVER and pushed DELIVRD are success, "其他值为失败"
    assert report_status("DELIVER")[0] is Status.DELIVERED
    assert report_status("DELIVRD")[0] is Status.DELIVERED
    assert report_status("MBBLACK")[0] is Status.REJECTED  # the document's pulled example
    assert report_status("EXPIRED")[0] is Status.EXPIRED
    assert report_status("UNKNOWN")[0] is Status.UNKNOWN
    # Then a code outside the table is a failure, never a success
    assert report_status("MK:0001") == pwd_v1.OTHER_FAILURE
    assert all(
        status is not Status.DELIVERED
        for code, (status, _) in pwd_v1.REPORT_CODES.items()
        if code not in {"DELIVER", "DELIVRD"}
    )


def test_every_code_the_simulator_pushes_is_in_the_table() -> None:
    for code in PwdV1Simulator.OUTCOME_CODES.values():
        assert code in pwd_v1.REPORT_CODES, code


# ---------------------------------------------------------------------------------- pulled records


@pytest.mark.parametrize(
    "data",
    [
        DOC_REPORT_PULL_DATA,  # "data": [ ... ]  (what the simulator sends)
        {"list": DOC_REPORT_PULL_DATA},  # "data": {"list": [ ... ]}  (the document's braces, keyed)
    ],
)
def test_the_documents_pulled_reports_keep_the_mask_and_convert_the_time(data: object) -> None:
    # Given the report pull example of the document, in either reading of its invalid JSON
    entries = records_of(data)
    assert entries is not None
    # When each record is parsed
    first, second = (adapter()._report(e) for e in entries)
    # Then the masked number is kept as a mask, DELIVER is delivered, and the time is UTC
    assert first.recipient is None and first.recipient_mask == "135****9831"
    assert first.vendor_message_id == "b681adb3-fc1a-422d-80dd-b95cec7be769"
    assert (first.status, first.vendor_status) == (Status.DELIVERED, "DELIVER")
    assert first.occurred_at is not None and first.occurred_at.isoformat() == "2019-04-12T09:57:08+00:00"
    assert first.raw_time == "2019-04-12 17:57:08"
    assert (second.status, second.vendor_status, second.recipient_mask) == (
        Status.REJECTED,
        "MBBLACK",
        "136****0014",
    )


def test_the_documents_pulled_mo_is_masked_with_a_numeric_ext_no() -> None:
    entries = records_of({"data": DOC_MO_PULL_DATA})
    assert entries is not None
    mo = adapter()._inbound(entries[0])
    assert (mo.sender, mo.sender_mask, mo.content, mo.ext_no) == (None, "138****1234", "端午节快乐", "10")
    assert mo.received_at is not None and mo.received_at.isoformat() == "2019-04-12T09:57:08+00:00"


def test_record_shapes() -> None:
    assert records_of(None) == [] and records_of("") == [] and records_of({}) == []
    assert records_of(DOC_REPORT_PULL_DATA[0]) == [DOC_REPORT_PULL_DATA[0]]
    assert records_of("text") is None and records_of({"n": 1}) is None


def test_a_vendor_id_sent_as_a_number_is_text() -> None:
    report = adapter()._report({**DOC_REPORT_PUSH, "sendId": 12345678901234567890123})
    assert report.vendor_message_id == "12345678901234567890123"


# ---------------------------------------------------------------------------------- pushes


def test_the_documents_pushed_report_has_the_full_number() -> None:
    batch = adapter().parse_push(push(DOC_REPORT_PUSH))
    (report,) = batch.reports
    assert report.recipient == "+8613512349831" and report.recipient_mask is None
    assert (report.status, report.vendor_status) == (Status.DELIVERED, "DELIVRD")
    assert report.occurred_at is not None and report.occurred_at.isoformat() == "2019-04-12T09:57:08+00:00"
    assert not batch.inbound


def test_the_documents_pushed_mo_has_the_full_number() -> None:
    batch = adapter().parse_push(push(DOC_MO_PUSH, kind="mo"))
    (mo,) = batch.inbound
    # The mask too: the pull offers the same MO again, masked, and it must be recognised (8.4).
    assert (mo.sender, mo.sender_mask, mo.content, mo.ext_no, mo.raw_time) == (
        "+8613912341234",
        "139****1234",
        "端午节快乐",
        "10",
        "2019-04-12 17:57:08",
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ([DOC_REPORT_PUSH], "application/json"),
        ({"data": DOC_REPORT_PUSH}, "application/json"),
        ({"data": [DOC_REPORT_PUSH]}, "application/json;charset=UTF-8"),
        ("&".join(f"{k}={v}" for k, v in DOC_REPORT_PUSH.items()), "application/x-www-form-urlencoded"),
        ("data=" + json.dumps(DOC_REPORT_PUSH), "application/x-www-form-urlencoded; charset=UTF-8"),
        (DOC_REPORT_PUSH, ""),
    ],
)
def test_every_reasonable_shape_of_a_push_is_accepted(body: object, content_type: str) -> None:
    (report,) = adapter().parse_push(push(body, content_type=content_type)).reports
    assert report.vendor_message_id == DOC_REPORT_PUSH["sendId"]
    assert report.recipient == "+8613512349831" and report.status is Status.DELIVERED


def test_a_report_pushed_to_the_mo_address_is_still_a_report() -> None:
    batch = adapter().parse_push(push(DOC_REPORT_PUSH, kind="mo"))
    assert len(batch.reports) == 1 and not batch.inbound


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty body"),
        ('{"sendId": "1",}', "not valid JSON"),
        ('"text"', "expected a JSON object"),
        ("[]", "expected a JSON object"),
        ("[1, 2]", "expected a JSON object"),
        ('{"sendId": "1", "mobile": "13512349831"}', "needs sendId, mobile and status"),
        ('{"sendId": "", "mobile": "13512349831", "status": "DELIVRD"}', "needs sendId"),
        ('{"mobile": "13512349831"}', "neither a report"),
        ('{"content": "hi"}', "an MO needs mobile"),
    ],
)
def test_malformed_pushes_are_refused_with_a_short_reason(body: str, reason: str) -> None:
    with pytest.raises(PushRejected, match=reason) as caught:
        adapter().parse_push(push(body))
    assert len(str(caught.value)) < 200


def test_the_ack_is_http_200() -> None:
    answer = adapter().push_ack(push(DOC_REPORT_PUSH), adapter().parse_push(push(DOC_REPORT_PUSH)))
    assert answer.status_code == 200
    assert json.loads(answer.body) == {"code": "00", "message": "成功"}


# ---------------------------------------------------------------------------------- send


def test_recipients_sharing_a_masked_form_go_to_separate_tasks() -> None:
    numbers = ["13512349831", "13500009831", "13600000014", "13599999831", "13612340014"]
    groups = mask_unique_tasks(numbers, lambda n: n[:3] + "****" + n[-4:])
    assert groups == [["13512349831", "13600000014"], ["13500009831", "13612340014"], ["13599999831"]]
    assert mask_unique_tasks([], str) == []


class MemoryStore:
    """The few store calls the send logic makes, in memory: this test is about the vendor calls."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def claim_request(
        self, message_id: str, account: str, lease_seconds: int, inflight: Any = (), *, content: Any = None
    ) -> Any:
        from sms_gateway.store.requests import Claim, ClaimState

        return Claim(ClaimState.CLAIMED)

    def recorded_recipients(self, message_id: str) -> set[str]:
        return {r.recipient for r in self.records if r.message_id == message_id}

    def record_submissions(self, records: list[Any], **_: Any) -> list[bool]:
        self.records += records
        return [True] * len(records)

    def record_and_finish(self, message_id: str, records: list[Any], since: float) -> bool:
        self.records += records
        return True

    def mark_inflight(self, *args: Any) -> None: ...
    def finish_request(self, *args: Any) -> None: ...
    def release_request(self, *args: Any) -> None: ...


def test_3001_numbers_take_two_calls_of_at_most_3000(sim: PwdV1Simulator) -> None:
    # Given the real send logic in front of the simulator (which refuses more than 3000 numbers)
    from sms_gateway.accounts import AccountRegistry
    from sms_gateway.sending import SendService

    registry = AccountRegistry.parse({"accounts": [make_account(sim.url).model_dump()]})
    store = MemoryStore()
    service = SendService(store, registry, lambda a: PwdV1Adapter(a, VendorHttp()), lambda b, d: None)
    numbers = [f"139{n:08d}" for n in range(3001)]  # no two share a masked form
    body = {"id": "bulk-1", "to": numbers, "content": "大促通知", "kind": "marketing"}
    # When one request for 3,001 numbers is processed
    outcome = service.process([{"messageId": "sqs-1", "body": json.dumps(body)}], lambda: 60_000)
    # Then the vendor got two calls, 3,000 numbers and 1, each number once, under two task ids
    calls = [r["form"] for r in sim.received]
    assert [len(c["mobiles"].split(",")) for c in calls] == [3000, 1]
    assert sorted(m for c in calls for m in c["mobiles"].split(",")) == numbers
    assert len({c["taskId"] for c in calls}) == 2
    # And every recipient is recorded submitted under its call's task id
    assert outcome == {"sqs-1": "done"} and len(store.records) == 3001
    assert {r.status for r in store.records} == {Status.SUBMITTED}
    assert store.records[-1].vendor_message_id == calls[1]["taskId"]


def test_a_send_is_a_form_post_with_our_task_id(sim: PwdV1Simulator) -> None:
    # When two numbers are submitted, with an extension
    outcomes = adapter(sim.url).submit(submission("13512349831", "13600000014", ext_no="12"))
    # Then the vendor got one form post with the account, the MD5 pwd, our task id and the signed content
    (call,) = sim.received
    assert call["path"] == "/api/v1/send"
    assert call["form"] == {
        "account": ACCOUNT,
        "pwd": PWD,
        "taskId": "c" * 32,
        "mobiles": "13512349831,13600000014",
        "content": "【圆通快递】您的快件已签收",
        "extNo": "12",
    }
    # And each recipient is submitted under that task
    assert [(o.message_id, o.status, o.vendor_message_id, o.vendor_status) for o in outcomes] == [
        ("m-0", Status.SUBMITTED, "c" * 32, "00"),
        ("m-1", Status.SUBMITTED, "c" * 32, "00"),
    ]


def test_colliding_masks_are_split_into_tasks_with_derived_ids(sim: PwdV1Simulator) -> None:
    outcomes = adapter(sim.url).submit(submission("13512349831", "13599999831", "13600000014"))
    assert [c["form"]["taskId"] for c in sim.received] == ["c" * 32, "c" * 32 + "-2"]
    assert [c["form"]["mobiles"] for c in sim.received] == ["13512349831,13600000014", "13599999831"]
    assert [o.vendor_message_id for o in outcomes] == ["c" * 32, "c" * 32 + "-2", "c" * 32]
    # And the option turns the split off
    adapter(sim.url, split_mask_collisions=False).submit(
        submission("13512349831", "13599999831", call_id="d" * 32)
    )
    assert sim.received[-1]["form"]["mobiles"] == "13512349831,13599999831"


@pytest.mark.parametrize("ext_no", ["1a2", "0", "00", "-5", "１２"])
def test_an_ext_no_that_is_not_a_positive_integer_is_refused_before_the_call(
    sim: PwdV1Simulator, ext_no: str
) -> None:
    with pytest.raises(SubmitRejected) as caught:
        adapter(sim.url).submit(submission("13512349831", ext_no=ext_no))
    assert caught.value.vendor_status == "invalid_ext_no"
    assert sim.received == []


def test_vendor_refusals_are_final_with_the_raw_code_and_message(sim: PwdV1Simulator) -> None:
    # Given a refusal with a code of the simulator's own: final, the raw code and message kept
    sim.set_submit_result("9831", "07")
    with pytest.raises(SubmitRejected) as refused:
        adapter(sim.url).submit(submission("13512349831"))
    assert refused.value.vendor_status == "07" and "simulator rule" in refused.value.description
    # And wrong credentials: 003 documents no code but "00" (L44), so nothing tells them apart from
    # any other refusal; the vendor's own words reach the SMS Submit Failed event
    wrong = PwdV1Adapter(
        make_account(sim.url).model_copy(update={"credentials": {"account": ACCOUNT, "password": "x"}}),
        VendorHttp(),
    )
    with pytest.raises(SubmitRejected) as credentials:
        wrong.submit(submission("13600000014"))
    assert credentials.value.vendor_status != "00" and credentials.value.description


def test_a_garbled_send_answer_is_ambiguous(sim: PwdV1Simulator) -> None:
    sim.inject_fault("non_json", path="/api/v1/send")
    with pytest.raises(VendorUnavailable) as caught:
        adapter(sim.url).submit(submission("13512349831"))
    assert caught.value.ambiguous


def test_one_refused_task_of_a_split_call_fails_only_its_recipients(sim: PwdV1Simulator) -> None:
    sim.set_submit_result("13599999831", "07")
    outcomes = adapter(sim.url).submit(submission("13512349831", "13599999831"))
    assert [(o.recipient, o.status) for o in outcomes] == [
        ("+8613512349831", Status.SUBMITTED),
        ("+8613599999831", Status.FAILED),
    ]


def test_a_template_never_reaches_the_vendor(sim: PwdV1Simulator) -> None:
    from sms_gateway.models import Template

    with pytest.raises(SubmitRejected):
        adapter(sim.url).submit(submission("13512349831", content=None, template=Template(id="1")))
    assert sim.received == []


# ---------------------------------------------------------------------------------- pulls, balance


def test_pulls_read_masked_reports_and_mo_once(sim: PwdV1Simulator) -> None:
    # Given a delivered and a blacklisted recipient, and an MO, waiting at the vendor
    sim.set_outcome("0014", "blacklisted")
    adapter(sim.url).submit(submission("13512349831", "13600000014"))
    sim.queue_mo("13812341234", "收到", ext_no="10")
    assert sim.wait_idle(2)
    # When they are pulled
    reports = {r.recipient_mask: r for r in adapter(sim.url).pull_reports(lambda n: [])}
    (mo,) = adapter(sim.url).pull_inbound()
    # Then the reports are masked and correlate by our task id
    assert set(reports) == {"135****9831", "136****0014"}
    assert reports["135****9831"].status is Status.DELIVERED
    assert reports["136****0014"].vendor_status == "MBBLACK"
    assert {r.vendor_message_id for r in reports.values()} == {"c" * 32}
    assert (mo.sender, mo.sender_mask, mo.ext_no) == (None, "138****1234", "10")
    # And a second pull finds nothing: the vendor hands each record out once
    assert adapter(sim.url).pull_reports(lambda n: []) == [] and adapter(sim.url).pull_inbound() == []


def test_a_failed_pull_is_a_poll_error(sim: PwdV1Simulator) -> None:
    sim.inject_fault("5xx", path="/api/v1/report")
    with pytest.raises(VendorUnavailable):
        adapter(sim.url).pull_reports(lambda n: [])


def test_balance_is_read_as_yuan_unless_told_otherwise(sim: PwdV1Simulator) -> None:
    # Given the document's balance and a post-paid account
    sim.set_balance(200000, payment=1, payment_name="后付")
    # Then the amount is yuan by default, with the payment mode kept raw
    balance = adapter(sim.url).balance()
    assert (balance.amount, balance.currency) == (Decimal(200000), "CNY")
    assert balance.raw == {"balance": 200000, "payment": 1, "paymentName": "后付"}
    assert adapter(sim.url, balance_unit="fen").balance().amount == Decimal(2000)
    assert adapter(sim.url, balance_unit="li").balance().amount == Decimal(200)
    assert adapter(sim.url, balance_unit="messages").balance().currency == "SMS"
    with pytest.raises(ConfigurationError):
        adapter(sim.url, balance_unit="euros").balance()


def test_a_refusal_quoting_a_number_is_kept_masked(vendor: VendorServer) -> None:
    # Given a vendor refusing the call with a message that quotes the number
    vendor.responder = lambda request: Reply(200, {"code": "09", "message": "号码13512349831不可用"})
    # When it is submitted
    with pytest.raises(SubmitRejected) as refused:
        adapter(vendor.url).submit(submission("13512349831"))
    # Then the refusal kept for records, events and logs shows the number masked only
    assert "13512349831" not in refused.value.description and "135****9831" in refused.value.description
