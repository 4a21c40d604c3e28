"""Spread sends: a campaign's batches scheduled evenly across a window with SendDateTime.

- `--spread 2h`: the batches of each start time (the campaign's start, or each zone's local time with
  `--local-time`) are spaced evenly over the window: batch k of n at start + k × window / n.
- `--send-rate 5000/h`: batch k starts when the recipients before it have gone out at that rate.
- A spread time inside the quiet hours of one of the batch's zones moves to the end of the window.

The times are planned once, written to the ledger with each batch (and its RequestId) before any call;
a resumed run sends the recorded times, never recomputed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from .batches import Batch, with_request_id
from .errors import CampaignInputError
from .frequency import parse_count_per_period, parse_duration
from .schedule import QuietHours, utc_text
from .timezones import zone


@dataclass(frozen=True)
class Spread:
    """Either a window every start time's batches are spread over, or a rate of recipients per period."""

    window: timedelta | None = None
    rate: tuple[int, timedelta] | None = None  # (recipients, per period)
    text: str = ""

    @classmethod
    def parse(cls, spread: str | None, send_rate: str | None) -> "Spread | None":
        """`--spread DURATION` or `--send-rate N/PERIOD` (not both); None when neither is given."""
        if spread and send_rate:
            raise CampaignInputError("give --spread or --send-rate, not both")
        if spread:
            return cls(window=parse_duration(spread, "--spread"), text=f"over {spread.strip().lower()}")
        if send_rate:
            count, period = parse_count_per_period(send_rate, "--send-rate", "5000/h")
            unit = parse_duration(period if period[:1].isdigit() else f"1{period}", "--send-rate", send_rate)
            return cls(rate=(count, unit), text=f"at {count}/{period}")
        return None

    def describe(self) -> dict[str, Any]:
        """The option as a JSON value (part of the campaign's fingerprint)."""
        return {"spread": self.text}

    def offsets(self, sizes: Sequence[int]) -> list[timedelta]:
        """Each batch's delay after its start time, for batches of `sizes` recipients in send order."""
        if self.window is not None:
            return [self.window * k / len(sizes) for k in range(len(sizes))]
        assert self.rate is not None
        count, period = self.rate
        before, delays = 0, []
        for size in sizes:
            delays.append(period * before / count)
            before += size
        return delays


def _release(moment: datetime, zones: Sequence[str], quiet_hours: QuietHours | None) -> datetime:
    if quiet_hours is None or not zones:
        return moment
    return max(quiet_hours.release(moment.astimezone(zone(name))) for name in zones).astimezone(timezone.utc)


def spread_batches(kind: str, campaign_id: str, batches: Sequence[Batch], spread: Spread, at: datetime | None,
                   now: datetime, quiet_hours: QuietHours | None = None) -> list[Batch]:
    """`batches` with spread send times (and the RequestIds for them), renumbered in send-time order.

    Batches planned "at once" start at `at` (the campaign's --at) or `now` (the first of them then goes at
    once); scheduled ones start at their own time.
    """
    groups: dict[str | None, list[Batch]] = {}
    for batch in batches:
        groups.setdefault(batch.send_at, []).append(batch)
    timed: list[tuple[str | None, Batch]] = []
    for send_at, members in groups.items():
        first = datetime.fromisoformat(send_at) if send_at else (at or now)
        for batch, delay in zip(members, spread.offsets([len(b.recipients) for b in members])):
            moment = _release(first + delay, batch.time_zones, quiet_hours)
            at_once = send_at is None and at is None and moment <= now
            timed.append((None if at_once else utc_text(moment), batch))
    timed.sort(key=lambda item: item[0] or "")
    return [with_request_id(kind, campaign_id, replace(batch, batch_no=number, send_at=send_at))
            for number, (send_at, batch) in enumerate(timed, start=1)]


def spread_line(batches: Sequence[Batch], spread: Spread, now: datetime) -> str:
    """The plan's words on the spread: how many calls, from when to when, how far apart."""
    times = sorted(datetime.fromisoformat(b.send_at) if b.send_at else now for b in batches)
    gaps = [later - earlier for earlier, later in zip(times, times[1:]) if later > earlier]
    every = f", the closest two {min(gaps)} apart" if gaps else ""
    return (f"  spread {spread.text}: {len(batches):,} call(s) with SendDateTime from {utc_text(times[0])} "
            f"to {utc_text(times[-1])} UTC{every} (in each recipient's local window with --local-time)")
