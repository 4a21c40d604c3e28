"""Dagster definitions: nightly contact sync, hourly pull, campaign runs.

Load with `dagster dev -m smartdialog_sync.pipelines.orchestration.dagster_defs` (install the extra: `pip install
'smartdialog-sync[orchestration]'`). Every job reads the same settings as the CLI: the environment
(`SMARTDIALOG__...`, `CAMPAIGNS__...`) and `.dlt/` in the working directory of the Dagster code server.

- `pull_job` calls the pull pipeline in-process (`smartdialog_sync.pipelines.pull_pipeline.run_pull`).
- `contacts_sync_job` calls the contact sync in-process (`destinations.contacts.sync.run_contact_sync`),
  logging its progress to Dagster; deletes of mirror mode need no confirmation there.
- `campaign_job` calls the campaign library in-process (`destinations.campaigns.run.run_campaign`);
  a run that stopped part way is retried and resumes from the ledger with the same RequestIds.
  A CRM URL given as `env:NAME` is read from that environment variable when the run starts, so a
  password never lands in Dagster's run storage (nor on a command line).
"""

# No `from __future__ import annotations`: Dagster reads the config classes from real annotations.

import os
from typing import Optional

from dagster import (
    Config,
    DagsterRunStatus,
    DefaultScheduleStatus,
    Definitions,
    OpExecutionContext,
    RetryRequested,
    RunRequest,
    RunsFilter,
    ScheduleEvaluationContext,
    SkipReason,
    job,
    op,
    schedule,
)
from pydantic import Field

from smartdialog_sync.api import resolve_settings
from smartdialog_sync.constants import DEFAULT_DATASET
from smartdialog_sync.destinations.campaigns.campaign import Source, build_spec, check_common_fields, parse_timing
from smartdialog_sync.destinations.campaigns.links import link_tracking
from smartdialog_sync.destinations.campaigns.config import resolve_campaign_settings
from smartdialog_sync.destinations.campaigns.errors import SendStopped
from smartdialog_sync.destinations.campaigns.run import CampaignProgress, PlanReport, run_campaign
from smartdialog_sync.destinations.contacts.sync import ContactSyncOptions, LogProgress, configured_mapping, run_contact_sync
from smartdialog_sync.errors import UsageError
from smartdialog_sync.pipelines.pull_pipeline import PullOptions, run_pull


NIGHTLY_AT_TWO = "0 2 * * *"
HOURLY = "0 * * * *"
SEND_RETRIES, SEND_RETRY_SECONDS = 3, 60
UNFINISHED = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
# The nightly contact sync is configured by these environment variables of the Dagster daemon.
CONTACTS_ENV = {
    "source": "SDSYNC_CONTACTS_SOURCE",
    "query": "SDSYNC_CONTACTS_QUERY",
    "customer": "SDSYNC_CONTACTS_CUSTOMER",
    "group_service": "SDSYNC_CONTACTS_GROUP_SERVICE",
    "mode": "SDSYNC_CONTACTS_MODE",
}


class PullConfig(Config):
    """Options of `sdsync pull`."""

    destination: str = Field("duckdb", description="dlt destination: duckdb (default <data_dir>/sdsync.duckdb), postgres, ...")
    dataset: str = Field(DEFAULT_DATASET, description="Dataset (schema) at the destination.")
    resources: list[str] = Field(default_factory=list, description="Resources to pull; all when empty.")
    credentials: Optional[str] = Field(None, description="Destination file or URL; `env:NAME` reads it from the environment.")
    journal_url: Optional[str] = Field(None, description="The receiver's journal (default the state's); `env:NAME` reads it from the environment.")
    max_calls: Optional[int] = Field(None, description="Most GetGroupContact calls in one run.")


class ContactSyncConfig(Config):
    """Options of `sdsync contacts sync`."""

    source: str = Field(description="SQLAlchemy URL of the CRM, or env:NAME to read it from an environment variable.")
    query: str = Field(description="SQL selecting the contacts.")
    customer: str = Field(description="Customer id.")
    group_service: str = Field(description="Group service id.")
    mode: str = Field("upsert", description="upsert, or mirror (also deletes contacts it manages).")
    max_calls: Optional[int] = Field(None, description="Stop after about this many API calls; the next run resumes.")


class CampaignConfig(Config):
    """Options of `sdsync send` (an SMS campaign, sent exactly once per recipient; rerunning resumes it)."""

    source: str = Field(description="SQLAlchemy URL of the CRM, or env:NAME to read it from an environment variable.")
    query: str = Field(description="SELECT returning a phone column and the columns the message uses.")
    content: str = Field(description="Message text; {{column}} is replaced per recipient, {{link:URL}} by a tracked short link.")
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


def resolve_env_reference(value: str) -> str:
    """`env:NAME` → the value of environment variable NAME (so secrets stay out of run config); else `value`."""
    if not value.startswith("env:"):
        return value
    name = value[4:]
    if name not in os.environ:
        raise UsageError(f"environment variable {name} is not set")
    return os.environ[name]


