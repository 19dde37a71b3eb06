"""paasw_v1 parsers, code tables, acks and wire format, fed with the vendor document's own
examples (000, made valid JSON), against the simulator or a scripted stand-in; no AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from simulators import PaaswV1Simulator, simulator_for
from sms_gateway.accounts import Account
from sms_gateway.errors import ConfigurationError, PushRejected, SubmitRejected, VendorUnavailable
from sms_gateway.http import VendorHttp
from sms_gateway.models import MessageKind, OutboundItem, PushRequest, Status, Submission, Template
from sms_gateway.tokens import TokenCache
from sms_gateway.vendors import paasw_v1
from sms_gateway.vendors.base import adapter_class
from sms_gateway.vendors.paasw_v1 import PaaswV1Adapter, report_status, vendor_id
from tests.support.vendor_server import Received, Reply, VendorServer

pytestmark = pytest.mark.unit

APP_ID, SECRET = "0189457543", "23f757bad208226ec301e117e40006ed"

# Section 4.2's push example, without its trailing comma and its // comment.
DOC_REPORT_PUSH = """[
  {
    "phone_number" : "13900000001",
    "send_time" : "2017-01-01 00:00:00",
    "report_time" : "2017-01-01 00:00:00",
    "success" : true,
    "code" : "10000",
    "message" : "请求成功",
    "sms_size" : "1",
    "biz_id" : "39036632588910887018"
  }
]"""

# Section 5.2's push example (already valid JSON).
DOC_MO_PUSH = """[
  {
    "phone_number" : "18612345678",
    "send_time" : "2017-09-01 00:00:00",
    "content" : "内容",
    "sign" : "签名",
    "sequence_id" : 1234567890
  }
]"""


class MemoryTokens:
    """The table side of TokenCache, in memory: what another Lambda instance would see."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[str, int]] = {}
        self.puts = 0

    def get_token(self, account: str) -> tuple[str, int] | None:
        return self.items.get(account)

    def put_token(self, account: str, token: str, valid_until: int) -> None:
        self.puts += 1
        self.items[account] = (token, valid_until)

    def drop_token(self, account: str, token: str) -> None:
        if self.items.get(account, ("",))[0] == token:
            del self.items[account]


def account(base_url: str = "http://127.0.0.1:9", **options: Any) -> dict[str, Any]:
    return {
        "name": "cn-paasw",
        "vendor": "paasw_v1",
        "base_url": base_url,
        "credentials": {"app_id": APP_ID, "secret": SECRET},
        "options": options,
        "sign": "圆通快递",
        "timezone": "Asia/Shanghai",
    }


def adapter(
    base_url: str = "http://127.0.0.1:9", tokens: MemoryTokens | None = None, **options: Any
) -> PaaswV1Adapter:
    acc = Account(**account(base_url, **options))
    cache = TokenCache(tokens, acc.name) if tokens is not None else None
    return PaaswV1Adapter(acc, VendorHttp(read_timeout=2), cache)


def push(body: str, kind: str = "report") -> PushRequest:
    return PushRequest(kind, {}, {}, body.encode(), "application/json")  # type: ignore[arg-type]


def submission(*numbers: str, **fields: Any) -> Submission:
    items = tuple(OutboundItem("m-1", n) for n in numbers)
    return Submission(call_id="c", items=items, kind=fields.pop("kind", MessageKind.NOTIFICATION), **fields)


@pytest.fixture(autouse=True)
def cold_token_memory() -> Iterator[None]:
    TokenCache._memory.clear()
    yield
    TokenCache._memory.clear()


@pytest.fixture
def sim() -> Iterator[PaaswV1Simulator]:
    simulator = simulator_for(account("http://127.0.0.1:0"), delivery="pull", report_delay=0.05)
    assert isinstance(simulator, PaaswV1Simulator)
    yield simulator
    simulator.stop()


# ------------------------------------------------------------------------------ pushes


def test_the_registry_finds_the_adapter() -> None:
    assert adapter_class("paasw_v1") is PaaswV1Adapter
    assert PaaswV1Adapter.max_recipients_per_call == 1000 and PaaswV1Adapter.supports_templates


