"""SMS part counting by GSM 03.38 (GSM-7) and UCS-2 rules."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")
GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsParts:
    """How a text is encoded and how many parts it takes."""

    encoding: Literal["GSM-7", "UCS-2"]
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    parts: int


def _split_count(unit_sizes: list[int], single: int, per_part: int) -> int:
    """Parts needed when units of the given sizes may not be split across parts."""
    total = sum(unit_sizes)
    if total == 0:
        return 1
    if total <= single:
        return 1
    parts, used = 1, 0
    for size in unit_sizes:
        if used + size > per_part:
            parts += 1
            used = 0
        used += size
    return parts


def _even_count(units: int, single: int, per_part: int) -> int:
    """Parts needed for `units` units of size one (what `_split_count` gives for them, without the loop)."""
    return 1 if units <= single else -(-units // per_part)


def count_parts(text: str) -> SmsParts:
    """Count the SMS parts of `text`: GSM-7 when every character is in the GSM alphabet, else UCS-2.

    Extension-table characters cost two septets and an escape pair is never split; in UCS-2 a
    character outside the BMP costs two code units and a surrogate pair is never split.
    """
    chars = set(text)
    if chars <= GSM7_ALL:
        if chars.isdisjoint(GSM7_EXTENSION):  # every character one septet: nothing to keep together
            return SmsParts("GSM-7", len(text), _even_count(len(text), GSM7_SINGLE, GSM7_PART))
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SmsParts("GSM-7", sum(sizes), _split_count(sizes, GSM7_SINGLE, GSM7_PART))
    if not text or max(text) <= "\uffff":  # no surrogate pair to keep together
        return SmsParts("UCS-2", len(text), _even_count(len(text), UCS2_SINGLE, UCS2_PART))
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SmsParts("UCS-2", sum(sizes), _split_count(sizes, UCS2_SINGLE, UCS2_PART))


@lru_cache(maxsize=100_000)
def cached_count_parts(text: str) -> SmsParts:
    """`count_parts`, remembered for the last 100,000 texts (a campaign renders many texts alike)."""
    return count_parts(text)
