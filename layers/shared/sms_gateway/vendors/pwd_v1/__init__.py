"""pwd_v1: the `/api/v1/...` gateway with `account` + MD5 `pwd` (vendor document 003_3892d23fbe8bd7fb.txt).

What the document says, and what it leaves open (our reading in brackets):

- Every call is `POST {base_url}/api/v1/<op>`, `application/x-www-form-urlencoded`, UTF-8, with
  `account` and `pwd` = the MD5 of the interface password. [The case of the digest is not given:
  lower-case hex, the usual reading; option `md5_uppercase`. "接口密码采用MD5方式加密传输,由管理员提供"
  can also mean the admin hands out the digest itself: option `password_is_md5`.]
- Send: `/api/v1/send` with `mobiles` (comma separated, at most 3000), `content`, an optional
  `taskId` we choose ("全局唯一") and an optional `extNo` ("只能为正整数"). The answer
  `{"code":"00","data":{"taskId":...},"message":"成功"}` names one task for all recipients.
  - We send `taskId` = `Submission.call_id`, a digest of the call's message ids and recipients,
    unique per call as the document asks ("自定义任务id,全局唯一": an obligation on us). The
    document never says the vendor refuses or deduplicates a reused taskId, so nothing relies on
    it: a call whose answer is lost makes its recipients `unknown`, never resent, as for every
    vendor. Requests sharing content are grouped into calls like the other vendors'. Reports
    carry the task id as `sendId`, so they correlate through our vendor-id lookup.
  - [The content carries the signature, 【sign】 in front (the document: "传递真实的短信内容以及
    短信签名"); option `frame_sign` = false for an account whose sign the gateway adds itself.]
  - [`extNo` must be digits with a positive value ("007" is kept as written: an extension is a
    string of digits). Anything else is refused before the call, never stripped: a stripped
    extension would route the replies to somebody else's extension.]
  - [Only mainland mobile numbers (1 + 10 digits): the gateway refuses a whole call for one bad
    number, so a landline or foreign number is refused per recipient before the call.]
  - [No templates, no per-recipient content, no scheduling, no `kind` and no sender id: the
    generic send logic refuses templates, sends p2p texts one content per call, and holds
    `send_at` in SQS.]
- Only the success code `"00"` is documented. The other codes below are those of the project's
  simulator (simulators/pwd_v1.py); a real gateway's codes are kept raw in `vendor_status`.
  [An undocumented refusal fails the call for good (SMS Submit Failed with the vendor's message),
  except the codes in option `retry_codes` (default: "02", wrong account or pwd, which an operator
  fixes).]
- Pulled reports (`/api/v1/report`) and MO (`/api/v1/mo`) are handed out once and show MASKED
  numbers (`135****9831`); the pulled success status is `DELIVER`. A masked report is matched by
  the store among the task's recipients whose visible digits fit; when two fit it is kept against
  the task as ambiguous, never guessed. [To keep that from happening, a call whose recipients
  share a masked form (same first three and last four digits, about 15 pairs in 3000 random
  numbers) is split into tasks where every masked form is unique: `call_id`, `call_id-2`, ...
  Option `split_mask_collisions` = false turns this off.]
  [The document's example `"data": { [ ... ] }` is not JSON: we accept `data` as an array (what
  the simulator sends), an object wrapping one array, or a single record.]
- Pushes: one status object per POST (`sendId`, full `mobile`, `times`, `status`, success
  `DELIVRD`) and one MO object per POST (`mobile`, `content`, `times`, `extNo`), each sent ONCE
  and never again; the vendor wants HTTP 200. Hence `ack_once_stored`: the raw body is stored
  before anything else, the 200 goes out once it is, and the reports poller replays a stored push
  whose apply failed. [Accepted on input: a JSON object, an array of them, `{"data": ...}`
  wrapping either, or the same fields form-encoded; a report and an MO are told apart by their
  fields, so one URL for both kinds works too. Both `DELIVRD` and `DELIVER` mean delivered in
  either path. The ack's body is not specified: we answer the vendor's own success shape
  `{"code":"00","message":"成功"}` (JSON), harmless to a gateway that reads only the status.]
- Times are `yyyy-MM-dd HH:mm:ss` in the account's timezone.
- Balance (`/api/v1/queryBalance`): `balance`, `payment` (0 prepaid, 1 postpaid), `paymentName`.
  [The unit of `balance` is not given. We read it as yuan, the plain reading of an unlabelled
  余额 (004, by contrast, says 厘). Option `balance_unit`: "yuan" (default), "fen", "li", or
  "messages" for a gateway counting messages left (currency "SMS"). The raw answer is kept.]

Account options: `md5_uppercase` (bool), `password_is_md5` (bool), `frame_sign` (bool, default
true), `split_mask_collisions` (bool, default true), `balance_unit` (see above),
`retry_codes` (list of codes, default ["02"]).
"""

from sms_gateway.vendors.pwd_v1.client import Credentials, Options, PwdV1Adapter
from sms_gateway.vendors.pwd_v1.codes import (
    BALANCE_UNITS,
    CODES,
    DEFAULT_RETRY_CODES,
    EXT_NO,
    OK,
    OTHER_FAILURE,
    REPORT_CODES,
    TIME_FORMATS,
    mask_unique_tasks,
    records_of,
    report_status,
)

__all__ = [
    "BALANCE_UNITS",
    "CODES",
    "DEFAULT_RETRY_CODES",
    "EXT_NO",
    "OK",
    "OTHER_FAILURE",
    "REPORT_CODES",
    "TIME_FORMATS",
    "Credentials",
    "Options",
    "PwdV1Adapter",
    "mask_unique_tasks",
    "records_of",
    "report_status",
]
