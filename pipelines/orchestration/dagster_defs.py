"""Dagster definitions: one job and one schedule per declared sync, and the one-off campaign job.

Load with `dagster dev -m smartdialog_sync.pipelines.orchestration.dagster_defs` (install the extra: `pip install
'smartdialog-sync[orchestration]'`). The syncs are read from `[syncs.NAME]` of `.dlt/` in the working directory
of the Dagster code server (and `SYNCS__NAME__KEY` environment variables) when the definitions load; a bad
definition fails the load with the same message as `sdsync syncs check`.

- `sync_NAME` (a job per declared sync) calls `pipelines.syncs.runner.run_declared_sync`, the library behind
  `sdsync run NAME`, in-process, logging to Dagster; `NAME_schedule` launches it on the sync's `schedule`, in
  its `timezone`, and skips a tick while the previous run is unfinished. A campaign's run is named by its
  scheduled date, so a retry (a run that stopped part way is retried) resumes it with the same RequestIds.
- `campaign_job` sends one campaign configured per run (the launchpad), the library behind `sdsync send`.
  A CRM URL given as `env:NAME` is read from that environment variable when the run starts, so a
  password never lands in Dagster's run storage (nor on a command line).

Each op raises the alerts of its outcome ([alerts], `smartdialog_sync.pipelines.alerts`) as the CLI does.
"""

# No `from __future__ import annotations`: Dagster reads the config classes from real annotations.

from collections.abc import Sequence
from datetime import datetime
from typing import Optional

from dagster import (
    Config,
    DagsterRunStatus,
    DefaultScheduleStatus,
    Definitions,
    JobDefinition,
    OpExecutionContext,
    RetryRequested,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    job,
    op,
    schedule,
)
from pydantic import Field
from smartdialog_sync.destinations.campaigns.errors import SendStopped
from smartdialog_sync.destinations.campaigns.request import CampaignRequest, Source
from smartdialog_sync.destinations.campaigns.run import run_campaign
from smartdialog_sync.pipelines.alerts import alerting
from smartdialog_sync.pipelines.alerts.outcomes import campaign_outcome
from smartdialog_sync.pipelines.progress.log import LogProgress
from smartdialog_sync.pipelines.syncs.definitions import (
    SyncDefinition,
    read_definitions,
    resolve_env_reference,
)
from smartdialog_sync.pipelines.syncs.runner import run_declared_sync

from smartdialog_sync.api import resolve_settings

SEND_RETRIES, SEND_RETRY_SECONDS = 3, 60
UNFINISHED = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]


class DeclaredRunConfig(Config):
    """A run of a declared sync: everything else is in its [syncs.NAME] definition."""

    scheduled_for: Optional[str] = Field(None, description="ISO 8601 time the run was scheduled for (names a campaign's "
                                                           "run NAME-DATE); now when left out.")


class CampaignConfig(Config):
    """Options of `sdsync send` (an SMS campaign, sent exactly once per recipient; rerunning resumes it)."""

    source: str = Field(description="SQLAlchemy URL of the CRM, or env:NAME to read it from an environment variable.")
    query: str = Field(description="SELECT returning a phone column and the columns the message uses.")
    content: Optional[str] = Field(None, description="Message text; {{column}} is replaced per recipient, {{link:URL}} by a tracked short link. Required unless variants are given.")
    variants: list[str] = Field([], description="A/B variants instead of content: LABEL=TEXT or LABEL:WEIGHT=TEXT (as sdsync send --variant).")
    holdout: Optional[str] = Field(None, description="Share of the recipients not sent to, e.g. 10% (as sdsync send --holdout).")
    track_links: bool = Field(False, description="Track every http(s) URL of the content as {{link:URL}}.")
    link_base_url: Optional[str] = Field(None, description="Public URL of `sdsync serve` for short links; default [receiver] public_url.")
    campaign_id: str = Field(description="Campaign id: the ledger key that makes reruns resume, never resend.")
    customer: str = Field(description="Customer id.")
    service: str = Field(description="Service id to send with.")
    sender: str = Field(description="Sender name or number.")
    dlr_url: Optional[str] = Field(None, description="Delivery report callback URL (the receiver's /dlr).")
    phone_column: str = Field("phone", description="Column holding the phone numbers.")
    batch_size: Optional[int] = Field(None, description="Recipients per call, 1-1000.")
    at: Optional[str] = Field(None, description="Send time, ISO 8601; with local_time only its date counts.")
    local_time: Optional[str] = Field(None, description="HH:MM: send at this time in each recipient's zone.")
    quiet_hours: Optional[str] = Field(None, description="HH:MM-HH:MM local time nothing is sent in; default [campaigns] quiet_hours.")
    timezone_column: Optional[str] = Field(None, description="Column with each row's IANA time zone.")
    wait: bool = Field(False, description="Wait while another run (on any machine) sends this campaign, instead of failing.")
    gsm_safe: bool = Field(False, description="Replace characters with a GSM-7 look-alike (curly quotes, dashes, ...) in content.")
    purpose: str = Field("marketing", description="marketing (opt-outs and frequency caps apply) or transactional (skips caps).")
    frequency_cap: Optional[str] = Field(None, description="N/PERIOD, e.g. 2/7d; default [campaigns] frequency_cap; off.")
    ignore_opt_outs: bool = Field(False, description="Send to opted-out numbers too (only with purpose transactional).")
    spread: Optional[str] = Field(None, description="DURATION, e.g. 2h: batches scheduled evenly over this window.")
    send_rate: Optional[str] = Field(None, description="N/PERIOD, e.g. 5000/h: batches scheduled at this rate.")
    proof_to: Optional[str] = Field(None, description="Comma-separated numbers that get the first message before the campaign.")



