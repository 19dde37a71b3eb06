"""intl_v1: the international SMS API `/api/v1/international/sms/...` (document 002_a32c135aba693142.txt).

What the document says, and what it leaves open (our reading in brackets):

- Every request carries the headers `appKey` and `appSecret` = the secret's MD5 as 32 UPPER-case
  hex digits (`abc123` -> `E99A18C428CB38D5F260853678922E03`), plus `Accept: application/json`
  and `Content-Type: application/json;charset=utf-8`; bodies are UTF-8 JSON.
- Every answer is `{"code", "msg", "data"}`; `code` 0 is success, the others are the ResultCode
  table of chapter 6 (`RESULT_CODES` below, with the send-time split into permanent and transient).
- Send (`POST .../send`): `mobile` = country code + number without `+` (E.164 digits), up to 1000
  numbers joined by ASCII commas; `content` = 【sign】 + text; optional `senderID`; optional
  `sendTime` `yyyyMMddHHmmss` for a scheduled send [in the account's timezone]. The answer's
  `data.msgId` covers every number of the call: a report is identified by msgId + mobile. The
  document has no field for our own id (so no idempotent resubmission), for the message kind or
  for an extension number [`kind` and `ext_no` are not sent]. No templates, no p2p, no MO.
- Balance (`GET .../balance`): `data.balance` with `currencyName` and `currencyCode`. The table
  says `data` is an `Array[]`, the example shows an object [both are read; the first element of
  an array].
- Status (`POST .../status`, `{"data": [{"msgId", "mobile"}]}`) is a LOOKUP, not a queue: it
  answers only the pairs asked, at most 500 a call, for messages at most 30 days old; 1012
  NoReportError when none of the pairs has a report [not an error for us]. `status` 0 = sent
  (delivered), 1 = no status yet, 2 = failed; `errorCode` carries the carrier's stat
  (DELIVRD, UNDELIV, EXPIRED, ... or a bare operator number such as `16`).
- `timestamp` is documented as `202211042057` (yyyyMMddHHmm) but every example has 14 digits
  (yyyyMMddHHmmss) [both are read, chosen by length, never guessed by strptime].
- Push: ONE report object per POST to our URL, with the same appKey/appSecret headers [verified,
  constant time, before anything else; a mismatch is 401]. The ack is `{"code":0,"msg":"ok"}`;
  any other code makes the vendor push twice more. The push table says `status` 0 = success,
  1 = failed ("0：发送成功，1：发送失败"), while the status API's 1 means "no status yet" and its
  2 failed [a pushed 1 is a failure, as the push table says; a pushed 2, as in the push's own
  example, is a failure too. The push has no "no status yet": it is sent once the report is
  in]. A bare object is the documented shape; a JSON array of them and `{"data": [...]}` /
  `{"data": {...}}` are read as well.
- Send refusals are whole-call (no per-number answer, no msgId), so a refused call sent
  nothing. 1001 ParamError (its example: "Illegal cell phone") and 1007 MobileError can be one
  number's: the call is split in halves until the refused numbers are alone, within a budget
  of calls, and the others are sent. A number phonenumbers knows as a landline is refused
  alone before any call.

Account options:
- `sender_id`: the `senderID` used when a request has no `sender_id` (none by default).
- `sign_in_content` (bool, default true): frame the content as 【sign】text, as the document asks.
  False sends the bare text (the document's own send example has no 【】, and 【】 reads oddly
  on foreign handsets).
- `status_calls_per_run` (1..20, default 4): status calls per reports poll, each asking at most
  500 (msgId, mobile) pairs, so at most 2000 pairs a run. Why 4: the poller runs every minute
  with a 120 s timeout; 4 calls of up to 10 s each plus up to 2000 conditional writes fit well
  inside it, and 2000 pairs a minute (~2.9 M a day) is far above what a push-first account
  leaves pending. Raise it for accounts that do not push.
- `status_min_age_seconds` (0..86400, default 0): recipients younger than this are not asked yet.
  For accounts that push, e.g. 600: the push normally comes first, and the poller then asks only
  about the recipients whose push was lost or refused, instead of every fresh one each minute.
- `status_window_days` (1..30, default 30): recipients older than this are no longer asked but
  recorded `unknown` (final); lower it if the vendor's window turns out shorter.
"""

from sms_gateway.vendors.intl_v1.client import Credentials, IntlV1Adapter, Options
from sms_gateway.vendors.intl_v1.codes import (
    ACK,
    API,
    DELIVERED,
    ERROR_CODES,
    FAILED,
    MAX_PAIRS_PER_STATUS_CALL,
    NO_REPORT,
    NO_STATUS_YET,
    PER_NUMBER_CODES,
    PERMANENT_SEND_CODES,
    PUSHED_FAILED,
    REPORT_TIME_FORMATS,
    RESULT_CODES,
    SEND_TIME_FORMAT,
    STATUS_WINDOW_DAYS,
    report_status,
    report_time,
    result_name,
)

__all__ = [
    "ACK",
    "API",
    "DELIVERED",
    "ERROR_CODES",
    "FAILED",
    "MAX_PAIRS_PER_STATUS_CALL",
    "NO_REPORT",
    "NO_STATUS_YET",
    "PERMANENT_SEND_CODES",
    "PER_NUMBER_CODES",
    "PUSHED_FAILED",
    "REPORT_TIME_FORMATS",
    "RESULT_CODES",
    "SEND_TIME_FORMAT",
    "STATUS_WINDOW_DAYS",
    "Credentials",
    "IntlV1Adapter",
    "Options",
    "report_status",
    "report_time",
    "result_name",
]