def test_the_documents_report_push_becomes_a_delivered_report_in_utc() -> None:
    # When the push example of section 4.2 is parsed
    batch = adapter().parse_push(push(DOC_REPORT_PUSH))
    # Then it is one delivered report, matched by bizId and the E.164 number, its time in UTC
    (report,) = batch.reports
    assert not batch.inbound
    assert report.vendor_message_id == "39036632588910887018"
    assert report.recipient == "+8613900000001"
    assert (report.status, report.vendor_status, report.description) == (
        Status.DELIVERED,
        "10000",
        "用户接收成功",
    )
    assert report.occurred_at is not None and report.occurred_at.isoformat() == "2016-12-31T16:00:00+00:00"
    assert report.raw_time == "2017-01-01 00:00:00"


def test_the_documents_mo_push_becomes_one_inbound_with_its_sequence_id() -> None:
    batch = adapter().parse_push(push(DOC_MO_PUSH, kind="mo"))
    (mo,) = batch.inbound
    assert not batch.reports
    assert (mo.sender, mo.content, mo.vendor_message_id, mo.raw_time) == (
        "+8618612345678",
        "内容",
        "1234567890",
        "2017-09-01 00:00:00",
    )
    assert mo.received_at is not None and mo.received_at.isoformat() == "2017-08-31T16:00:00+00:00"


def test_acks_are_exactly_the_documents_with_a_number_for_reports_and_a_string_for_mo() -> None:
    a = adapter()
    report_ack = a.push_ack(push(DOC_REPORT_PUSH), a.parse_push(push(DOC_REPORT_PUSH)))
    mo_ack = a.push_ack(push(DOC_MO_PUSH, "mo"), a.parse_push(push(DOC_MO_PUSH, "mo")))
    assert report_ack.status_code == mo_ack.status_code == 200
    assert report_ack.content_type.startswith("application/json")
    assert json.loads(report_ack.body) == {"code": 10000, "msg": "操作成功"}
    assert isinstance(json.loads(report_ack.body)["code"], int)
    assert json.loads(mo_ack.body) == {"code": "10000", "msg": "请求成功"}
    assert report_ack.body == '{"code":10000,"msg":"操作成功"}'


@pytest.mark.parametrize(
    "body",
    [
        # wrapped instead of bare
        '{"code": "10000", "data": [' + DOC_REPORT_PUSH.strip()[1:-1] + "]}",
        # a single record without its array
        DOC_REPORT_PUSH.strip()[1:-1],
        # camelCase names and a numeric code and bizId
        '[{"phoneNumber": "13900000001", "reportTime": "2017-01-01 00:00:00", "code": 10000,'
        ' "bizId": 39036632588910887018}]',
    ],
)
def test_other_reasonable_shapes_of_a_report_push_are_accepted(body: str) -> None:
    (report,) = adapter().parse_push(push(body)).reports
    assert report.vendor_message_id == "39036632588910887018"
    assert report.status is Status.DELIVERED and report.recipient == "+8613900000001"


def test_reports_and_mo_pushed_to_one_url_are_told_apart_by_their_fields() -> None:
    mixed = json.dumps(json.loads(DOC_REPORT_PUSH) + json.loads(DOC_MO_PUSH))
    batch = adapter().parse_push(push(mixed, kind="report"))
    assert len(batch.reports) == 1 and len(batch.inbound) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty body"),
        # the document's example as written: a // comment and a trailing comma
        (
            DOC_REPORT_PUSH.replace('"10000",', '"10000",//10000:用户接收成功').replace(
                '"39036632588910887018"', '"39036632588910887018",'
            ),
            "not valid JSON",
        ),
        ('"text"', "expected a JSON array"),
        ('{"code": "10000"}', "expected a JSON array"),
        ("[1]", "record 0 is not a JSON object"),
        ('[{"phone_number": "13900000001"}]', "needs biz_id .* or content"),
        ('[{"biz_id": "1", "code": "10000"}]', "a report needs biz_id, phone_number and code"),
        ('[{"biz_id": "1", "phone_number": "13900000001"}]', "a report needs"),
        ('[{"content": "x"}]', "an MO needs phone_number and content"),
    ],
)
def test_malformed_pushes_are_refused_with_a_short_reason(body: str, reason: str) -> None:
    with pytest.raises(PushRejected, match=reason) as caught:
        adapter().parse_push(push(body))
    assert len(str(caught.value)) < 200 and "13900000001" not in str(caught.value)


