"""The report's sections: what each answers, its SQL file and the input tables it reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smartdialog_sync.sqlfiles import read_sql

from .dataset import ReportDataset


@dataclass(frozen=True)
class Section:
    """One question the report answers with one SQL file (sql/report_<key>.sql); `narrow`: the columns a narrow
    terminal shows."""

    key: str
    title: str
    question: str
    inputs: tuple[str, ...]
    narrow: tuple[str, ...]
    uses_keywords: bool = False

    @property
    def sql_file(self) -> str:
        """The name of the section's SQL file."""
        return f"report_{self.key}.sql"


@dataclass
class SectionResult:
    """A section's rows, with notes on what data was missing."""

    section: Section
    columns: list[str]
    rows: list[tuple[Any, ...]]
    notes: list[str] = field(default_factory=list)

    def shown(self, limit: int) -> tuple[list[tuple[Any, ...]], str | None]:
        """The first `limit` rows, and a note when there are more."""
        if len(self.rows) <= limit:
            return self.rows, None
        return self.rows[:limit], f"showing the first {limit:,} of {len(self.rows):,} rows"


SECTIONS: tuple[Section, ...] = (
    Section(
        "traffic_per_day", "Message traffic per day",
        "How many messages came in and went out each day (UTC), by protocol and service.",
        ("inbound_messages", "sent_messages"), ("day", "direction", "service", "messages"),
    ),
    Section(
        "delivery_funnel", "Delivery funnel per campaign",
        "Of each campaign's recipients, how many were delivered, failed or are still pending "
        "(the latest delivery report per recipient wins).",
        ("sent_messages", "delivery_reports"), ("campaign_id", "sent", "delivered_pct", "failed"),
    ),
    Section(
        "reply_rates", "Replies and opt-outs per campaign",
        "Which share of each campaign's recipients replied after the send, and which share replied with a stop keyword.",
        ("sent_messages", "inbound_messages"), ("campaign_id", "replied", "reply_rate_pct", "opt_out_rate_pct"),
        uses_keywords=True,
    ),
    Section(
        "variants", "A/B variants and the holdout",
        "Per variant and for the holdout of campaigns with --variant/--holdout: recipients, delivered, reply and "
        "opt-out rates, and the difference to the holdout in percentage points with its 95 % interval "
        "(no winner where the interval spans 0).",
        ("campaign_assignments", "sent_messages", "delivery_reports", "inbound_messages"),
        ("campaign_id", "arm", "recipients", "reply_rate_pct", "reply_uplift_pp", "verdict"),
        uses_keywords=True,
    ),
    Section(
        "scheduled", "Scheduled, not yet delivered",
        "Which sends scheduled for later have no final delivery report yet, per campaign and scheduled time (UTC).",
        ("sent_messages", "delivery_reports"), ("campaign_id", "scheduled_utc", "recipients"),
    ),
    Section(
        "failed_contacts", "Contacts with failed messages",
        "Which addresses have at least one failed delivery report, in which campaigns, and their group contact.",
        ("delivery_reports", "sent_messages", "group_contacts"),
        ("address", "failed_reports", "last_error_code", "contact_name"),
    ),
    Section(
        "link_clicks", "Tracked links per campaign",
        "Of each campaign's (and variant's) recipients with a tracked link, how many clicked, the click-through rate, "
        "all clicks, and link previews apart (preview bots, crawlers, HEAD requests).",
        ("tracked_links", "link_clicks"), ("campaign_id", "recipients_with_link", "click_through_pct", "previews"),
    ),
    Section(
        "clicks_after_send", "Link clicks over time after the send",
        "When recipients clicked their tracked link, counted from the send to them (previews left out).",
        ("link_clicks", "sent_messages"), ("campaign_id", "after_send", "clicks", "clickers"),
    ),
)


def run_sections(report: ReportDataset, stop_keywords: tuple[str, ...]) -> list[SectionResult]:
    """Run every section's SQL on the dataset (the stop keywords for the sections that use them)."""
    results = []
    for section in SECTIONS:
        columns, rows = report.query(read_sql(section.sql_file), stop_keywords if section.uses_keywords else ())
        result = SectionResult(section, columns, rows)
        absent = [table for table in section.inputs if table in report.absent_tables]
        if absent:
            result.notes.append(f"not in the dataset yet: {', '.join(absent)}")
        results.append(result)
    return results
