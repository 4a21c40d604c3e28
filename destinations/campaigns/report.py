"""Reporting a planned campaign before any call: figures, encodings, timing, arms, links and the schedule."""

from __future__ import annotations

from dataclasses import dataclass, field

from smartdialog_sync.api import ClientSettings

from .arms import ArmFigures, Arms, arm_figures, arm_lines, combined
from .batches import Batch, Estimate, estimate
from .config import MAX_RECIPIENTS_PER_CALL, CampaignSettings
from .frequency import audience_lines
from .ledger import CampaignRecord
from .planner import Plan
from .preview import content_preview_lines
from .schedule import ScheduleRow, schedule_rows


@dataclass(frozen=True)
class PlanReport:
    """What a planned campaign will do, before any call."""

    record: CampaignRecord
    figures: Estimate
    rejected: dict[str, int]
    suppression_sources: list[str]
    batch_size: int
    learned_max: int | None
    rate_limit: str
    zone_sources: dict[str, int]
    schedule: list[ScheduleRow]
    content_lines: list[str] = field(default_factory=list)  # encoding and cost of the SMS content (preview.py)
    arms: list[ArmFigures] = field(default_factory=list)
    ignored_opt_outs: int = 0
    spread_line: str | None = None
    proof_to: tuple[str, ...] = ()
    link_line: str | None = None

    def lines(self) -> list[str]:
        """The plan as text lines."""
        record, figures = self.record, self.figures
        left_out = ", ".join(f"{reason} {count:,}" for reason, count in sorted(self.rejected.items())) or "none"
        lines = [
            f"Campaign {record.campaign_id} ({record.kind}) for customer {record.customer_id}, service {record.service_id}",
            f"  recipients: {figures.recipients:,}",
            f"  left out: {sum(self.rejected.values()):,} ({left_out})",
            *(f"  suppression: {line}" for line in self.suppression_sources),
            *audience_lines(record.description, self.ignored_opt_outs),
        ]
        if figures.total_parts is not None:
            per_recipient = ", ".join(f"{parts} part(s) × {count:,}" for parts, count in figures.parts_histogram.items())
            encodings = ", ".join(f"{name} {count:,}" for name, count in sorted(figures.encodings.items()))
            lines.append(f"  SMS parts: {figures.total_parts:,} in total ({encodings}); per recipient: {per_recipient}")
        lines.extend(self.content_lines)
        timing = record.description.get("timing")
        if timing:
            when = f"at {timing['local_time']} in each recipient's zone, " if timing.get("local_time") else ""
            when += f"on the date of {timing['at']}" if timing.get("at") and timing.get("local_time") else (
                f"from {timing['at']}" if timing.get("at") else ("at its next occurrence" if when else "now"))
            quiet = f"; quiet hours {timing['quiet_hours']} local time" if timing.get("quiet_hours") else ""
            lines.append(f"  timing: {when}{quiet}")
        if self.link_line:
            lines.append(self.link_line)
        if self.spread_line:
            lines.append(self.spread_line)
        if self.zone_sources:
            lines.append("  time zones from: " + ", ".join(f"{source} {count:,}" for source, count in self.zone_sources.items()))
        arms = Arms.from_description(record.description)
        lines.extend(arm_lines(arms, self.arms, figures.recipients + sum(r.recipients for r in self.arms if r.figures is None)))
        learned = f"; the service was found to take at most {self.learned_max}" if self.learned_max else ""
        fewer = f" instead of {figures.recipients:,} (one per recipient)" if figures.calls < figures.recipients else ""
        lines.append(
            f"  API calls: {figures.calls:,} (up to {self.batch_size} recipients each{learned}){fewer}; "
            f"at least {figures.seconds:,.0f} s under the rate limit {self.rate_limit}"
        )
        if self.proof_to:
            which = "of each variant " if self.arms and any(row.figures is not None for row in self.arms) else ""
            lines.append(f"  proof: the first message {which}goes to {', '.join(self.proof_to)} first (own RequestId, "
                         "not counted as a campaign send); then the send asks to go on unless --yes")
        return lines

    def log_lines(self) -> list[str]:
        """The plan and its schedule as plain lines, for a log."""
        return self.lines() + self.schedule_lines()

    def schedule_lines(self) -> list[str]:
        """The scheduled times as text lines (for logs; the CLI draws a table)."""
        return [
            f"  {row.send_at or 'at once'}{' (passed: at once)' if row.passed else ''} UTC = {'; '.join(row.local_times)}: {row.recipients:,} recipient(s), "
            f"{row.calls:,} call(s)" + (f", {row.parts:,} SMS part(s)" if row.parts is not None else "")
            for row in self.schedule
        ]


def plan_report(plan: Plan, client_settings: ClientSettings, learned: int | None, settings: CampaignSettings,
            proof_to: tuple[str, ...]) -> PlanReport:
    record = plan.record
    limit = client_settings.rate_limit
    content = record.message.get("content") if record.kind == "sms" else None
    arms = Arms.from_description(record.description)
    held_out = sum(1 for row in plan.assignments if row.held_out)
    per_arm = arm_figures(arms, plan.batches, held_out, limit.calls, limit.seconds, record.kind)
    return PlanReport(
        record=record,
        figures=combined(per_arm, limit.calls, limit.seconds) if arms.variants else
        estimate(plan.batches, content, limit.calls, limit.seconds),
        rejected=dict(plan.recipients.rejected_by_reason()),
        suppression_sources=list(plan.suppression_sources),
        batch_size=plan.batch_size,
        learned_max=learned if learned is not None and learned < MAX_RECIPIENTS_PER_CALL else None,
        rate_limit=str(limit),
        zone_sources=plan.zone_sources,
        schedule=schedule_rows(plan.batches) if plan.zone_sources else [],
        content_lines=_content_lines(arms, content, plan.batches, settings),
        arms=per_arm,
        ignored_opt_outs=plan.ignored_opt_outs,
        spread_line=plan.spread_line,
        proof_to=proof_to,
        link_line=_link_line(plan),
    )


def _link_line(plan: Plan) -> str | None:
    """The plan's words on tracked links: how many, to how many targets, and where they point."""
    if not plan.links:
        return None
    base_url = (plan.record.description.get("links") or {}).get("base_url", "")
    targets = len({link.target for link in plan.links})
    recipients = len({link.recipient for link in plan.links})
    return (f"  tracked links: {len(plan.links):,} short link(s) {base_url}/l/<code> for {recipients:,} recipient(s) "
            f"to {targets:,} target(s); clicks are journaled by `sdsync serve` at that URL")


def _content_lines(arms: Arms, content: str | None, batches: list[Batch], settings: CampaignSettings) -> list[str]:
    """The encoding and cost lines of the SMS content, or of each variant's content under its label."""
    if not arms.variants:
        return content_preview_lines(content, batches, settings) if content is not None else []
    lines: list[str] = []
    for variant in arms.variants:
        own_content = variant.fields.get("content")
        if isinstance(own_content, str):
            own = [batch for batch in batches if batch.variant == variant.label]
            lines.append(f"  variant {variant.label}:")
            lines.extend("  " + line for line in content_preview_lines(own_content, own, settings))
    return lines


