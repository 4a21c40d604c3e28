"""Cron schedules of declared syncs (croniter), in a named time zone."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def check_cron(expression: str) -> str | None:
    """Why `expression` is not a five-field cron schedule, or None when it is one."""
    from croniter import croniter

    if len(expression.split()) != 5:
        return f"{expression!r} must have five fields (minute hour day month weekday)"
    if not croniter.is_valid(expression):
        return f"{expression!r} is not a valid cron expression"
    return None


def check_zone(name: str) -> str | None:
    """Why `name` is not an IANA time zone, or None when it is one."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not an IANA time zone (e.g. UTC, Europe/Helsinki)"
    return None


def next_time(expression: str, zone: str, after: datetime | None = None) -> datetime:
    """The first time after `after` (default now) that the schedule fires, in UTC."""
    from croniter import croniter

    start = (after or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone))
    return croniter(expression, start).get_next(datetime).astimezone(timezone.utc)
