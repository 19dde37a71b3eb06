"""paasw_v2: the paasw gateway HTTP API v2.0 (vendor document 001_61f7708193d5d38a.txt).

What the document says, and what it leaves open (our reading is given after each "->"):

- Every call is a POST. Each operation has a JSON endpoint (`/message/...`) and most have a
  form endpoint (`/msg/...`): token `/message/token` | `/message/tokenApi`, send `/message/send`
  | `/msg/send`, template send `/message/sendTemplate` | `/msg/sendTemplate`, balance
  `/message/balance` | `/msg/balance`. The report and MO pulls, `/message/deliver` and
  `/message/mo`, exist in JSON only. -> The account option `body_format` picks one format for
  every operation that has both; the pulls are always JSON.
- Token: appId + secret -> `data.token` and `data.expires_in` (7200 s); the same token is
  answered while valid, and a reset secret kills it early, so "developers should retry
  fetching the token". The document lists no error codes at all ("0为成功，其它为错误码"), so no
  code tells a stale token from another refusal. -> Every non-zero answer drops the token
  everywhere (memory and table), fetches a new one and makes the call once more
  (`VendorAdapter.with_token`); a refused call sent nothing. Refused again: a message naming
  the token (token, 令牌, 鉴权) is a transient VendorUnavailable; any other code refuses a send
  for good (SMS Submit Failed with the raw code) unless listed in `retryable_codes`.
- The token is kept in `self.tokens` (memory + the table), so concurrent Lambda instances
  share one token.
- Send: `mobile` is a comma list of at most 1000 numbers, `msg` carries its 【sign】,
  `productId` is 1 (verification), 2 (notification) or 3 (marketing), `extNo` is digits,
  `time` is `yyyy-MM-dd HH:mm:ss` for a scheduled send. -> The sign is put in front of the
  content unless the content already starts or ends with a 【...】 sign; a content without any
  sign is refused before any call (the vendor requires it). `time` is the account's timezone;
  it is sent only for a `send_at` still in the future, and optional fields are omitted when
  unset (the document's example sends them as "", which the table marks as not required).
- Template send: `templateId` and `params`. The table calls `params` a "JsonArray" of type
  String, but its example (and the JSON request example) is an object
  `{"code":"523648","minute":"2"}`. -> JSON body: `params` is that object; form body: its JSON
  text. The template carries its own sign, so no sign is sent with it.
- The send answer's `data.batchId` is documented as Long, with an example of 20 digits
  (39036632588910887018) that no 64-bit integer holds; it arrives as a JSON number there and as
  a string in reports. -> Every answer is parsed with Python's json (integers stay exact) and
  `parse_float=Decimal` (no value ever goes through float); `vendor_id()` normalises a batchId
  once, to its decimal digits as a string, whichever form it came in.
- One batchId covers every number of the call: a report is matched on batchId + mobile.
- Report codes (`chnRptCode`): `DELIVRD` is the only success; anything else (the document's
  example is `DB:0141`) is a carrier failure kept raw. -> The usual CMPP stat words map to the
  matching canonical status (EXPIRED -> expired, REJECTD -> rejected, UNKNOWN -> unknown, ...);
  every other code is undelivered with the raw code kept.
- Report and MO pushes are `{"count": n, "data": [...]}` (the pulls answer the same fields plus
  code and message). -> On input we also take a bare array of records and a single record, and
  a record's shape decides what it is (batchId/chnRptCode: a report; content/replyDate: an MO),
  so one push address configured for both kinds still works. `count` is informational: a
  mismatch is logged, never refused. A malformed record refuses the whole push (400, kept in
  the inbox) with a short reason.
- MO records carry no id: the store de-duplicates them on number, content, extNo and time, so
  a repeated push changes nothing (and two identical MO within the same second count once, as
  in the document's own example).
- The push acknowledgement is not specified. -> HTTP 200 with `{"code":0,"message":"请求成功"}`
  (application/json): HTTP 200 is what the document implies, and a body in the vendor's own
  success format is the most likely thing a push client that checks bodies would look for.
  The document says nothing about re-pushing, so a push is acked only once it is stored.
- Pulled reports and MO are handed out once: each pulled record is parsed on its own and a bad
  one is logged and skipped, never allowed to cost the others.
- Balance: `data.balance` in yuan (a Double) -> Decimal, currency CNY.
- Numbers: mainland mobile numbers only, 11 digits without country code; any other number is
  refused alone before the call.

Account options (all optional):
- `body_format`: `"json"` (default) or `"form"`: the endpoints used for token, send, template
  send and balance.
- `default_ext_no`: digits sent as `extNo` when the request gives no `ext_no`.
- `retryable_codes`: send answer codes that are transient (throttling); retried through the
  queue. By default every non-zero send code refuses the call for good (SMS Submit Failed with
  the raw code), since the document names none.
- `poll_reports`, `poll_inbound` (bool, default true): set to false on an account whose reports
  or MO are pushed, to skip the scheduled pulls.
"""

from sms_gateway.vendors.paasw_v2.client import Credentials, Options, PaaswV2Adapter
from sms_gateway.vendors.paasw_v2.codes import (
    BALANCE,
    CARRIER_FAILURE,
    DEFAULT_TOKEN_LIFETIME,
    DELIVER,
    MO,
    OK,
    PRODUCT_IDS,
    REPORT_CODES,
    SEND,
    SEND_TEMPLATE,
    TIME_FORMAT,
    TOKEN,
    report_status,
    vendor_id,
)

__all__ = [
    "BALANCE",
    "CARRIER_FAILURE",
    "DEFAULT_TOKEN_LIFETIME",
    "DELIVER",
    "MO",
    "OK",
    "PRODUCT_IDS",
    "REPORT_CODES",
    "SEND",
    "SEND_TEMPLATE",
    "TIME_FORMAT",
    "TOKEN",
    "Credentials",
    "Options",
    "PaaswV2Adapter",
    "report_status",
    "vendor_id",
]