def test_an_empty_array_is_a_valid_push_of_nothing() -> None:
    batch = adapter().parse_push(push("[]"))
    assert batch.reports == () and batch.inbound == ()


# ------------------------------------------------------------------------------ code tables


def test_every_report_code_of_the_document_has_a_canonical_status() -> None:
    # Given the codes of section 4.2: 10000 received; 1, 4, 5, 6, 7, 8, 9 failures
    expected = {
        "10000": Status.DELIVERED,
        "1": Status.FAILED,
        "4": Status.UNDELIVERED,
        "5": Status.REJECTED,
        "6": Status.REJECTED,
        "7": Status.REJECTED,
        "8": Status.REJECTED,
        "9": Status.UNKNOWN,
    }
    assert set(paasw_v1.REPORT_CODES) == set(expected)
    for code, status in expected.items():
        assert report_status(code)[0] is status, code


def test_codes_outside_the_table_are_undelivered_and_a_missing_code_falls_back_to_success() -> None:
    assert report_status("42") == (Status.UNDELIVERED, "未知的状态代码")
    assert report_status("", True)[0] is Status.DELIVERED
    assert report_status("", False)[0] is Status.UNDELIVERED
    (report,) = (
        adapter()
        .parse_push(push('[{"biz_id": "7", "phone_number": "13900000001", "code": "4", "success": false}]'))
        .reports
    )
    assert (report.status, report.vendor_status, report.description) == (Status.UNDELIVERED, "4", "失败")


def test_vendor_ids_are_strings_however_they_arrive() -> None:
    assert vendor_id(39036632588910887018) == "39036632588910887018"
    assert vendor_id(" 39036632588910887018 ") == "39036632588910887018"
    assert vendor_id(Decimal("1234567890.0")) == "1234567890"
    assert vendor_id(None) is None and vendor_id("") is None and vendor_id(True) is None


# ------------------------------------------------------------------------------ send (simulator)


def test_a_send_carries_the_documents_fields_and_one_biz_id_covers_every_number(
    sim: PaaswV1Simulator,
) -> None:
    # Given two numbers, a verification message and the request's bracketed-free sign
    a = adapter(sim.url, MemoryTokens())
    # When it is submitted
    outcomes = a.submit(
        submission(
            "+8613900000001",
            "+8613900000002",
            content="验证码 1234",
            sign="圆通快递",
            kind=MessageKind.VERIFICATION,
        )
    )
    # Then the vendor got national numbers with an ASCII comma, the bare sign, the content with
    # its 【sign】 (000: "发送内容，包含【XX】签名"), kind 1
    (call,) = [r for r in sim.received if r["path"] == "/sms/send"]
    assert call["method"] == "POST" and call["form"]["token"]
    assert {k: v for k, v in call["form"].items() if k != "token"} == {
        "phoneNumbers": "13900000001,13900000002",
        "sign": "圆通快递",
        "content": "【圆通快递】验证码 1234",
        "kind": "1",
    }
    # And each recipient is submitted under the call's bizId
    biz_ids = {o.vendor_message_id for o in outcomes}
    assert len(biz_ids) == 1 and biz_ids == {m["id"] for m in sim.messages}
    assert [(o.recipient, o.status, o.vendor_status) for o in outcomes] == [
        ("+8613900000001", Status.SUBMITTED, "10000"),
        ("+8613900000002", Status.SUBMITTED, "10000"),
    ]