@op(description="Pull inbound messages, delivery reports, account data, group contacts and sent messages.")
def pull(context: OpExecutionContext, config: PullConfig) -> None:
    """Run the pull pipeline in this process."""
    options = PullOptions(
        destination=config.destination, dataset=config.dataset, resources=list(config.resources),
        credentials=resolve_env_reference(config.credentials) if config.credentials else None,
        journal_url=resolve_env_reference(config.journal_url) if config.journal_url else None,
        max_calls=config.max_calls,
    )
    result = run_pull(options, on_step=lambda step: context.log.info(f"pull: {step}"))  # settings the dlt way
    for table, rows in sorted(result.rows.items()):
        context.log.info(f"loaded {rows:,} rows into {table}")


@op(description="Make the group contacts match the CRM (what `sdsync contacts sync --yes` does).")
def contacts_sync(context: OpExecutionContext, config: ContactSyncConfig) -> None:
    """Run the contact sync in this process; a run that stops part way fails the op (the next run resumes)."""
    options = ContactSyncOptions(
        source=resolve_env_reference(config.source), query=config.query, customer=config.customer,
        group_service=config.group_service, mode=config.mode, max_calls=config.max_calls, allow_deletes=True,
        mapping=configured_mapping(),
    )
    run_contact_sync(resolve_settings(), options, LogProgress(context.log.info))


@op(description="Send an SMS campaign exactly once per recipient (the library behind sdsync send).")
def send_campaign(context: OpExecutionContext, config: CampaignConfig) -> None:
    """Plan or resume the campaign and send it in this process; a run that stopped part way is retried.

    A retry resumes the campaign from its ledger with the same RequestIds, so nobody gets it twice.
    Bad input or configuration fails at once.
    """
    settings = resolve_campaign_settings(config.batch_size)
    check_common_fields(None, config.dlr_url)
    timing = parse_timing(config.at, config.local_time, config.quiet_hours if config.quiet_hours is not None else settings.quiet_hours)
    source = Source(resolve_env_reference(config.source), config.query, config.phone_column,
                    timezone_column=config.timezone_column)
    message = {"sender": config.sender, "content": config.content, "dlr_url": config.dlr_url}
    links = link_tracking(config.content, config.track_links, config.link_base_url)
    spec = build_spec("sms", config.customer, config.service, source, message, timing, config.campaign_id, links=links)

    def log_plan(report: PlanReport) -> None:
        for line in report.lines() + report.schedule_lines():
            context.log.info(line)

    progress = CampaignProgress(on_info=context.log.info, on_plan=log_plan)
    try:
        result = run_campaign(resolve_settings(), spec, settings, progress=progress, wait=config.wait)
    except SendStopped as exc:
        raise RetryRequested(max_retries=SEND_RETRIES, seconds_to_wait=SEND_RETRY_SECONDS) from exc
    if result.ran:
        context.log.info(result.summary())


@job(description="Pull SmartDialog data and the receiver's journal into the dataset.", tags={"sdsync": "pull"})
def pull_job() -> None:
    pull()


@job(description="Sync CRM contacts into a SmartDialog group.", tags={"sdsync": "contacts"})
def contacts_sync_job() -> None:
    contacts_sync()


@job(description="Send one campaign (configure source, query, content and campaign id per run).", tags={"sdsync": "campaign"})
def campaign_job() -> None:
    send_campaign()


def _still_running(context: ScheduleEvaluationContext, job_name: str) -> bool:
    runs = context.instance.get_runs(filters=RunsFilter(job_name=job_name, statuses=UNFINISHED), limit=1)
    return bool(runs)


@schedule(cron_schedule=HOURLY, job=pull_job, execution_timezone="UTC", default_status=DefaultScheduleStatus.STOPPED)
def hourly_pull(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    """Pull every hour, unless the previous pull is still running."""
    if _still_running(context, pull_job.name):
        return SkipReason("the previous pull is still running")
    return RunRequest(run_key=None, run_config={"ops": {"pull": {"config": {}}}})


@schedule(cron_schedule=NIGHTLY_AT_TWO, job=contacts_sync_job, execution_timezone="UTC",
          default_status=DefaultScheduleStatus.STOPPED)
def nightly_contacts_sync(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    """Sync contacts at 02:00 UTC with the options in the SDSYNC_CONTACTS_* environment variables."""
    values = {key: os.environ.get(name) for key, name in CONTACTS_ENV.items()}
    missing = [CONTACTS_ENV[key] for key in ("source", "query", "customer", "group_service") if not values[key]]
    if missing:
        return SkipReason(f"set {', '.join(missing)} to configure the nightly contact sync")
    if _still_running(context, contacts_sync_job.name):
        return SkipReason("the previous contact sync is still running")
    config = {key: value for key, value in values.items() if value}
    return RunRequest(run_key=None, run_config={"ops": {"contacts_sync": {"config": config}}})


defs = Definitions(
    jobs=[pull_job, contacts_sync_job, campaign_job],
    schedules=[hourly_pull, nightly_contacts_sync],
)
