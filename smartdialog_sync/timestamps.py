"""The one parser of timestamps that come from SmartDialog, the same on Python 3.10 to 3.13.

`datetime.fromisoformat` differs between versions: 3.10 rejects a trailing `Z`, fractions that are not
3 or 6 digits and offsets without a colon, all of which 3.11 accepts. This module parses the ISO 8601
shapes the service sends with one regular expression instead. Standard library only.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MICROSECOND = timedelta(microseconds=1)
# What every destination can store: Python's datetime range, in UTC.
MIN_STORABLE_US = (datetime(1, 1, 1, tzinfo=timezone.utc) - EPOCH) // ONE_MICROSECOND
MAX_STORABLE_US = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc) - EPOCH) // ONE_MICROSECOND

_ISO_8601 = re.compile(
    r"""
    (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    (?:
        [Tt\ ]
        (?P<hour>\d{2}):(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?
        (?:
            (?P<utc>[Zz])
            | (?P<sign>[+-])(?P<offset_hours>\d{2})(?::?(?P<offset_minutes>\d{2}))?
        )?
    )?
    """,
    re.VERBOSE | re.ASCII,
)


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 date or date-time as an aware datetime (UTC when it carries no offset).

    Accepts `Z`/`z`, `+HH:MM`, `+HHMM`, `+HH`, a `T`, `t` or space separator, any number of fraction
    digits (beyond microseconds they are cut off) and a date alone (midnight). Raises ValueError otherwise.
    """
    match = _ISO_8601.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an ISO 8601 date-time: {text[:64]!r}")
    parts = match.groupdict()
    fraction = (parts["fraction"] or "")[:6].ljust(6, "0")
    offset = timezone.utc
    if parts["sign"]:
        delta = timedelta(hours=int(parts["offset_hours"]), minutes=int(parts["offset_minutes"] or 0))
        offset = timezone(-delta if parts["sign"] == "-" else delta)  # ValueError from 24 hours on
    return datetime(
        int(parts["year"]),
        int(parts["month"]),
        int(parts["day"]),
        int(parts["hour"] or 0),
        int(parts["minute"] or 0),
        int(parts["second"] or 0),
        int(fraction),
        tzinfo=offset,
    )


def to_epoch_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC of an aware datetime; may lie outside the storable range."""
    return (moment - EPOCH) // ONE_MICROSECOND


def parse_timestamp_us(text: str) -> int:
    """`parse_timestamp` as microseconds since the epoch (see `is_storable_us` before storing it)."""
    return to_epoch_us(parse_timestamp(text))


def is_storable_us(value: int) -> bool:
    """Whether a moment (microseconds since the epoch) lies in years 1..9999 once in UTC.

    `0001-01-01T00:00:00+14:00` parses, but is in year 0 in UTC: no destination can load it.
    """
    return MIN_STORABLE_US <= value <= MAX_STORABLE_US