@pytest.mark.parametrize(("kind", "code"), [(MessageKind.NOTIFICATION, "2"), (MessageKind.MARKETING, "3")])
def test_kind_follows_the_request(sim: PaaswV1Simulator, kind: MessageKind, code: str) -> None:
    adapter(sim.url).submit(submission("+8613900000001", content="x", sign="圆通快递", kind=kind))
    assert sim.received[-1]["form"]["kind"] == code


def test_options_leave_kind_out_and_put_the_sign_in_the_content(sim: PaaswV1Simulator) -> None:
    # Given a single-kind account whose gateway wants 【sign】 in the content
    a = adapter(sim.url, multi_kind=False, sign_in_content=True)
    # When a message without a request sign is sent
    a.submit(submission("+8613900000001", content="您的快件已签收"))
    # Then kind is left out, the account's sign is used, and the content is framed
    form = sim.received[-1]["form"]
    assert (
        "kind" not in form and form["sign"] == "圆通快递" and form["content"] == "【圆通快递】您的快件已签收"
    )


def test_a_template_send_uses_send_template_with_param_json(sim: PaaswV1Simulator) -> None:
    a = adapter(sim.url, template_texts={"1192360392260608": "您的验证码是${code}，${minutes}分钟内有效"})
    template = Template(id="1192360392260608", params={"code": "482913", "minutes": "5"})
    outcomes = a.submit(submission("+8613900000001", template=template, sign="圆通快递"))
    (call,) = [r for r in sim.received if r["path"] == "/sms/sendTemplate"]
    assert json.loads(call["form"]["paramJson"]) == [{"code": "482913"}, {"minutes": "5"}]
    assert call["form"]["templateId"] == "1192360392260608" and call["form"]["sign"] == "圆通快递"
    assert call["form"]["content"] == "您的验证码是482913，5分钟内有效"
    assert "kind" not in call["form"]
    assert outcomes[0].status is Status.SUBMITTED and outcomes[0].vendor_message_id


def test_param_json_as_one_object_and_content_defaulting_to_the_template_id(sim: PaaswV1Simulator) -> None:
    a = adapter(sim.url, param_json_style="object")
    a.submit(submission("+8613900000001", template=Template(id="T9", params={"code": "1"}), sign="圆通快递"))
    form = sim.received[-1]["form"]
    assert json.loads(form["paramJson"]) == {"code": "1"} and form["content"] == "T9"


def test_a_refused_call_fails_for_good_with_the_vendors_code(sim: PaaswV1Simulator) -> None:
    sim.set_submit_result("13900000009", "10005")
    with pytest.raises(SubmitRejected) as caught:
        adapter(sim.url).submit(submission("+8613900000009", content="x", sign="圆通快递"))
    assert caught.value.vendor_status == "10005" and caught.value.description


def test_retryable_codes_and_transport_failures(sim: PaaswV1Simulator) -> None:
    sim.set_submit_result("13900000009", "20001")
    with pytest.raises(VendorUnavailable) as retry:
        adapter(sim.url, retryable_codes=["20001"]).submit(
            submission("+8613900000009", content="x", sign="s")
        )
    assert not retry.value.ambiguous
    # A 5xx is safe to resend; a garbled answer to a send may hide an accepted call
    sim.inject_fault("5xx", path="/sms/send")
    with pytest.raises(VendorUnavailable) as busy:
        adapter(sim.url).submit(submission("+8613900000001", content="x", sign="s"))
    assert not busy.value.ambiguous
    sim.inject_fault("non_json", path="/sms/send")
    with pytest.raises(VendorUnavailable) as garbled:
        adapter(sim.url).submit(submission("+8613900000001", content="x", sign="s"))
    assert garbled.value.ambiguous


def test_no_sign_anywhere_refuses_the_call_before_the_vendor(sim: PaaswV1Simulator) -> None:
    acc = Account(**{**account(sim.url), "sign": None})
    with pytest.raises(SubmitRejected, match="sign"):
        PaaswV1Adapter(acc, VendorHttp()).submit(submission("+8613900000001", content="x"))
    assert sim.calls("/sms/send") == 0


# ------------------------------------------------------------------------------ tokens


