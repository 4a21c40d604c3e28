"""Campaign jobs as library functions: `sdsync send`/`send-whatsapp`, Dagster and declared syncs call them in-process.

`run_campaign` takes a campaign through its stages, in this order:

1. request (request.py): what the user asked, parsed and checked into a `CampaignSpec` (`CampaignRequest.resolve`);
2. planner (planner.py): recipients, suppression, send times, arms and batches with their RequestIds;
3. report (report.py): the plan shown before any call; proofs (proofs.py) and the confirmation;
4. ledger (ledger.py): the campaign and every batch written before the first call (or resumed from it);
5. sender (sender.py): every unsent batch sent exactly once.

Progress goes to the hooks of `CampaignProgress`; failures are raised as `CampaignError`s (`SendStopped` when a
run stopped part way: running it again finishes the campaign; `SendRefused` when the service refused a request
as it is: a rerun would get the same answer).
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from smartdialog_sync.api import ClientSettings, SmartDialogClient
from smartdialog_sync.progress import Progress
from smartdialog_sync.state.runner_lock import runner_lock

from .config import MAX_RECIPIENTS_PER_CALL, CampaignSettings
from .errors import CampaignInputError, SendRefused, SendStopped
from .ledger import CampaignRecord, Ledger, lock_state
from .links import planning_secret, record_links
from .planner import Plan, plan_campaign
from .proofs import first_messages, send_proofs
from .report import PlanReport, plan_report
from .request import CampaignSpec, check_existing, check_future
from .sender import CampaignSender, RunOutcome, timing_of
from .suppression import configured_journal_url, opt_out_sources


class CampaignProgress(Progress):
    """What a campaign run tells its caller (besides `info` and `waiting`); every hook does nothing here."""

    def planned(self, report: PlanReport) -> None:
        """The plan of a new campaign, before anything is written or sent."""

    def confirm(self, question: str) -> bool:
        """Asked before anything is written or sent (and before a resume); False stops the run. Default: go on."""
        return True

    def sending(self, total: int) -> None:
        """Sending starts: `total` recipients in the unsent batches."""

    def sent(self, recipients: int) -> None:
        """A batch of `recipients` was confirmed sent (may be called from worker threads)."""


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
            learned = opened.learned_max(service_url(client_settings), spec.customer_id)
            result, record = _plan_or_resume(opened, spec, settings, client_settings, learned, dry_run, progress,
                                             opt_outs_url, proofs)
            if record is not None:
                _send(opened, record, client_settings, learned, workers, progress, result)
            result.ledger_counts = opened.status_counts(campaign_id)
        finally:
            opened.close()
    if result.outcome.stopped:
        progress.info(result.summary())
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
            with SmartDialogClient(client_settings, on_wait=progress.waiting) as api:
                send_proofs(api, ledger, plan.record, first_messages(plan.record, plan.batches), proof_to, progress.info)
            question = f"Proofs sent to {', '.join(proof_to)}. Go on: s{question[1:]}"
        _confirm(progress, question, "not confirmed: only the proofs were sent" if proof_to else "not confirmed: nothing sent")
        if plan.links:  # every receiver can redirect them before the first message carrying one is sent
            record_links(client_settings.state.journal(configured_journal_url()), plan.links)
        ledger.create_campaign(plan.record, plan.batches, plan.recipients.rejected, plan.assignments)
        return result, plan.record
    result = CampaignResult(campaign_id, dry_run=dry_run)
    if proof_to:
        progress.info("The campaign is planned already: no proofs sent (they go out before a new campaign only).")
    counts = ledger.status_counts(campaign_id)
    progress.info(f"Campaign {campaign_id} (planned {existing.created_at}): "
                     + ", ".join(f"{state} {b} batch(es)/{r:,} recipient(s)" for state, (b, r) in sorted(counts.items())))
    left = {state: value for state, value in counts.items() if state != "sent"}
    if not left:
        progress.info("Every batch is confirmed sent; nothing to do.")
        return result, None
    if dry_run:
        progress.info("Dry run: the unsent batches would be sent with their original RequestIds.")
        return result, None
    _confirm(progress, f"Resume: send the {sum(b for b, _ in left.values())} unsent batch(es)?")
    return result, existing


def _plan(spec: CampaignSpec, settings: CampaignSettings, client_settings: ClientSettings, learned: int | None,
          progress: CampaignProgress, opt_outs_url: str | None, ledger: Ledger | None = None,
          proof_to: tuple[str, ...] = (), dry_run: bool = True) -> tuple[Plan, PlanReport]:
    """Plan with the opt-outs of the state's journal and the pulled datasets and the frequency cap counted in
    `ledger` (None: no ledger yet, nothing sent; with one that has sent campaigns, no opt-out source refuses).

    Tracked links take their codes from the state's link secret (a dry run creates none)."""
    progress.info("Reading recipients, opt-outs and planning batches ...")
    data_dir = client_settings.data_dir
    journal = client_settings.state.journal(configured_journal_url())
    opt_outs = opt_out_sources(data_dir, settings.opt_out_path(data_dir), opt_outs_url, journal)
    sent_before = ledger is not None and ledger.has_sent(spec.customer_id)
    cap = spec.audience.cap
    capped = ledger.capped_addresses(spec.customer_id, cap) if ledger is not None and cap is not None else {}
    secret = planning_secret(data_dir, journal, create=not dry_run) if spec.links is not None else None
    plan = plan_campaign(spec, settings, opt_outs, learned, sent_before, capped, link_secret=secret)
    report = plan_report(plan, client_settings, learned, settings, proof_to)
    progress.planned(report)
    return plan, report


def _confirm(progress: CampaignProgress, question: str, refused: str = "not confirmed: nothing sent") -> None:
    if not progress.confirm(question):
        raise CampaignInputError(refused)


def _send(ledger: Ledger, record: CampaignRecord, client_settings: ClientSettings, learned: int | None, workers: int,
          progress: CampaignProgress, result: CampaignResult) -> None:
    """Send every unsent batch of the campaign; the outcome goes into `result`."""
    unsent = ledger.unsent_batches(record.campaign_id)
    gc.collect()
    gc.freeze()  # the many long-lived objects of planning stay out of every later collection: steadier calls
    progress.sending(sum(len(item.batch.recipients) for item in unsent))
    with SmartDialogClient(client_settings, on_wait=progress.waiting) as api:
        sender = CampaignSender(
            api, ledger, record, workers, on_batch_done=lambda batch: progress.sent(len(batch.recipients)),
            base_url=service_url(client_settings), max_recipients=learned or MAX_RECIPIENTS_PER_CALL,
            quiet_hours=timing_of(record).quiet_hours, on_note=progress.info,
        )
        result.ran = True
        result.outcome = sender.run(unsent)


def service_url(client_settings: ClientSettings) -> str:
    """The base URL a learned recipient limit is kept under (with the customer id)."""
    return client_settings.base_url.rstrip("/")
