"""Inline SVG charts drawn from section rows: no scripts, no external files."""

from __future__ import annotations

import math
from collections import defaultdict
from html import escape
from typing import Any

DIRECTION_COLOURS = {"inbound": "#2f7ed8", "outbound": "#f28f43"}
OUTCOME_COLOURS = {"delivered": "#2e9e5b", "failed": "#d64545", "pending": "#a0a7b1"}
RATE_COLOURS = {"reply_rate_pct": "#2f7ed8", "opt_out_rate_pct": "#d64545"}
RATE_LABELS = {"reply_rate_pct": "reply rate", "opt_out_rate_pct": "opt-out rate"}
MAX_DAYS = 60
FEW_DAYS = 3  # up to this many days: horizontal bars
DATE_LABEL_WIDTH = 80  # px a 2026-12-03 label needs
MIN_WIDTH = 360
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value` (1 for 0)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def compact(value: float) -> str:
    """An axis label: 1500 → 1.5k, 2000000 → 2M, 2.5 → 2.5."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    return (
        f'<svg role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" {FONT}>'
        f'<title>{escape(label)}</title>' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: Any, anchor: str = "start", fill: str = "#333") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}">{escape(str(text))}</text>'


def _rect(x: float, y: float, width: float, height: float, fill: str, tip: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" height="{max(height, 0):.1f}" '
            f'fill="{fill}"><title>{escape(tip)}</title></rect>')


def _legend(x: float, y: float, items: dict[str, str]) -> list[str]:
    parts = []
    for label, colour in items.items():
        parts += [f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour}"/>', _text(x + 16, y, label)]
        x += 24 + 7 * len(label)
    return parts


def traffic_chart(records: list[dict[str, Any]]) -> str:
    """Messages per day, inbound next to outbound (the last MAX_DAYS days with traffic); a few days read
    better as horizontal bars, one pair per day."""
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in records:
        per_day[str(row["day"])][row["direction"]] += int(row["messages"])
    days = sorted(per_day)[-MAX_DAYS:]
    if len(days) <= FEW_DAYS:
        return _traffic_bars(days, per_day)
    top = nice_ceiling(max((count for day in days for count in per_day[day].values()), default=0))
    left, plot_height, slot = 48, 180, max(18, min(60, 640 // max(len(days), 1)))
    width, height = max(left + slot * len(days) + 20, MIN_WIDTH), plot_height + 70
    bar = (slot - 6) / 2
    steps = 5 if top >= 5 else int(top)  # whole numbers on the axis: counts never fall between
    body = []
    for step in range(steps + 1):
        y = 20 + plot_height * (1 - step / steps)
        body += [f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>',
                 _text(left - 6, y + 4, compact(top * step / steps), "end", "#666")]
    every = math.ceil(len(days) * DATE_LABEL_WIDTH / (slot * len(days)))  # labels never overlap
    for index, day in enumerate(days):
        x = left + index * slot + 3
        for offset, direction in enumerate(DIRECTION_COLOURS):
            count = per_day[day].get(direction, 0)
            bar_height = plot_height * count / top
            body.append(_rect(x + offset * bar, 20 + plot_height - bar_height, bar, bar_height,
                              DIRECTION_COLOURS[direction], f"{day} {direction}: {count}"))
        if index % every == 0:
            body.append(_text(x + bar, 20 + plot_height + 16, day, "middle", "#666"))
    body += _legend(left, height - 12, DIRECTION_COLOURS)
    return _svg(width, height, "Messages per day by direction", body)


def _traffic_bars(days: list[str], per_day: dict[str, dict[str, int]]) -> str:
    """One horizontal bar per day and direction, with its count: for a handful of days."""
    label_width, bar_width, row_height = 100, 420, 40
    top = max((count for day in days for count in per_day[day].values()), default=0) or 1
    height = 30 + row_height * len(days) + 30
    body = []
    for index, day in enumerate(reversed(days)):  # the newest day first, as in the table
        y = 20 + index * row_height
        body.append(_text(label_width - 8, y + 19, day, "end"))
        for offset, (direction, colour) in enumerate(DIRECTION_COLOURS.items()):
            count = per_day[day].get(direction, 0)
            length = bar_width * count / top
            bar_y = y + offset * 16
            body.append(_rect(label_width, bar_y, length, 14, colour, f"{day} {direction}: {count}"))
            body.append(_text(label_width + length + 6, bar_y + 11, f"{count:,}"))
    body += _legend(label_width, height - 10, DIRECTION_COLOURS)
    return _svg(label_width + bar_width + 70, height, "Messages per day by direction", body)


def funnel_chart(records: list[dict[str, Any]]) -> str:
    """One stacked bar per campaign: delivered, failed and pending shares of the recipients sent to."""
    label_width, bar_width, row_height = 160, 420, 28
    height = 30 + row_height * len(records) + 30
    body = []
    for index, row in enumerate(records):
        y = 20 + index * row_height
        body.append(_text(label_width - 8, y + 15, _short(row["campaign_id"]), "end"))
        x, sent = float(label_width), max(int(row["sent"]), 1)
        for outcome, colour in OUTCOME_COLOURS.items():
            share = bar_width * int(row[outcome]) / sent
            body.append(_rect(x, y, share, 20, colour, f"{row['campaign_id']} {outcome}: {row[outcome]} of {row['sent']}"))
            if share >= 24:
                body.append(_text(x + share / 2, y + 14, row[outcome], "middle", "#fff"))
            x += share
        body.append(_text(label_width + bar_width + 8, y + 15, f"{row['sent']} sent"))
    body += _legend(label_width, height - 10, OUTCOME_COLOURS)
    return _svg(label_width + bar_width + 90, height, "Delivery funnel per campaign", body)


def rates_chart(records: list[dict[str, Any]]) -> str:
    """Per campaign, a reply-rate bar and an opt-out-rate bar (percent of recipients)."""
    label_width, bar_width, row_height = 160, 420, 40
    top = nice_ceiling(max((float(row[key] or 0) for row in records for key in RATE_COLOURS), default=0))
    height = 30 + row_height * len(records) + 40
    body = [_text(label_width + bar_width, 12, f"scale 0–{top:g} %", "end", "#666")]
    for index, row in enumerate(records):
        y = 20 + index * row_height
        body.append(_text(label_width - 8, y + 19, _short(row["campaign_id"]), "end"))
        for offset, (key, colour) in enumerate(RATE_COLOURS.items()):
            value = float(row[key] or 0)
            length = bar_width * value / top
            bar_y = y + offset * 16
            body.append(_rect(label_width, bar_y, length, 14, colour, f"{row['campaign_id']} {RATE_LABELS[key]}: {value:g} %"))
            body.append(_text(label_width + length + 6, bar_y + 11, f"{value:g} %"))
    body += _legend(label_width, height - 10, {RATE_LABELS[key]: colour for key, colour in RATE_COLOURS.items()})
    return _svg(label_width + bar_width + 70, height, "Reply and opt-out rates per campaign", body)


def _short(text: Any, limit: int = 22) -> str:
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"
