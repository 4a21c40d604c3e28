"""Each recipient's time zone: a per-row column, else the phone number, else the row's region, else UTC.

The phone number's zones come from phonenumbers' `timezone.time_zones_for_number`. A number with
several zones whose clocks differ (a US toll-free number, North Dakota) is *ambiguous*: it gets the
main zone of its region among its candidates (the first in tzdata's zone.tab order, which lists the
most populous zone of a country first where geography allows) and is counted as such.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import timezone as phone_timezones

from .errors import CampaignInputError

SOURCE_COLUMN = "column"
SOURCE_PHONE = "phone"
SOURCE_AMBIGUOUS = "phone, ambiguous: main zone of its region"
SOURCE_REGION = "region"
SOURCE_UTC = "UTC (no zone known)"


@dataclass(frozen=True)
class ZoneChoice:
    """The zone a recipient's local time is read in, and where it came from."""

    zone: str
    source: str


@cache
def country_zones() -> dict[str, tuple[str, ...]]:
    """Zones per ISO country code, in tzdata's zone.tab order (most populous first where geography allows)."""
    text = (importlib.resources.files("tzdata.zoneinfo") / "zone.tab").read_text(encoding="ascii")
    zones: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, name = line.split("\t")[:3]
            zones.setdefault(code, []).append(name)
    return {code: tuple(names) for code, names in zones.items()}


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_zone(name: str) -> str:
    """`name` if it is an IANA zone name, else a CampaignInputError."""
    if name not in _known_zones():
        raise CampaignInputError(f"unknown time zone {name!r} (use an IANA name such as Europe/Helsinki)")
    return name


def _clocks_agree(zones: tuple[str, ...]) -> bool:
    """True when all `zones` show the same time now and in half a year (DST included)."""
    now = datetime.now(timezone.utc)
    for moment in (now, now + timedelta(days=182)):
        if len({moment.astimezone(ZoneInfo(zone)).utcoffset() for zone in zones}) > 1:
            return False
    return True


def _in_region_order(candidates: tuple[str, ...], region: str) -> tuple[str, ...]:
    """The candidates that belong to `region`, in zone.tab order; all candidates if none does."""
    ordered = tuple(zone for zone in country_zones().get(region, ()) if zone in candidates)
    return ordered or candidates


@lru_cache(maxsize=100_000)
def zone_of_number(address: str) -> ZoneChoice | None:
    """The zone of an E.164 number from its prefix; None when phonenumbers knows none."""
    number = phonenumbers.parse(address)
    region = phonenumbers.region_code_for_number(number) or ""
    candidates = tuple(z for z in phone_timezones.time_zones_for_number(number) if z in _known_zones())
    if not candidates:
        return None
    ordered = _in_region_order(candidates, region)
    if region in country_zones() and not set(ordered) & set(country_zones()[region]):
        ordered = country_zones()[region][:1]  # prefix data naming a neighbour's zone (EE -> Bucharest)
    if len(ordered) == 1 or _clocks_agree(ordered):
        return ZoneChoice(ordered[0], SOURCE_PHONE)
    return ZoneChoice(ordered[0], SOURCE_AMBIGUOUS)


def zone_of(address: str, row_zone: str | None = None, row_region: str | None = None) -> ZoneChoice:
    """A recipient's zone: `row_zone` (a per-row column), else the number's, else `row_region`'s main zone, else UTC."""
    if row_zone:
        return ZoneChoice(check_zone(row_zone.strip()), SOURCE_COLUMN)
    from_number = zone_of_number(address)
    if from_number is not None:
        return from_number
    region_zones = country_zones().get((row_region or "").strip().upper())
    if region_zones:
        return ZoneChoice(region_zones[0], SOURCE_REGION)
    return ZoneChoice("UTC", SOURCE_UTC)


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo of a zone name chosen here."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise CampaignInputError(f"unknown time zone {name!r}") from None
