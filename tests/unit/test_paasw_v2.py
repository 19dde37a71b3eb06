"""paasw_v2 parsers, code table and request shapes, fed with the vendor document's own examples (001).

The HTTP side runs through the real VendorHttp over a fake session, so failure classification
(HTTP 5xx, garbled answers) is the one production uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from sms_gateway.accounts import Account
from sms_gateway.errors import (
    ConfigurationError,
    PushRejected,
    SubmitRejected,
    UnsupportedRecipient,
    VendorUnavailable,
)
from sms_gateway.http import VendorHttp
from sms_gateway.models import MessageKind, OutboundItem, PushRequest, Status, Submission, Template
from sms_gateway.tokens import TokenCache
from sms_gateway.vendors import paasw_v2
from sms_gateway.vendors.paasw_v2 import PaaswV2Adapter, report_status, vendor_id

pytestmark = pytest.mark.unit

APP_ID, SECRET = "0189457543", "gw7ewiz4eJ5646grg"
BIG_ID = "39036632588910887018"  # the document's 20-digit batchId: beyond any 64-bit integer

# Section 11, "状态(回执)推送" (the document's example, verbatim apart from whitespace).
DOC_REPORT_PUSH = """{
    "count":2,
    "data":[
            {"mobile" : "13900000001", "chnRptDate" : "2017-01-01 00:00:00",
             "chnRptCode" : "DB:0141", "batchId" : "3903663258891088785"},
            {"mobile" : "13900000001", "chnRptDate" : "2017-01-01 00:00:00",
             "chnRptCode" : "DB:0141", "batchId" : "39036632588910887018"}
        ]
}"""
# Section 12, "上行推送".
DOC_MO_PUSH = """{
"count":2,
"data":[
        {"mobile":"15000000002", "extNo":"1234567890", "content":"收到短信了",
         "replyDate":"2019-01-01 08:08:08"},
        {"mobile":"15000000002", "extNo":"1234567890", "content":"收到短信了",
         "replyDate":"2019-01-01 08:08:08"}
    ]}"""
# Section 3's answer, with the batchId of its field table written as a JSON number.
SEND_ANSWER = '{"code":0,"message":"请求成功","data":{"batchId":39036632588910887018}}'


class FakeSession:
    """Stands in for requests.Session under VendorHttp: records calls, answers from a script."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.script: dict[str, list[tuple[int, str]]] = {}
        self.tokens = iter(f"token-{n}" for n in range(1, 100))

    def answer(self, path: str, body: str | dict[str, Any], status: int = 200) -> None:
        text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        self.script.setdefault(path, []).append((status, text))

    def request(self, method: str, url: str, timeout: Any = None, **kwargs: Any) -> requests.Response:
        path = url.split("127.0.0.1:9", 1)[1]
        if "json" in kwargs:
            fields, form = kwargs["json"], False
        else:
            fields, form = kwargs["data"], True
        self.calls.append({"method": method, "path": path, "fields": fields, "form": form})
        if self.script.get(path):
            status, text = self.script[path].pop(0)
        elif path in ("/message/token", "/message/tokenApi"):
            token = next(self.tokens)
            status, text = (
                200,
                json.dumps({"code": 0, "message": "ok", "data": {"expires_in": 7200, "token": token}}),
            )
        elif path.endswith("balance"):
            status, text = 200, json.dumps({"code": 0, "message": "请求成功", "data": {"balance": 1}})
        else:
            status, text = 200, json.dumps({"code": 0, "message": "请求成功", "data": {"batchId": 1}})
        response = requests.Response()
        response.status_code = status
        response._content = text.encode("utf-8")
        response.encoding = "utf-8"
        return response

    def paths(self) -> list[str]:
        return [c["path"] for c in self.calls]

    def last(self, path: str) -> dict[str, Any]:
        return [c for c in self.calls if c["path"] == path][-1]


