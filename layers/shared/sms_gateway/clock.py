"""Time: vendors write local wall-clock times with no zone; records and events are UTC ISO 8601."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with a Z, millisecond precision: sortable as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def vendor_time_to_utc(raw: str | None, timezone: str, *formats: str) -> datetime | None:
    """Parse a vendor's zone-less local time in the account's timezone; None when absent or unreadable."""
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    for fmt in formats or ("%Y-%m-%d %H:%M:%S",):
        try:
            local = datetime.strptime(text, fmt)
        except ValueError:
            continue
        # strptime reads compact digit formats leniently ("202211042057" as %Y%m%d%H%M%S gives
        # 20:05:07): accept only what writes back to the same text.
        if fmt.replace("%", "").isalpha() and local.strftime(fmt) != text:
            continue
        return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    return None


def to_vendor_time(moment: datetime, timezone: str, fmt: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime(fmt)
