"""When each recipient is sent to: `--at`, `--local-time` in the recipient's zone, and quiet hours.

- `--local-time HH:MM`: at that wall-clock time in each recipient's zone, on the date of `--at`
  (in `--at`'s own offset), or at its next occurrence from now.
- `--quiet-hours HH:MM-HH:MM` (may span midnight): a send falling inside is moved to the window's end.
- At send time, a batch whose time has passed goes out at once, unless that is inside the quiet hours
  of one of its recipients' zones; then it is scheduled for the end of the latest such window.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Sequence

from .batches import Batch, Scheduled
from .errors import CampaignInputError
from .timezones import zone

CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_clock(text: str, option: str) -> time:
    """HH:MM as a time; a CampaignInputError naming `option` otherwise."""
    match = CLOCK.match(text.strip())
    if not match:
        raise CampaignInputError(f"{option} {text!r} must be a time HH:MM, e.g. 09:30")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class QuietHours:
    """A daily window of local time in which nothing is sent; `start` > `end` spans midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str, option: str = "--quiet-hours") -> "QuietHours":
        """Parse HH:MM-HH:MM."""
        first, sep, second = text.partition("-")
        if not sep:
            raise CampaignInputError(f"{option} {text!r} must look like HH:MM-HH:MM, e.g. 21:00-08:00")
        window = cls(parse_clock(first, option), parse_clock(second, option))
        if window.start == window.end:
            raise CampaignInputError(f"{option} {text!r} is empty: start and end are the same")
        return window

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, moment: time) -> bool:
        """True when the local time `moment` is inside the window."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def release(self, local: datetime) -> datetime:
        """`local` (aware, in the recipient's zone) or, inside the window, the window's end."""
        clock = local.time().replace(tzinfo=None)
        if not self.contains(clock):
            return local
        day = local.date() if clock < self.end else local.date() + timedelta(days=1)
        return _at(day, self.end, local.tzinfo)


def _at(day: date, clock: time, tzinfo: Any) -> datetime:
    """`clock` on `day` in `tzinfo`, normalised through UTC (a time in a DST gap moves forward by the gap)."""
    return datetime.combine(day, clock, tzinfo=tzinfo).astimezone(timezone.utc).astimezone(tzinfo)


def utc_text(moment: datetime) -> str:
    """An instant as the ledger and SendDateTime carry it: ISO 8601 UTC to the second."""
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Timing:
    """A campaign's timing options; `scheduled` is true when recipients get their own send times."""

    at: datetime | None = None
    local_time: time | None = None
    quiet_hours: QuietHours | None = None

    @property
    def scheduled(self) -> bool:
        """True with --local-time or quiet hours: send times are planned per recipient."""
        return self.local_time is not None or self.quiet_hours is not None

    def describe(self) -> dict[str, Any]:
        """The options as JSON values (part of the campaign's fingerprint)."""
        return {"local_time": f"{self.local_time:%H:%M}" if self.local_time else None,
                "quiet_hours": str(self.quiet_hours) if self.quiet_hours else None}

    def send_time(self, zone_name: str, now: datetime) -> datetime | None:
        """When a recipient in `zone_name` is sent to (UTC); None: at once."""
        tz = zone(zone_name)
        if self.local_time is not None:
            day = self.at.date() if self.at else now.astimezone(tz).date()
            local = _at(day, self.local_time, tz)
            if self.at is None and local <= now:
                local = _at(day + timedelta(days=1), self.local_time, tz)
        elif self.at is not None:
            local = self.at.astimezone(tz)
        else:
            local = now.astimezone(tz)
        if self.quiet_hours is not None:
            released = self.quiet_hours.release(local)
            if released != local or self.at is not None or self.local_time is not None:
                return released.astimezone(timezone.utc)
            return None
        return local.astimezone(timezone.utc)


def plan_schedule(timing: Timing, zones: dict[str, str], now: datetime | None = None) -> dict[str, Scheduled]:
    """Every recipient's send time from `zones` (address -> zone name)."""
    now = now or datetime.now(timezone.utc)
    times: dict[str, str | None] = {}
    for zone_name in set(zones.values()):
        moment = timing.send_time(zone_name, now)
        times[zone_name] = utc_text(moment) if moment is not None else None
    return {address: Scheduled(times[zone_name], zone_name) for address, zone_name in zones.items()}


@dataclass(frozen=True)
class Due:
    """What a batch carries when it is sent: its SendDateTime (None: at once) and a note for the user."""

    send_at: str | None
    note: str | None = None


def due(batch: Batch, quiet_hours: QuietHours | None, now: datetime | None = None) -> Due:
    """The batch's send time when sent `now`: as planned, at once if passed, or after the quiet hours."""
    now = now or datetime.now(timezone.utc)
    if batch.send_at is not None and datetime.fromisoformat(batch.send_at) > now:
        return Due(batch.send_at)
    if quiet_hours is not None and batch.time_zones:
        release = max(quiet_hours.release(now.astimezone(zone(name))) for name in batch.time_zones)
        if release > now:
            return Due(utc_text(release), f"batch {batch.batch_no}: sending now would fall in quiet hours "
                                          f"{quiet_hours}; scheduled for {utc_text(release)}")
    if batch.send_at is not None:
        return Due(None, f"batch {batch.batch_no} was due at {batch.send_at}: sent at once")
    return Due(None)


@dataclass(frozen=True)
class ScheduleRow:
    """One scheduled time of the plan: UTC, the local times it is in each zone, recipients, calls, SMS parts."""

    send_at: str | None
    local_times: tuple[str, ...]
    recipients: int
    calls: int
    parts: int | None
    passed: bool = False  # the time is already past: these go out at once (unless in quiet hours)


def schedule_rows(batches: Sequence[Batch], now: datetime | None = None) -> list[ScheduleRow]:
    """The plan per scheduled time, earliest first (at once before all)."""
    now = now or datetime.now(timezone.utc)
    grouped: dict[str | None, list[Batch]] = {}
    for batch in batches:
        grouped.setdefault(batch.send_at, []).append(batch)
    rows = []
    for send_at, members in sorted(grouped.items(), key=lambda item: item[0] or ""):
        zones = sorted({name for batch in members for name in batch.time_zones})
        rows.append(ScheduleRow(send_at, _local_times(send_at, zones), sum(len(b.recipients) for b in members),
                                len(members), _parts(members), send_at is not None and datetime.fromisoformat(send_at) <= now))
    return rows


def _local_times(send_at: str | None, zones: Sequence[str]) -> tuple[str, ...]:
    if send_at is None:
        return (f"at once ({', '.join(zones)})" if zones else "at once",)
    moment = datetime.fromisoformat(send_at)
    by_clock: dict[str, list[str]] = {}
    for name in zones:
        by_clock.setdefault(moment.astimezone(zone(name)).strftime("%Y-%m-%d %H:%M %Z"), []).append(name)
    return tuple(f"{clock} ({', '.join(names)})" for clock, names in sorted(by_clock.items()))


def _parts(batches: Sequence[Batch]) -> int | None:
    counts = [r.parts for b in batches for r in b.recipients]
    return None if any(p is None for p in counts) else sum(p for p in counts if p is not None)


def zone_sources(sources: Iterable[str]) -> dict[str, int]:
    """How many recipients got their zone from each source."""
    return dict(Counter(sources).most_common())
