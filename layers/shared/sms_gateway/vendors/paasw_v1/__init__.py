"""paasw_v1: the paasw open-API gateway, version 1 (vendor document 000_7a67b7f28d852a7e.txt).

What the document says, and how this adapter reads it:

- Auth: `GET /api/token?appId=&secret=` answers `{"code":"10000","token":...,"expires_in":7200}`.
  The same token comes back while it is valid; a reset secret kills it early, and the document
  asks clients to fetch again. The token is shared by every Lambda instance through `self.tokens`
  (memory + the table, with its expiry). A call refused for its token drops that token
  everywhere, fetches one new token and is retried once; a second refusal is transient.
  A token fetched in its last minutes (the vendor answers what is left of its 7200 s) is kept
  until it dies rather than re-fetched on every call inside TokenCache's renewal margin.
- The document has no error list ("错误信息一览: 待更新"), so no code tells a stale token from
  another refusal. Every refusal (a non-`10000` code, HTTP 401/403) drops the token, fetches a
  new one and makes the call once more (`VendorAdapter.with_token`). Refused again: a refusal
  that names the token (token, 令牌, 鉴权) or HTTP 401/403 is transient (credentials an operator
  fixes); any other refuses the call for good (`SubmitRejected`, the vendor's code and message
  kept), except the codes of option `retryable_codes`. A refused call sent nothing.
- Send: `POST /sms/send` (token, phoneNumbers, sign, content, kind) and `POST /sms/sendTemplate`
  (token, phoneNumbers, paramJson, templateId, sign, content). The document names no content
  type: form-encoded, the usual reading (option `json_body` for a JSON object body).
  - phoneNumbers: national mobile numbers, at most 1000 and at most 1500 characters (the field's
    maximum length: 125 numbers), joined with an ASCII comma (the example's full-width "，" is a
    typo of the document). A landline or foreign number is refused alone before the call, so it
    cannot get the whole call refused.
  - sign: always sent bare, without 【】 (the request's sign, else the account's).
  - content: its row says "发送内容，包含【XX】签名" (includes the sign): framed as 【sign】content
    unless it already carries one. Its example has no 【】: option `sign_in_content` = false
    sends the bare text, for a vendor account that adds the sign itself.
  - kind: 1 verification, 2 notification, 3 marketing. Required when the vendor account is
    configured for several kinds, "单一类型不填写" (left out) for a single-kind account: sent
    unless option `multi_kind` is false. sendTemplate's table has no kind: not sent there.
  - paramJson: the example `[{"name":"paramJson"},...]` reads as a list of one-entry
    `{"<name>": "<value>"}` objects: sent so, in the params' order (option
    `param_json_style: "object"` sends one object). sendTemplate also requires `content`: the
    template's text from option `template_texts` with `${name}` filled in, else the template id.
  - The answer carries one `bizId` for the whole call (20 digits: kept as a string even when it
    arrives as a JSON number); every recipient gets it as vendor_message_id, and reports are
    matched by bizId + phone number. The document's answer examples are not valid JSON
    (missing and trailing commas): real answers are assumed valid.
  - No field takes an id of ours, so `call_id` is unused and resubmission is not idempotent.
- Reports: pulled by `GET /sms/deliver` (token, optional sign) and pushed as a JSON array of
  `{phone_number, send_time, report_time, success, code, message, sms_size, biz_id}`. `code`
  10000 is delivered; 1, 4, 5, 6, 7, 8, 9 are the document's failures (REPORT_CODES); any other
  code is undelivered with the raw code kept. Without a code, `success` decides.
- MO: pulled by `GET /sms/smsUp` (token, sign required) and pushed as a JSON array of
  `{phone_number, send_time, content, sign, sequence_id}`; sequence_id is the vendor's MO id.
- Pulls and pushes: the document shows a bare array; a wrapped one (`{"code":..,"data":[..]}`)
  and, for pushes, a single record are accepted as well. Each record is classified by its
  fields (biz_id: report; content: MO), so a vendor that pushes both to one URL still works.
  Field names are read in the document's snake_case and in camelCase (`bizId`, like the send
  answer). Pulled records are handed out once: an unreadable one is logged and skipped.
- Acks, exactly as the document writes them: reports `{"code":10000,"msg":"操作成功"}` (a JSON
  number), MO `{"code":"10000","msg":"请求成功"}` (a JSON string).
- The document says nothing about re-pushing, so a push is acked once its raw body is stored
  and, should storing its records fail, replayed by the reports poller (`ack_once_stored`).
- Balance: `GET /sms/balance` -> `{"code":"10000","balance":100.00}`, read as yuan.
- Times are `yyyy-MM-dd HH:mm:ss` in the account's timezone.

Account options: `multi_kind` (bool; false leaves `kind` out, for single-kind vendor accounts),
`sign_in_content` (bool, default true), `json_body` (bool), `param_json_style` ("array" default, or "object"),
`template_texts` ({template id: text with `${name}` placeholders}), `report_pull_by_sign` (bool:
pull only the account sign's reports, for several accounts sharing one appId), `mo_signs` (list
of signs whose MO are pulled; default the account's sign), `retryable_codes` (list of send
error codes to retry instead of failing the call).
"""

from sms_gateway.vendors.paasw_v1.client import Credentials, Options, PaaswV1Adapter
from sms_gateway.vendors.paasw_v1.codes import (
    DEFAULT_TOKEN_LIFETIME,
    KIND_CODES,
    LIST_KEYS,
    MAX_PHONE_NUMBERS_CHARS,
    OK,
    PLACEHOLDER,
    REPORT_CODES,
    TIME_FORMAT,
    field,
    is_inbound,
    is_report,
    records_of,
    report_status,
)
from sms_gateway.vendors.toolkit import vendor_id

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "KIND_CODES",
    "LIST_KEYS",
    "MAX_PHONE_NUMBERS_CHARS",
    "OK",
    "PLACEHOLDER",
    "REPORT_CODES",
    "TIME_FORMAT",
    "Credentials",
    "Options",
    "PaaswV1Adapter",
    "field",
    "is_inbound",
    "is_report",
    "records_of",
    "report_status",
    "vendor_id",
]