def test_instances_share_one_token_through_the_table(sim: PaaswV1Simulator) -> None:
    # Given one instance that fetched a token
    table = MemoryTokens()
    adapter(sim.url, table).balance()
    # When another instance (cold memory) calls the vendor
    TokenCache._memory.clear()
    adapter(sim.url, table).balance()
    # Then it reused the token from the table: one fetch in all
    assert sim.calls("/api/token") == 1 and table.puts == 1


def test_a_refused_token_is_dropped_renewed_once_and_the_call_retried(sim: PaaswV1Simulator) -> None:
    table = MemoryTokens()
    a = adapter(sim.url, table)
    a.submit(submission("+8613900000001", content="x", sign="圆通快递"))
    old = table.items["cn-paasw"][0]
    # When the vendor resets the token (a reset secret)
    sim.expire_tokens()
    outcomes = a.submit(submission("+8613900000002", content="x", sign="圆通快递"))
    # Then the send got the token error once, one new token was fetched and the send succeeded
    assert outcomes[0].status is Status.SUBMITTED
    assert sim.calls("/api/token") == 2 and sim.calls("/sms/send") == 3
    assert table.items["cn-paasw"][0] != old


def test_a_token_refused_twice_is_a_transient_failure(vendor: VendorServer) -> None:
    def answer(request: Received) -> Reply:
        if request.path == "/api/token":
            return Reply(200, {"code": "10000", "token": "t-1", "expires_in": 7200})
        return Reply(200, {"code": "10003", "message": "token 无效"})

    vendor.responder = answer
    with pytest.raises(VendorUnavailable, match="freshly fetched token") as caught:
        adapter(vendor.url, MemoryTokens()).submit(submission("+8613900000001", content="x", sign="s"))
    assert not caught.value.ambiguous
    assert [r.path for r in vendor.received] == ["/api/token", "/sms/send", "/api/token", "/sms/send"]


def test_a_token_near_its_end_is_kept_until_it_dies_not_fetched_on_every_call(vendor: VendorServer) -> None:
    # Given a vendor handing back its current token with 200 s left (inside the renewal margin)
    def answer(request: Received) -> Reply:
        if request.path == "/api/token":
            return Reply(200, {"code": "10000", "token": "t-old", "expires_in": 200})
        return Reply(200, {"code": "10000", "balance": 1})

    vendor.responder = answer
    a = adapter(vendor.url, MemoryTokens())
    # When three calls are made
    for _ in range(3):
        a.balance()
    # Then the token was fetched once, not once per call
    assert [r.path for r in vendor.received].count("/api/token") == 1


def test_http_401_and_an_error_mentioning_the_token_count_as_token_refusals(vendor: VendorServer) -> None:
    ok = Reply(200, {"code": "10000", "balance": 1})
    sends = iter(
        [
            Reply(401, "unauthorized", "text/plain"),
            ok,
            Reply(200, {"code": "77", "message": "Token expired"}),
            ok,
        ]
    )

    def answer(request: Received) -> Reply:
        if request.path == "/api/token":
            return Reply(200, {"code": "10000", "token": "t-1", "expires_in": 7200})
        return next(sends)

    vendor.responder = answer
    a = adapter(vendor.url, MemoryTokens())
    assert a.balance().amount == 1
    assert a.balance().amount == 1
    assert [r.path for r in vendor.received].count("/api/token") == 3


def test_a_wrong_secret_is_a_transient_failure_without_the_secret_in_it(sim: PaaswV1Simulator) -> None:
    acc = Account(**{**account(sim.url), "credentials": {"app_id": APP_ID, "secret": "wrong-secret-value"}})
    with pytest.raises(VendorUnavailable, match="gave no token") as caught:
        PaaswV1Adapter(acc, VendorHttp()).balance()
    assert "wrong-secret-value" not in str(caught.value)


# ------------------------------------------------------------------------------ pulls and balance


