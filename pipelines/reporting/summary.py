"""What the report shows before its sections: the headline figures of the period and campaign names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Optional

from smartdialog_sync.sqlfiles import read_sql

from .dataset import ReportDataset
from .sections import SectionResult

LABEL_TEXT = 28  # characters of a campaign's message shown in its name


@dataclass(frozen=True)
class Headline:
    """Recipients, delivered, failed, replies and opt-outs over every campaign, and the days with traffic."""

    recipients: int
    delivered: int
    failed: int
    replied: int
    opted_out: int
    first_day: Optional[date]
    last_day: Optional[date]

    @property
    def delivered_pct(self) -> Optional[float]:
        """Delivered recipients, percent of all recipients (None without recipients)."""
        return round(100.0 * self.delivered / self.recipients, 1) if self.recipients else None

    def period(self) -> str:
        """`2026-11-02 – 2026-12-03` (one day once), or `no traffic yet`."""
        if self.first_day is None or self.last_day is None:
            return "no traffic yet"
        if self.first_day == self.last_day:
            return self.first_day.isoformat()
        return f"{self.first_day.isoformat()} – {self.last_day.isoformat()}"

    def figures(self) -> list[tuple[str, str]]:
        """The figures as (label, text), in the order the page and the terminal show them."""
        pct = self.delivered_pct
        return [
            ("recipients", f"{self.recipients:,}"),
            ("delivered", "—" if pct is None else f"{pct:.1f} %"),
            ("failed", f"{self.failed:,}"),
            ("replies", f"{self.replied:,}"),
            ("opt-outs", f"{self.opted_out:,}"),
        ]

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON values."""
        return {
            "recipients": self.recipients, "delivered": self.delivered, "delivered_pct": self.delivered_pct,
            "failed": self.failed, "replied": self.replied, "opted_out": self.opted_out,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
        }


@dataclass
class ReportContent:
    """The sections' results with the headline figures and the campaigns' names."""

    results: list[SectionResult]
    headline: Headline
    labels: dict[str, str]

    def shown_value(self, column: str, value: Any) -> Any:
        """A campaign id as its name; any other value as it is."""
        return self.labels.get(value, value) if column == "campaign_id" and isinstance(value, str) else value


def summarise(report: ReportDataset, results: list[SectionResult]) -> ReportContent:
    """The headline and the campaign names for `results`."""
    return ReportContent(results, headline(results), campaign_labels(report))


def _rows(results: list[SectionResult], key: str) -> list[dict[str, Any]]:
    result = next(result for result in results if result.section.key == key)
    return [dict(zip(result.columns, row)) for row in result.rows]


def headline(results: list[SectionResult]) -> Headline:
    """The headline figures from the funnel, the reply rates and the traffic sections (all rows)."""
    funnel, rates = _rows(results, "delivery_funnel"), _rows(results, "reply_rates")
    days = [row["day"] for row in _rows(results, "traffic_per_day") if row["day"] is not None]
    return Headline(
        recipients=sum(int(row["sent"]) for row in funnel),
        delivered=sum(int(row["delivered"]) for row in funnel),
        failed=sum(int(row["failed"]) for row in funnel),
        replied=sum(int(row["replied"]) for row in rates),
        opted_out=sum(int(row["opted_out"]) for row in rates),
        first_day=min(days, default=None),
        last_day=max(days, default=None),
    )


def campaign_labels(report: ReportDataset) -> dict[str, str]:
    """Campaign id → `spring · 2026-12-03 · SMS · "Hi {{first_name}}! Spring…"` (`template NAME` for WhatsApp)."""
    columns, rows = report.query(read_sql("report_campaigns.sql"))
    labels = {}
    for row in rows:
        campaign = dict(zip(columns, row))
        parts = [str(campaign["campaign_id"])]
        if isinstance(campaign["first_sent_at"], datetime):
            parts.append(campaign["first_sent_at"].date().isoformat())
        if campaign["protocol"]:
            parts.append(str(campaign["protocol"]))
        if campaign["template_name"]:
            parts.append(f"template {campaign['template_name']}")
        elif campaign["content_start"]:
            text = " ".join(str(campaign["content_start"]).split())
            parts.append(f'"{text[:LABEL_TEXT - 1]}…"' if len(text) > LABEL_TEXT else f'"{text}"')
        labels[str(campaign["campaign_id"])] = " · ".join(parts)
    return labels
