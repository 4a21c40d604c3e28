"""Times in reports: ISO 8601 UTC stamps and ages for people."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional


def human_age(seconds: float) -> str:
    """A duration for people: 42 s, 5 min, 3.5 h, 2.1 d."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def iso(epoch: float) -> str:
    """An epoch time as ISO 8601 UTC, to the second."""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def age_of(now: float, iso_text: Optional[str]) -> Optional[float]:
    """Seconds from an ISO 8601 stamp (UTC when it has no zone) to `now`; None without a stamp."""
    if not iso_text:
        return None
    stamp = datetime.fromisoformat(iso_text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return round(now - stamp.timestamp(), 3)