def test_pulled_reports_and_mo_from_the_simulator(sim: PaaswV1Simulator) -> None:
    # Given a delivered and a blacklisted number, and one MO, waiting at the vendor
    a = adapter(sim.url)
    sim.set_outcome("13900000009", "blacklisted")
    (outcome, _) = a.submit(submission("+8613900000001", "+8613900000009", content="x", sign="圆通快递"))
    sim.queue_mo("13900000001", "TD")
    assert sim.wait_idle(2)
    # When they are pulled
    reports = {r.recipient: r for r in a.pull_reports(lambda limit: [])}
    (mo,) = a.pull_inbound()
    # Then each report carries the bizId and its status, the MO its sender and text
    assert {r.vendor_message_id for r in reports.values()} == {outcome.vendor_message_id}
    assert reports["+8613900000001"].status is Status.DELIVERED
    assert (reports["+8613900000009"].status, reports["+8613900000009"].vendor_status) == (
        Status.REJECTED,
        "7",
    )
    assert (mo.sender, mo.content) == ("+8613900000001", "TD") and mo.vendor_message_id
    # And the MO pull named the account's sign, the report pull none
    assert sim.received[-1]["query"]["sign"] == "圆通快递"
    assert "sign" not in next(r for r in sim.received if r["path"] == "/sms/deliver")["query"]


def test_wrapped_pulls_are_accepted_and_bad_records_skipped(vendor: VendorServer) -> None:
    records = [
        {
            "phone_number": "13900000001",
            "code": "10000",
            "biz_id": 39036632588910887018,
            "report_time": "2017-01-01 00:00:00",
        },
        {"phone_number": "13900000002"},  # unreadable: skipped, the others kept
        "not a record",
    ]

    def answer(request: Received) -> Reply:
        if request.path == "/api/token":
            return Reply(200, {"code": "10000", "token": "t-1", "expires_in": 7200})
        if request.path == "/sms/deliver":
            return Reply(200, {"code": "10000", "message": "ok", "data": records})
        return Reply(200, {"code": "10000", "message": "无数据"})

    vendor.responder = answer
    a = adapter(vendor.url, report_pull_by_sign=True, mo_signs=["圆通快递", "【中通快递】"])
    (report,) = a.pull_reports(lambda limit: [])
    assert report.vendor_message_id == "39036632588910887018"
    assert a.pull_inbound() == []
    deliver = next(r for r in vendor.received if r.path == "/sms/deliver")
    assert deliver.query["sign"] == "圆通快递"
    assert [r.query["sign"] for r in vendor.received if r.path == "/sms/smsUp"] == ["圆通快递", "中通快递"]


def test_a_pull_answered_with_an_error_code_is_a_transient_failure(vendor: VendorServer) -> None:
    vendor.responder = lambda r: (
        Reply(200, {"code": "10000", "token": "t", "expires_in": 7200})
        if r.path == "/api/token"
        else Reply(200, {"code": "19999", "message": "系统繁忙"})
    )
    with pytest.raises(VendorUnavailable, match="19999"):
        adapter(vendor.url).pull_reports(lambda limit: [])


def test_mo_cannot_be_pulled_without_a_sign() -> None:
    acc = Account(**{**account(), "sign": None})
    with pytest.raises(ConfigurationError, match="sign"):
        PaaswV1Adapter(acc, VendorHttp()).pull_inbound()


def test_balance_is_in_yuan_and_exact(sim: PaaswV1Simulator) -> None:
    sim.set_balance(88.5)
    balance = adapter(sim.url).balance()
    assert (balance.amount, balance.currency) == (Decimal("88.5"), "CNY")
    assert balance.raw["code"] == "10000"


def test_a_send_answer_without_a_code_is_ambiguous(vendor: VendorServer) -> None:
    # Given a vendor answering the send with JSON that carries no code at all
    def answer(request: Received) -> Reply:
        if request.path == "/api/token":
            return Reply(200, {"code": "10000", "token": "t-1", "expires_in": 7200})
        return Reply(200, {"message": "操作成功"})

    vendor.responder = answer
    # Then it may have been sent: ambiguous, never a refusal that would be resent or failed
    with pytest.raises(VendorUnavailable) as caught:
        adapter(vendor.url, MemoryTokens()).submit(submission("+8613900000001", content="x", sign="s"))
    assert caught.value.ambiguous
