"""A campaign's purpose and frequency caps across campaigns.

- `--purpose marketing|transactional` (default marketing): stored with the campaign (`campaign_purposes`).
  Marketing sends honour opt-outs and frequency caps; a transactional send (an order update) skips the
  caps, is never counted against them, and honours opt-outs unless `--ignore-opt-outs` is given.
- `--frequency-cap N/PERIOD` (e.g. `2/7d`; default `[campaigns] frequency_cap`, `off` turns it off): a
  recipient who already got N messages of marketing campaigns of the same customer, confirmed in the
  ledger within the rolling period, is left out with reason `frequency_cap`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import CampaignInputError

MARKETING, TRANSACTIONAL = "marketing", "transactional"
PURPOSES = (MARKETING, TRANSACTIONAL)
REASON_FREQUENCY_CAP = "frequency_cap"

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")


def parse_duration(text: str, option: str, given: str | None = None) -> timedelta:
    """A duration such as `30m`, `2h`, `7d` or `1w`; a CampaignInputError naming `option` and its value
    (`given`, when `text` is only part of it) otherwise."""
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise CampaignInputError(f"{option} {given or text!r}: the period must be a positive number with s, m, h, d "
                                 "or w, e.g. 7d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_count_per_period(text: str, option: str, example: str) -> tuple[int, str]:
    """`N/PERIOD` (N >= 1) as N and the period's text, stripped and lower-cased (`--frequency-cap 2/7d`,
    `--send-rate 5000/h`); a CampaignInputError naming `option` with an `example` otherwise."""
    count, sep, period = text.partition("/")
    if not sep or not count.strip().isdigit() or int(count) < 1:
        raise CampaignInputError(f"{option} {text!r} must look like N/PERIOD with N >= 1, e.g. {example}")
    return int(count), period.strip().lower()


def parse_purpose(text: str) -> str:
    """`marketing` or `transactional` (any case)."""
    purpose = text.strip().lower()
    if purpose not in PURPOSES:
        raise CampaignInputError(f"--purpose {text!r} must be marketing or transactional")
    return purpose


@dataclass(frozen=True)
class FrequencyCap:
    """At most `messages` marketing messages per recipient in any rolling `period`."""

    messages: int
    period: timedelta
    text: str  # as given, e.g. "2/7d"

    @classmethod
    def parse(cls, text: str | None) -> "FrequencyCap | None":
        """`N/PERIOD` (e.g. `2/7d`); None for None, "" or `off`."""
        if text is None or not text.strip() or text.strip().lower() == "off":
            return None
        count, period = parse_count_per_period(text, "--frequency-cap", "2/7d")
        return cls(count, parse_duration(period, "--frequency-cap", text), f"{count}/{period}")

    def since(self, now: datetime | None = None) -> str:
        """The start of the rolling period ending `now`, as the ledger stores times."""
        start = (now or datetime.now(timezone.utc)) - self.period
        return start.astimezone(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Audience:
    """Who a campaign may reach: its purpose, its frequency cap and whether opt-outs are ignored."""

    purpose: str = MARKETING
    frequency_cap: FrequencyCap | None = None
    ignore_opt_outs: bool = False

    def __post_init__(self) -> None:
        if self.ignore_opt_outs and self.purpose != TRANSACTIONAL:
            raise CampaignInputError("--ignore-opt-outs is only allowed with --purpose transactional")

    @property
    def cap(self) -> FrequencyCap | None:
        """The cap that applies: none for a transactional send."""
        return self.frequency_cap if self.purpose == MARKETING else None

    def describe(self) -> dict[str, Any]:
        """The options that change who is sent to, as JSON values; empty for a plain marketing send
        without a cap (so campaigns planned before these options keep their fingerprint)."""
        described: dict[str, Any] = {}
        if self.purpose != MARKETING:
            described["purpose"] = self.purpose
        if self.cap is not None:
            described["frequency_cap"] = self.cap.text
        if self.ignore_opt_outs:
            described["ignore_opt_outs"] = True
        return described


def purpose_of(description: dict[str, Any]) -> str:
    """The purpose a campaign was planned with (from its ledger description)."""
    return str(description.get("purpose") or MARKETING)


def audience_lines(description: dict[str, Any], ignored_opt_outs: int) -> list[str]:
    """The plan's words on purpose, caps and opt-outs."""
    purpose = purpose_of(description)
    if purpose == MARKETING:
        cap = description.get("frequency_cap")
        return [f"  purpose: marketing; frequency cap {cap} (marketing messages per recipient in the rolling period, "
                "all campaigns of the customer in this ledger)" if cap else "  purpose: marketing; no frequency cap"]
    lines = ["  purpose: transactional: frequency caps are skipped and this send is not counted against them"]
    if description.get("ignore_opt_outs"):
        lines.append(f"  opt-outs ignored (--ignore-opt-outs): {ignored_opt_outs:,} opted-out recipient(s) will get it")
    else:
        lines.append("  opt-outs apply (--ignore-opt-outs would send to opted-out numbers too)")
    return lines