@op(description="Send an SMS campaign exactly once per recipient (the library behind sdsync send).")
def send_campaign(context: OpExecutionContext, config: CampaignConfig) -> None:
    """Plan or resume the campaign and send it in this process; a run that stopped part way is retried.

    A retry resumes the campaign from its ledger with the same RequestIds, so nobody gets it twice.
    Bad input or configuration fails at once.
    """
    request = CampaignRequest(
        "sms", config.customer, config.service,
        Source(resolve_env_reference(config.source), config.query, config.phone_column, timezone_column=config.timezone_column),
        campaign_id=config.campaign_id, variants=tuple(config.variants),
        holdout=config.holdout, dlr_url=config.dlr_url, at=config.at, local_time=config.local_time,
        quiet_hours=config.quiet_hours, purpose=config.purpose, frequency_cap=config.frequency_cap,
        ignore_opt_outs=config.ignore_opt_outs, spread=config.spread, send_rate=config.send_rate,
        batch_size=config.batch_size, proof_to=config.proof_to, sender=config.sender, content=config.content,
        gsm_safe=config.gsm_safe, track_links=config.track_links, link_base_url=config.link_base_url,
        content_option="content",
    )
    spec, settings, proofs = request.resolve()
    client_settings = resolve_settings()
    try:
        with alerting(client_settings, "campaign", spec.resolved_campaign_id()) as watch:
            result = run_campaign(client_settings, spec, settings, progress=LogProgress(context.log.info),
                                  wait=config.wait, proof_to=proofs)
            watch.outcome = campaign_outcome(result)
    except SendStopped as exc:
        raise RetryRequested(max_retries=SEND_RETRIES, seconds_to_wait=SEND_RETRY_SECONDS) from exc
    if result.ran:
        context.log.info(result.summary())


@job(description="Send one campaign (configure source, query, content and campaign id per run).", tags={"sdsync": "campaign"})
def campaign_job() -> None:
    send_campaign()


def _still_running(context: ScheduleEvaluationContext, job_name: str) -> bool:
    runs = context.instance.get_runs(filters=RunsFilter(job_name=job_name, statuses=UNFINISHED), limit=1)
    return bool(runs)


def declared_sync_job(definition: SyncDefinition) -> JobDefinition:
    """The job `sync_NAME`: one op running the declared sync in this process (`run_declared_sync`)."""
    name = definition.name

    @op(name=f"run_{name}", description=f"Run the declared {definition.kind} sync [syncs.{name}].")
    def run_sync(context: OpExecutionContext, config: DeclaredRunConfig) -> None:
        scheduled_for = datetime.fromisoformat(config.scheduled_for) if config.scheduled_for else None
        outcome = run_declared_sync(name, scheduled_for=scheduled_for, progress=LogProgress(context.log.info))
        context.log.info(f"{name}: {outcome.status}: {outcome.summary}")
        if outcome.status == "partial" and definition.kind == "campaign":
            raise RetryRequested(max_retries=SEND_RETRIES, seconds_to_wait=SEND_RETRY_SECONDS) from outcome.error
        outcome.raise_for_failure()

    @job(name=f"sync_{name}", description=f"The declared {definition.kind} sync [syncs.{name}].",
         tags={"sdsync": definition.kind, "sdsync/sync": name})
    def sync_job() -> None:
        run_sync()

    return sync_job


def declared_sync_schedule(definition: SyncDefinition, sync_job: JobDefinition) -> ScheduleDefinition:
    """The schedule `NAME_schedule`: the sync's cron in its time zone, running from the start (it is declared)."""

    @schedule(name=f"{definition.name}_schedule", cron_schedule=definition.schedule, job=sync_job,
              execution_timezone=definition.timezone, default_status=DefaultScheduleStatus.RUNNING)
    def declared(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        if _still_running(context, sync_job.name):
            return SkipReason(f"the previous run of {definition.name} is still running")
        when = context.scheduled_execution_time
        config = {"scheduled_for": when.isoformat()} if when else {}
        return RunRequest(run_key=None, run_config={"ops": {f"run_{definition.name}": {"config": config}}})

    return declared


def build_definitions(definitions: Sequence[SyncDefinition]) -> Definitions:
    """The code location: a job per declared sync, a schedule per sync that has one, and `campaign_job`."""
    jobs = {definition.name: declared_sync_job(definition) for definition in definitions}
    schedules = [declared_sync_schedule(definition, jobs[definition.name]) for definition in definitions
                 if definition.schedule]
    return Definitions(jobs=[*jobs.values(), campaign_job], schedules=schedules)


defs = build_definitions(read_definitions())