class MemoryTokens:
    """The table side of TokenCache, in memory."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[str, int]] = {}
        self.dropped: list[str] = []

    def get_token(self, account: str) -> tuple[str, int] | None:
        return self.items.get(account)

    def put_token(self, account: str, token: str, valid_until: int) -> None:
        self.items[account] = (token, valid_until)

    def drop_token(self, account: str, token: str) -> None:
        self.dropped.append(token)
        if self.items.get(account, ("",))[0] == token:
            del self.items[account]


@pytest.fixture(autouse=True)
def _cold_token_memory() -> Iterator[None]:
    TokenCache._memory.clear()
    yield
    TokenCache._memory.clear()


@pytest.fixture
def session() -> FakeSession:
    return FakeSession()


def adapter(
    session: FakeSession | None = None,
    tokens: MemoryTokens | None = None,
    sign: str | None = "圆通快递",
    **options: object,
) -> PaaswV2Adapter:
    account = Account(
        name="cn-paasw-v2",
        vendor="paasw_v2",
        base_url="http://127.0.0.1:9",
        credentials={"app_id": APP_ID, "secret": SECRET},
        options=options,
        sign=sign,
        timezone="Asia/Shanghai",
    )
    http = VendorHttp()
    http._session = session or FakeSession()  # type: ignore[assignment]
    cache = TokenCache(tokens, account.name) if tokens is not None else None
    return PaaswV2Adapter(account, http, cache)


def push(body: str, kind: str = "report") -> PushRequest:
    return PushRequest(kind, {}, {}, body.encode(), "application/json")  # type: ignore[arg-type]


def submission(
    *numbers: str,
    content: str | None = "你的快件已签收，谢谢使用",
    kind: MessageKind = MessageKind.NOTIFICATION,
    **fields: Any,
) -> Submission:
    items = tuple(OutboundItem("m-1", n) for n in (numbers or ("+8615053621452", "+8615863254125")))
    return Submission(call_id="c" * 32, items=items, kind=kind, content=content, **fields)


# ---------------------------------------------------------------------------------------- pushes


def test_the_documents_report_push_gives_two_failures_with_their_exact_batch_ids() -> None:
    # Given the report push example of section 11
    # When it is parsed
    batch = adapter().parse_push(push(DOC_REPORT_PUSH))
    # Then each record is an undelivered report keeping DB:0141, its batchId exact, its time in UTC
    assert [r.vendor_message_id for r in batch.reports] == ["3903663258891088785", BIG_ID]
    for report in batch.reports:
        assert report.recipient == "+8613900000001"
        assert (report.status, report.vendor_status) == (Status.UNDELIVERED, "DB:0141")
        assert report.raw_time == "2017-01-01 00:00:00"
        assert report.occurred_at == datetime(2016, 12, 31, 16, 0, tzinfo=UTC)
    assert batch.inbound == ()


def test_the_documents_mo_push_gives_inbound_messages() -> None:
    batch = adapter().parse_push(push(DOC_MO_PUSH, kind="mo"))
    assert len(batch.inbound) == 2 and batch.reports == ()
    mo = batch.inbound[0]
    assert (mo.sender, mo.content, mo.ext_no, mo.raw_time) == (
        "+8615000000002",
        "收到短信了",
        "1234567890",
        "2019-01-01 08:08:08",
    )
    assert mo.received_at == datetime(2019, 1, 1, 0, 8, 8, tzinfo=UTC)
    assert mo.vendor_message_id is None


def test_push_ack_is_http_200_with_the_vendors_success_json() -> None:
    a = adapter()
    answer = a.push_ack(push(DOC_REPORT_PUSH), a.parse_push(push(DOC_REPORT_PUSH)))
    assert (answer.status_code, answer.content_type) == (200, "application/json")
    assert json.loads(answer.body) == {"code": 0, "message": "请求成功"}


@pytest.mark.parametrize(
    "body",
    [
        # the documented wrapper, a bare array, one record alone, and the batchId as a JSON number
        '{"count": 1, "data": [{"mobile": "13900000001", "chnRptCode": "DELIVRD", "batchId": "%s"}]}',
        '[{"mobile": "13900000001", "chnRptCode": "DELIVRD", "batchId": "%s"}]',
        '{"mobile": "13900000001", "chnRptCode": "DELIVRD", "batchId": "%s"}',
        '{"count": 1, "data": [{"mobile": "13900000001", "chnRptCode": "DELIVRD", "batchId": %s}]}',
        '{"count": 1, "data": {"mobile": "13900000001", "chnRptCode": "DELIVRD", "batchId": %s}}',
    ],
)
def test_every_reasonable_push_shape_is_accepted(body: str) -> None:
    (report,) = adapter().parse_push(push(body % BIG_ID)).reports
    assert report.vendor_message_id == BIG_ID and report.status is Status.DELIVERED
    assert report.raw_time is None and report.occurred_at is None


def test_a_record_decides_its_kind_so_one_push_address_serves_both() -> None:
    body = {
        "count": 2,
        "data": [
            {
                "mobile": "13900000001",
                "chnRptDate": "2017-01-01 00:00:00",
                "chnRptCode": "DELIVRD",
                "batchId": "7",
            },
            {"mobile": "15000000002", "content": "TD", "replyDate": "2019-01-01 08:08:08"},
        ],
    }
    batch = adapter().parse_push(push(json.dumps(body), kind="mo"))
    assert len(batch.reports) == 1 and len(batch.inbound) == 1
    assert batch.inbound[0].ext_no is None


@pytest.mark.parametrize(
    "body", ['{"count": 0, "data": []}', '{"count": 0}', '{"count": 0, "data": null}', "[]"]
)
def test_an_empty_push_is_an_empty_batch(body: str) -> None:
    batch = adapter().parse_push(push(body))
    assert batch.reports == () and batch.inbound == ()


def test_a_count_that_differs_from_the_records_is_not_refused() -> None:
    body = '{"count": 5, "data": [{"mobile": "13900000001", "chnRptCode": "DELIVRD", "batchId": "1"}]}'
    assert len(adapter().parse_push(push(body)).reports) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "empty body"),
        ("  ", "empty body"),
        ('{"count":2, "data":[{"mobile":"1"},]}', "not valid JSON"),
        ('"text"', "expected"),
        ('{"result": []}', "expected"),
        ('{"count": 1, "data": "x"}', "expected"),
        ('{"count": 1, "data": [7]}', "record 0 is not a JSON object"),
        (
            '{"count": 1, "data": [{"mobile": "13900000001", "batchId": "1"}]}',
            "needs batchId, mobile and chnRptCode",
        ),
        ('{"count": 1, "data": [{"mobile": "13900000001", "chnRptCode": "DELIVRD"}]}', "batchId is missing"),
        ('{"count": 1, "data": [{"chnRptCode": "DELIVRD", "batchId": "1"}]}', "needs batchId, mobile"),
        (
            '{"count": 1, "data": [{"replyDate": "2019-01-01 08:08:08", "content": "x"}]}',
            "needs mobile and content",
        ),
        ('{"count": 1, "data": [{"mobile": "15000000002"}]}', "neither a report"),
    ],
)
def test_malformed_pushes_are_refused_with_a_short_reason(body: str, reason: str) -> None:
    with pytest.raises(PushRejected, match=reason) as refused:
        adapter().parse_push(push(body))
    assert len(str(refused.value)) < 200


def test_a_push_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(PushRejected):
        adapter().parse_push(
            PushRequest("report", {}, {}, b'{"count":1,"data":["\xff"]}', "application/json")
        )


# ---------------------------------------------------------------------------------------- code table


def test_only_delivrd_is_delivered_and_every_other_code_is_kept_raw() -> None:
    assert report_status("DELIVRD") == (Status.DELIVERED, "短信投递成功")
    for code in paasw_v2.REPORT_CODES:
        assert (report_status(code)[0] is Status.DELIVERED) == (code == "DELIVRD")
    assert report_status("DB:0141")[0] is Status.UNDELIVERED
    assert report_status("EXPIRED")[0] is Status.EXPIRED
    assert report_status("REJECTD")[0] is Status.REJECTED
    assert report_status("UNKNOWN")[0] is Status.UNKNOWN
    # A code nobody listed is a carrier failure; the report keeps it as the vendor wrote it
    assert report_status("MK:0005") == (Status.UNDELIVERED, "运营商返回的失败代码")
    (report,) = (
        adapter()
        .parse_push(push('[{"mobile":"13900000001","chnRptCode":" ID:0076 ","batchId":"1"}]'))
        .reports
    )
    assert (report.status, report.vendor_status) == (Status.UNDELIVERED, "ID:0076")


def test_product_ids_follow_the_kinds() -> None:
    assert paasw_v2.PRODUCT_IDS == {
        MessageKind.VERIFICATION: "1",
        MessageKind.NOTIFICATION: "2",
        MessageKind.MARKETING: "3",
    }


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        (39036632588910887018, BIG_ID),
        (BIG_ID, BIG_ID),
        (f" {BIG_ID} ", BIG_ID),
        (Decimal(BIG_ID), BIG_ID),
        ("0039036632588910887018", BIG_ID),
        (1234567890123456, "1234567890123456"),
        ("A-17", "A-17"),
    ],
)
def test_batch_ids_are_normalised_once_to_exact_strings(raw: object, normalised: str) -> None:
    assert vendor_id(raw) == normalised


@pytest.mark.parametrize("raw", [None, "", True, 3.9036632588910887e19])
def test_missing_or_lossy_batch_ids_are_refused(raw: object) -> None:
    with pytest.raises(ValueError, match="batchId"):
        vendor_id(raw)


def test_numbers_are_mainland_mobiles_in_national_form() -> None:
    a = adapter()
    assert a.vendor_number("+8615053621452") == "15053621452"
    for number in ("+861062345678", "+14155550100"):
        with pytest.raises(UnsupportedRecipient):
            a.vendor_number(number)


# ---------------------------------------------------------------------------------------- sending


def test_a_json_send_carries_sign_product_ext_no_and_keeps_the_20_digit_batch_id(
    session: FakeSession,
) -> None:
    # Given the vendor answers with a 20-digit batchId written as a JSON number
    session.answer("/message/send", SEND_ANSWER)
    # When two numbers are sent with an extension
    outcomes = adapter(session).submit(submission(sign="圆通", ext_no="8888"))
    # Then the token comes from the JSON endpoint and the send is the document's JSON request
    assert session.paths() == ["/message/token", "/message/send"]
    assert session.last("/message/token")["fields"] == {"appId": APP_ID, "secret": SECRET}
    call = session.last("/message/send")
    assert not call["form"]
    assert call["fields"] == {
        "token": "token-1",
        "mobile": "15053621452,15863254125",
        "msg": "【圆通】你的快件已签收，谢谢使用",
        "productId": "2",
        "extNo": "8888",
    }
    # And every recipient is submitted under the exact batchId, as a string
    assert [(o.status, o.vendor_message_id, o.vendor_status) for o in outcomes] == [
        (Status.SUBMITTED, BIG_ID, "0"),
        (Status.SUBMITTED, BIG_ID, "0"),
    ]


def test_a_form_send_uses_the_form_endpoints(session: FakeSession) -> None:
    a = adapter(session, body_format="form", default_ext_no="66")
    a.submit(submission(sign="圆通", kind=MessageKind.MARKETING))
    assert session.paths() == ["/message/tokenApi", "/msg/send"]
    assert all(c["form"] for c in session.calls)
    assert session.last("/msg/send")["fields"]["productId"] == "3"
    assert session.last("/msg/send")["fields"]["extNo"] == "66"


def test_template_params_are_an_object_in_json_and_json_text_in_a_form(session: FakeSession) -> None:
    template = Template(id="4289538897476608", params={"code": "523648", "minute": "2"})
    adapter(session).submit(submission(content=None, template=template, kind=MessageKind.VERIFICATION))
    adapter(session, body_format="form").submit(submission(content=None, template=template))
    as_json = session.last("/message/sendTemplate")["fields"]
    assert as_json["templateId"] == "4289538897476608" and as_json["productId"] == "1"
    assert as_json["params"] == {"code": "523648", "minute": "2"} and "msg" not in as_json
    as_form = session.last("/msg/sendTemplate")["fields"]
    assert json.loads(as_form["params"]) == {"code": "523648", "minute": "2"}
    assert all(isinstance(v, str) for v in as_form.values())


def test_content_that_already_carries_a_sign_is_sent_as_is(session: FakeSession) -> None:
    a = adapter(session)
    a.submit(submission(content="【顺丰】已签收", sign="圆通"))
    assert session.last("/message/send")["fields"]["msg"] == "【顺丰】已签收"
    a.submit(submission(content="已签收【顺丰】", sign="圆通"))
    assert session.last("/message/send")["fields"]["msg"] == "已签收【顺丰】"


def test_a_future_send_at_is_sent_as_local_time_and_a_past_one_is_not(session: FakeSession) -> None:
    a = adapter(session)
    a.submit(submission(sign="圆通", send_at=datetime(2031, 3, 1, 1, 30, 15, tzinfo=UTC)))
    assert session.last("/message/send")["fields"]["time"] == "2031-03-01 09:30:15"
    a.submit(submission(sign="圆通", send_at=datetime.now(UTC) - timedelta(seconds=5)))
    assert "time" not in session.last("/message/send")["fields"]


def test_requests_the_vendor_must_refuse_are_refused_without_a_call(session: FakeSession) -> None:
    with pytest.raises(SubmitRejected) as no_sign:
        adapter(session, sign=None).submit(submission(sign=None))
    assert no_sign.value.vendor_status == "no_sign"
    with pytest.raises(SubmitRejected) as bad_ext:
        adapter(session).submit(submission(sign="圆通", ext_no="88a"))
    assert bad_ext.value.vendor_status == "invalid_ext_no"
    assert session.calls == []


def test_a_refused_send_keeps_the_vendors_code_and_message(session: FakeSession) -> None:
    # Given a vendor refusing the send with an undocumented code, also with a fresh token
    for _ in range(2):
        session.answer("/message/send", {"code": 10007, "message": "号码格式错误", "data": None})
    with pytest.raises(SubmitRejected) as refused:
        adapter(session).submit(submission(sign="圆通"))
    # Then the call was tried once more with a new token, and refused for good with its code
    assert (refused.value.vendor_status, refused.value.description) == ("10007", "号码格式错误")
    assert session.paths() == ["/message/token", "/message/send", "/message/token", "/message/send"]


def test_codes_declared_retryable_go_back_to_the_queue(session: FakeSession) -> None:
    for _ in range(2):
        session.answer("/message/send", {"code": 429, "message": "too fast", "data": None})
    with pytest.raises(VendorUnavailable) as busy:
        adapter(session, retryable_codes=[429]).submit(submission(sign="圆通"))
    assert not busy.value.ambiguous


def test_a_garbled_send_answer_is_ambiguous_and_a_5xx_is_not(session: FakeSession) -> None:
    session.answer("/message/send", "<html>gateway</html>")
    with pytest.raises(VendorUnavailable) as garbled:
        adapter(session).submit(submission(sign="圆通"))
    assert garbled.value.ambiguous
    session.answer("/message/send", "busy", status=503)
    with pytest.raises(VendorUnavailable) as unavailable:
        adapter(session).submit(submission(sign="圆通"))
    assert not unavailable.value.ambiguous


def test_an_accepted_send_without_batch_id_is_unknown(session: FakeSession) -> None:
    session.answer("/message/send", {"code": 0, "message": "请求成功", "data": {}})
    outcomes = adapter(session).submit(submission(sign="圆通"))
    assert {(o.status, o.vendor_message_id) for o in outcomes} == {(Status.UNKNOWN, None)}


def test_a_bad_body_format_option_is_refused_before_any_call(session: FakeSession) -> None:
    # A wrong option is an error of the accounts document (issue 10), before any call.
    with pytest.raises(ConfigurationError, match="body_format"):
        adapter(session, body_format="xml").submit(submission(sign="圆通"))
    assert session.calls == []


# ---------------------------------------------------------------------------------------- tokens


def test_a_token_is_shared_through_the_cache_and_fetched_once(session: FakeSession) -> None:
    tokens = MemoryTokens()
    adapter(session, tokens).balance()
    TokenCache._memory.clear()  # another Lambda instance: only the table is shared
    adapter(session, tokens).balance()
    assert session.paths() == ["/message/token", "/message/balance", "/message/balance"]
    assert tokens.items["cn-paasw-v2"][0] == "token-1"


def test_a_refused_token_is_dropped_renewed_and_the_call_made_once_more(session: FakeSession) -> None:
    # Given a cached token that the vendor has since invalidated (a reset secret)
    tokens = MemoryTokens()
    adapter(session, tokens).balance()
    session.answer("/message/send", {"code": 10003, "message": "token 无效或已过期", "data": None})
    session.answer("/message/send", SEND_ANSWER)
    # When a send is refused for its token
    outcomes = adapter(session, tokens).submit(submission(sign="圆通"))
    # Then the old token is dropped everywhere, a new one fetched, and the send made again with it
    assert session.paths() == [
        "/message/token",
        "/message/balance",
        "/message/send",
        "/message/token",
        "/message/send",
    ]
    assert tokens.dropped == ["token-1"] and tokens.items["cn-paasw-v2"][0] == "token-2"
    assert session.last("/message/send")["fields"]["token"] == "token-2"
    assert outcomes[0].vendor_message_id == BIG_ID


def test_a_renewed_token_refused_again_is_transient(session: FakeSession) -> None:
    for _ in range(2):
        session.answer("/message/balance", {"code": 10003, "message": "Token expired", "data": None})
    with pytest.raises(VendorUnavailable, match="renewed token"):
        adapter(session, MemoryTokens()).balance()
    assert session.paths().count("/message/token") == 2


def test_any_refusal_renews_the_token_even_without_a_configured_code(session: FakeSession) -> None:
    # The document lists no codes ("0为成功，其它为错误码"): no option is needed to renew the token
    session.answer("/message/balance", {"code": 40001, "message": "鉴权失败", "data": None})
    assert adapter(session, MemoryTokens()).balance().amount == Decimal(1)
    assert session.paths().count("/message/token") == 2


def test_a_refused_token_request_is_transient(session: FakeSession) -> None:
    session.answer("/message/token", {"code": 10002, "message": "appId 或 secret 错误", "data": None})
    with pytest.raises(VendorUnavailable, match="token request: code 10002"):
        adapter(session, MemoryTokens()).submit(submission(sign="圆通"))
    assert "/message/send" not in session.paths()


# ---------------------------------------------------------------------------------------- pulls, balance


def test_pulled_reports_skip_only_the_unreadable_record(session: FakeSession) -> None:
    session.answer(
        "/message/deliver",
        '{"code":0,"message":"请求成功","count":3,"data":['
        '{"mobile":"13900000001","chnRptDate":"2017-01-01 00:00:00","chnRptCode":"DELIVRD",'
        '"batchId":39036632588910887018},'
        '{"mobile":"13900000002","chnRptCode":"DELIVRD"},'
        '"junk"]}',
    )
    (report,) = adapter(session).pull_reports(lambda limit: [])
    assert (report.vendor_message_id, report.status, report.recipient) == (
        BIG_ID,
        Status.DELIVERED,
        "+8613900000001",
    )
    assert session.last("/message/deliver")["fields"] == {"token": "token-1"}


def test_pulls_are_json_even_on_a_form_account_and_can_be_switched_off(session: FakeSession) -> None:
    session.answer("/message/mo", DOC_MO_PUSH.replace('"count"', '"code":0,"message":"请求成功","count"'))
    inbound = adapter(session, body_format="form").pull_inbound()
    assert len(inbound) == 2 and not session.last("/message/mo")["form"]
    calls = len(session.calls)
    assert adapter(session, poll_reports=False, poll_inbound=False).pull_reports(lambda limit: []) == []
    assert adapter(session, poll_inbound=False).pull_inbound() == []
    assert len(session.calls) == calls


def test_a_refused_pull_is_an_error_for_the_poller(session: FakeSession) -> None:
    for _ in range(2):
        session.answer("/message/deliver", {"code": 10009, "message": "系统繁忙", "data": None})
    with pytest.raises(VendorUnavailable, match="code 10009"):
        adapter(session).pull_reports(lambda limit: [])


def test_balance_is_exact_yuan(session: FakeSession) -> None:
    session.answer("/message/balance", '{"code":0,"message":"请求成功","data":{"balance":25638.23}}')
    balance = adapter(session).balance()
    assert (balance.amount, balance.currency) == (Decimal("25638.23"), "CNY")
    assert balance.raw["data"]["balance"] == Decimal("25638.23")


def test_a_form_balance_uses_the_form_endpoint(session: FakeSession) -> None:
    session.answer("/msg/balance", '{"code":0,"message":"请求成功","data":{"balance":532}}')
    assert adapter(session, body_format="form").balance().amount == Decimal(532)
    assert session.last("/msg/balance")["form"]


def test_a_balance_answer_without_balance_is_an_error(session: FakeSession) -> None:
    session.answer("/message/balance", {"code": 0, "message": "请求成功", "data": {}})
    with pytest.raises(VendorUnavailable, match=r"data\.balance"):
        adapter(session).balance()


def test_form_values_are_sent_url_encoded_as_text(session: FakeSession) -> None:
    # requests encodes the dict it is given; check what would go on the wire
    adapter(session, body_format="form").submit(submission(sign="圆通"))
    fields = session.last("/msg/send")["fields"]
    encoded = str(requests.Request("POST", "http://vendor", data=fields).prepare().body)
    assert parse_qs(encoded)["msg"] == ["【圆通】你的快件已签收，谢谢使用"]
