"""Campaign jobs as library functions: `sdsync send`/`send-whatsapp` and Dagster call them in-process.

`run_campaign` plans a campaign (or resumes it from the ledger), reports the plan, asks for
confirmation through a callback, writes the ledger and sends every unsent batch exactly once.
Progress goes to the callbacks of `CampaignProgress`; failures are raised as `CampaignError`s
(`SendStopped` when a run stopped part way: running it again finishes the campaign; `SendRefused` when the
service refused a request as it is: a rerun would get the same answer).
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from smartdialog_sync.api import ClientSettings, SmartDialogClient, models
from smartdialog_sync.state.runner_lock import runner_lock

from .arms import ArmFigures, Arms, arm_figures, arm_lines, combined
from .campaign import (
    CampaignSpec,
    Plan,
    check_existing,
    check_future,
    check_template_parameters,
    plan_campaign,
    resolve_template,
    timing_of,
)
from .config import MAX_RECIPIENTS_PER_CALL, CampaignSettings
from .errors import CampaignInputError, SendRefused, SendStopped
from .frequency import audience_lines
from .ledger import CampaignRecord, Ledger, lock_state
from .links import planning_secret, record_links
from .planner import Batch, Estimate, estimate
from .preview import content_preview_lines
from .proofs import first_messages, send_proofs
from .schedule import ScheduleRow, schedule_rows
from .sender import CampaignSender, RunOutcome
from .suppression import configured_journal_url, opt_out_sources


def _ignore(*_: object) -> None:
    return None


@dataclass
class CampaignProgress:
    """Callbacks of a campaign run; each is optional.

    `confirm(question) -> bool` is asked before anything is written or sent; None sends without asking.
    """

    on_info: Callable[[str], None] = _ignore
    on_plan: Callable[["PlanReport"], None] = _ignore
    confirm: Callable[[str], bool] | None = None
    on_start: Callable[[int], None] = _ignore
    on_sent: Callable[[int], None] = _ignore
    on_wait: Callable[[float, str], None] = _ignore


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

    def schedule_lines(self) -> list[str]:
        """The scheduled times as text lines (for logs; the CLI draws a table)."""
        return [
            f"  {row.send_at or 'at once'}{' (passed: at once)' if row.passed else ''} UTC = {'; '.join(row.local_times)}: {row.recipients:,} recipient(s), "
            f"{row.calls:,} call(s)" + (f", {row.parts:,} SMS part(s)" if row.parts is not None else "")
            for row in self.schedule
        ]


@dataclass
class CampaignResult:
    """What a run did: its plan (when planned now), the batches it confirmed and the ledger's state after it."""

    campaign_id: str
    plan: PlanReport | None = None
    dry_run: bool = False
    ran: bool = False  # batches were sent (or tried) in this run
    outcome: RunOutcome = field(default_factory=RunOutcome)
    ledger_counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """True when every batch of the campaign is confirmed sent."""
        return bool(self.ledger_counts) and set(self.ledger_counts) == {"sent"}

    def summary(self) -> str:
        """One line: this run's confirmed batches and the ledger's state."""
        outcome = self.outcome
        ledger = ", ".join(f"{state} {batches} batch(es)/{recipients:,} recipient(s)"
                           for state, (batches, recipients) in sorted(self.ledger_counts.items()))
        split = f", {outcome.splits} batch(es) split for the service's recipient limit" if outcome.splits else ""
        return (f"This run: {outcome.sent_batches} batch(es) confirmed ({outcome.sent_recipients:,} recipients, "
                f"{outcome.duplicates} recognised as sent before{split}). Ledger: {ledger}")


def connection_key(client_settings: ClientSettings) -> str:
    """The base URL a learned recipient limit is kept under (with the customer id)."""
    return client_settings.base_url.rstrip("/")


def whatsapp_template(client_settings: ClientSettings, customer: str, name: str, body_columns: Sequence[str]) -> models.WhatsAppTemplate:
    """The customer's template named `name` (display name or id), checked against the body parameter columns."""
    with SmartDialogClient(client_settings) as api:
        found = resolve_template(api.get_customer_whatsapp_templates(customer), name)
    check_template_parameters(found, body_columns)
    return found


