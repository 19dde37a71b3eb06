"""Phone numbers: E.164 in records and events, each vendor's own form on the wire, masked in logs."""

import re

from sms_gateway.errors import UnsupportedRecipient

DEFAULT_REGION = "CN"


def to_e164(raw: str, default_region: str = DEFAULT_REGION) -> str:
    """Normalise a national Chinese number or an E.164 number; raise UnsupportedRecipient if invalid."""
    # Imported here: the phone metadata costs ~20 ms, and the publish function, which reaches this
    # module through the store and observability, never parses a number.
    import phonenumbers  # noqa: PLC0415

    text = str(raw).strip().replace(" ", "").replace("-", "")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise UnsupportedRecipient(f"not a phone number: {mask(text)}") from exc
    if not phonenumbers.is_valid_number(number):
        raise UnsupportedRecipient(f"not a valid phone number: {mask(text)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def from_vendor(raw: str, *, international_digits: bool = False) -> str:
    """A number as a vendor reports it: national CN digits, or country code + digits without '+'.

    Falls back to the digits as given (with '+' when international) when the number does not
    validate, so a report is never dropped because of a number the library does not know.
    """
    text = str(raw).strip()
    candidate = "+" + text.lstrip("+") if international_digits or text.startswith("+") else text
    try:
        return to_e164(candidate)
    except UnsupportedRecipient:
        if text.startswith("86") and len(text) == 13:
            return "+" + text
        if len(text) == 11 and text.startswith("1"):
            return "+86" + text
        return "+" + text.lstrip("+")


def cn_national(e164: str) -> str:
    """The 11-digit national form domestic Chinese gateways expect; other countries are refused."""
    if not e164.startswith("+86"):
        raise UnsupportedRecipient(f"domestic gateway cannot send to {mask(e164)}")
    return e164[3:]


_CN_MOBILE = re.compile(r"^1\d{10}$")


def cn_mobile(e164: str, vendor: str) -> str:
    """The 11-digit national form of a mainland mobile number; a landline or a foreign number is
    refused per recipient, for gateways that refuse a whole call for one such number."""
    national = cn_national(e164)
    if not _CN_MOBILE.match(national):
        raise UnsupportedRecipient(f"{vendor} sends to mainland mobile numbers only, not {mask(e164)}")
    return national


def e164_digits(e164: str) -> str:
    """Country code and number without '+', as international gateways expect."""
    return e164.lstrip("+")


def mask(number: str | None) -> str:
    """Keep the first three and last four characters; enough to tell numbers apart in a log."""
    if not number:
        return ""
    text = str(number)
    if len(text) <= 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


_DIGIT_RUN = re.compile(r"\d{7,}")


def redact_numbers(text: str) -> str:
    """Mask every run of seven or more digits: vendor messages and parse errors can quote numbers."""
    return _DIGIT_RUN.sub(lambda m: mask(m.group()), text)


def cn_mask(e164: str) -> str:
    """The masked form Chinese gateways print (first three, four stars, last four): 135****9831."""
    national = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    return national[:3] + "****" + national[-4:] if len(national) > 7 else national


def matches_mask(e164: str, masked: str) -> bool:
    """True when a vendor's masked number (``135****9831``) fits the full number's visible digits."""
    national = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    digits = masked.strip().lstrip("+")
    if len(digits) != len(national):
        return False
    return all(m in ("*", n) for m, n in zip(digits, national, strict=True))
