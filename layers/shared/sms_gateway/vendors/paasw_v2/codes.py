"""paasw_v2: the vendor's code tables and the pure readings of its fields (see the package docstring)."""

from __future__ import annotations

from sms_gateway.models import (
    MessageKind,
    Status,
)
from sms_gateway.vendors import toolkit

# (JSON endpoint, form endpoint); None where the document has no form variant.
TOKEN = ("/message/token", "/message/tokenApi")

SEND = ("/message/send", "/msg/send")

SEND_TEMPLATE = ("/message/sendTemplate", "/msg/sendTemplate")

BALANCE = ("/message/balance", "/msg/balance")

DELIVER = ("/message/deliver", None)

MO = ("/message/mo", None)

OK = "0"

DEFAULT_TOKEN_LIFETIME = 7200  # the document's expires_in

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# productId (document sections 3-6): 1 验证码, 2 普通短信, 3 营销短信.
PRODUCT_IDS: dict[MessageKind, str] = {
    MessageKind.VERIFICATION: "1",
    MessageKind.NOTIFICATION: "2",
    MessageKind.MARKETING: "3",
}

# chnRptCode (sections 7 and 11): the carrier's own code. Only DELIVRD is a success. The document
# shows DB:0141 as its example; the CMPP stat words are mapped to the matching canonical status.
REPORT_CODES: dict[str, tuple[Status, str]] = {
    "DELIVRD": (Status.DELIVERED, "短信投递成功"),
    "EXPIRED": (Status.EXPIRED, "短信过期未送达"),
    "UNDELIV": (Status.UNDELIVERED, "短信无法投递"),
    "DELETED": (Status.UNDELIVERED, "短信已被删除"),
    "REJECTD": (Status.REJECTED, "短信被拒绝"),
    "REJECTED": (Status.REJECTED, "短信被拒绝"),
    "UNKNOWN": (Status.UNKNOWN, "状态未知"),
    "DB:0141": (Status.UNDELIVERED, "运营商返回的失败代码"),
}

CARRIER_FAILURE = "运营商返回的失败代码"


def report_status(code: str) -> tuple[Status, str]:
    """The canonical status of a chnRptCode: DELIVRD is delivered, anything unknown undelivered."""
    return REPORT_CODES.get(code.strip(), (Status.UNDELIVERED, CARRIER_FAILURE))


def vendor_id(value: object) -> str:
    """A batchId, normalised once: its decimal digits as a string (int, digit string or Decimal).

    Never through float: a 20-digit id does not survive a double. A number written as a string,
    with or without leading zeros, is the same number. Raises ValueError when absent.
    """
    try:
        batch_id = toolkit.vendor_id(value, floats=False, drop_leading_zeros=True)
    except ValueError as exc:
        raise ValueError(f"batchId: {exc}") from exc
    if batch_id is None:
        raise ValueError("batchId is missing")
    return batch_id


def text_of(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