def _report(plan: Plan, client_settings: ClientSettings, learned: int | None, settings: CampaignSettings,
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


def _confirm(progress: CampaignProgress, question: str, refused: str = "not confirmed: nothing sent") -> None:
    if progress.confirm is not None and not progress.confirm(question):
        raise CampaignInputError(refused)


def _plan(spec: CampaignSpec, settings: CampaignSettings, client_settings: ClientSettings, learned: int | None,
          progress: CampaignProgress, opt_outs_url: str | None, ledger: Ledger | None = None,
          proof_to: tuple[str, ...] = (), dry_run: bool = True) -> tuple[Plan, PlanReport]:
    """Plan with the opt-outs of the state's journal and the pulled datasets and the frequency cap counted in
    `ledger` (None: no ledger yet, nothing sent; with one that has sent campaigns, no opt-out source refuses).

    Tracked links take their codes from the state's link secret (a dry run creates none)."""
    progress.on_info("Reading recipients, opt-outs and planning batches ...")
    data_dir = client_settings.data_dir
    journal = client_settings.state.journal(configured_journal_url())
    opt_outs = opt_out_sources(data_dir, settings.opt_out_path(data_dir), opt_outs_url, journal)
    sent_before = ledger is not None and ledger.has_sent(spec.customer_id)
    cap = spec.audience.cap
    capped = ledger.capped_addresses(spec.customer_id, cap) if ledger is not None and cap is not None else {}
    secret = planning_secret(data_dir, journal, create=not dry_run) if spec.links is not None else None
    plan = plan_campaign(spec, settings, opt_outs, learned, sent_before, capped, link_secret=secret)
    report = _report(plan, client_settings, learned, settings, proof_to)
    progress.on_plan(report)
    return plan, report


def run_campaign(
    client_settings: ClientSettings,
    spec: CampaignSpec,
    settings: CampaignSettings,
    *,
    ledger: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    workers: int = 2,
    progress: CampaignProgress | None = None,
    opt_outs_url: str | None = None,
    wait: bool = False,
    proof_to: Sequence[str] = (),
) -> CampaignResult:
    """Plan (or resume) a campaign and send it exactly once per recipient; `dry_run` writes and sends nothing.

    The ledger is `ledger` (a path, sqlite:/// or postgresql:// URL), else the state's (state_url), else
    `<data_dir>/campaigns.sqlite`. One run of a campaign at a time, on any machine sharing that ledger: another
    run raises RunnerBusy (exit 1) naming it, or with `wait` is waited for.

    Opt-outs are read from the receiver's journal ([sources.smartdialog] journal_url, else the state's:
    state_url, else <data_dir>/journal.sqlite) and from `opt_outs_url` (an SQLAlchemy URL of a pulled
    dataset), else [campaigns] opt_outs_url, else wherever `sdsync pull` loaded from this data dir. No
    source at all refuses once the ledger has a sent campaign for the customer.

    `proof_to` (E.164 numbers): before a new campaign is written, its first message of each variant is sent
    to them (proofs.py); then `progress.confirm` asks to go on.

    Raises CampaignInputError/LedgerConflict (exit 2) for bad input, SendStopped (exit 1) when the run
    stopped part way (running it again then finishes the campaign), SendRefused (exit 1) when the service
    refused a batch's request as it is (a rerun would get the same answer).
    """
    progress = progress or CampaignProgress()
    proofs = tuple(proof_to)
    target = client_settings.state.ledger(ledger)
    campaign_id = spec.resolved_campaign_id()
    if dry_run and isinstance(target, Path) and not target.exists():
        _, report = _plan(spec, settings, client_settings, None, progress, opt_outs_url, proof_to=proofs)
        return CampaignResult(campaign_id, report, dry_run=True)
    with runner_lock(lock_state(target), f"campaign:{campaign_id}", f"campaign {campaign_id}", wait=wait):
        opened = Ledger.open(target)
        try:
            learned = opened.learned_max(connection_key(client_settings), spec.customer_id)
            result, record = _plan_or_resume(opened, spec, settings, client_settings, learned, dry_run, progress,
                                             opt_outs_url, proofs)
            if record is not None:
                _send(opened, record, client_settings, learned, workers, progress, result)
            result.ledger_counts = opened.status_counts(campaign_id)
        finally:
            opened.close()
    if result.outcome.stopped:
        progress.on_info(result.summary())
        if result.outcome.refused_as_is:
            raise SendRefused(f"{result.outcome.stopped}. The service refuses this request as it is, so running the "
                              "same command again gets the same answer: fix the cause first (the ledger keeps the "
                              "batch as failed; the batches sent stay sent)")
        raise SendStopped(f"{result.outcome.stopped}. Run the same command again to finish the campaign.")
    return result


def _plan_or_resume(
    ledger: Ledger, spec: CampaignSpec, settings: CampaignSettings, client_settings: ClientSettings,
    learned: int | None, dry_run: bool, progress: CampaignProgress, opt_outs_url: str | None,
    proof_to: tuple[str, ...] = (),
) -> tuple[CampaignResult, CampaignRecord | None]:
    """The run's result so far and the campaign to send: planned and written now, or resumed; None: nothing to send."""
    campaign_id = spec.resolved_campaign_id()
    existing = ledger.campaign(campaign_id)
    check_existing(spec, existing)
    if existing is None:
        if spec.timing.local_time is None and spec.timing.at is not None:  # with --local-time, --at gives the date
            check_future(spec.timing.at.isoformat())
        plan, report = _plan(spec, settings, client_settings, learned, progress, opt_outs_url, ledger, proof_to, dry_run)
        result = CampaignResult(campaign_id, report, dry_run=dry_run)
        if dry_run:
            return result, None
        question = f"Send to {len(plan.recipients.recipients):,} recipients in {len(plan.batches):,} call(s)?"
        if proof_to:
            with SmartDialogClient(client_settings, on_wait=progress.on_wait) as api:
                send_proofs(api, ledger, plan.record, first_messages(plan.record, plan.batches), proof_to, progress.on_info)
            question = f"Proofs sent to {', '.join(proof_to)}. Go on: s{question[1:]}"
        _confirm(progress, question, "not confirmed: only the proofs were sent" if proof_to else "not confirmed: nothing sent")
        if plan.links:  # every receiver can redirect them before the first message carrying one is sent
            record_links(client_settings.state.journal(configured_journal_url()), plan.links)
        ledger.create_campaign(plan.record, plan.batches, plan.recipients.rejected, plan.assignments)
        return result, plan.record
    result = CampaignResult(campaign_id, dry_run=dry_run)
    if proof_to:
        progress.on_info("The campaign is planned already: no proofs sent (they go out before a new campaign only).")
    counts = ledger.status_counts(campaign_id)
    progress.on_info(f"Campaign {campaign_id} (planned {existing.created_at}): "
                     + ", ".join(f"{state} {b} batch(es)/{r:,} recipient(s)" for state, (b, r) in sorted(counts.items())))
    left = {state: value for state, value in counts.items() if state != "sent"}
    if not left:
        progress.on_info("Every batch is confirmed sent; nothing to do.")
        return result, None
    if dry_run:
        progress.on_info("Dry run: the unsent batches would be sent with their original RequestIds.")
        return result, None
    _confirm(progress, f"Resume: send the {sum(b for b, _ in left.values())} unsent batch(es)?")
    return result, existing


def _send(ledger: Ledger, record: CampaignRecord, client_settings: ClientSettings, learned: int | None, workers: int,
          progress: CampaignProgress, result: CampaignResult) -> None:
    """Send every unsent batch of the campaign; the outcome goes into `result`."""
    unsent = ledger.unsent_batches(record.campaign_id, variants=bool(Arms.from_description(record.description).variants))
    gc.collect()
    gc.freeze()  # the many long-lived objects of planning stay out of every later collection: steadier calls
    progress.on_start(sum(len(item.batch.recipients) for item in unsent))
    with SmartDialogClient(client_settings, on_wait=progress.on_wait) as api:
        sender = CampaignSender(
            api, ledger, record, workers, on_batch_done=lambda batch: progress.on_sent(len(batch.recipients)),
            base_url=connection_key(client_settings), max_recipients=learned or MAX_RECIPIENTS_PER_CALL,
            quiet_hours=timing_of(record).quiet_hours, on_note=progress.on_info,
        )
        result.ran = True
        result.outcome = sender.run(unsent)
