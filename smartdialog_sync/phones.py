"""Phone number normalisation to E.164, as SmartDialog parses numbers (Finland by default)."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "FI"


class InvalidPhoneNumber(ValueError):
    """A phone number that cannot be parsed, or parses to an invalid number."""


@lru_cache(maxsize=1_000_000)
def _normalize(raw: str, region: str) -> str:
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"unparseable phone number ({exc.args[0].rstrip('.')})") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"invalid phone number for region {region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw: object, region: str | None = None) -> str:
    """Return `raw` as an E.164 string, parsing national numbers in `region` (default FI).

    Raises InvalidPhoneNumber with a short reason for empty, unparseable or invalid numbers.
    """
    if raw is None or not str(raw).strip():
        raise InvalidPhoneNumber("empty phone number")
    region_code = (region or DEFAULT_REGION).strip().upper()
    if region_code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidPhoneNumber(f"unknown phone region {region_code!r}")
    return _normalize(str(raw), region_code)


def first_region(regions: list[str] | None) -> str:
    """The region SmartDialog parses with for a contact's `phoneNumberRegions` (Finland if empty)."""
    return regions[0].upper() if regions else DEFAULT_REGION
