"""Run one declared sync: the job behind `sdsync run NAME` and each generated Dagster job.

The run is recorded (`runs`) as started before its job begins and with its outcome when it ends. A
recurring campaign gets the campaign id `NAME-YYYY-MM-DD` of the scheduled date (in the sync's time zone):
a rerun of the same day resumes that campaign from its ledger instead of sending it again, the next day
is a new campaign.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from smartdialog_sync.destinations.campaigns.errors import SendStopped
from smartdialog_sync.destinations.campaigns.request import CampaignRequest, Source
from smartdialog_sync.destinations.campaigns.run import CampaignProgress, run_campaign
from smartdialog_sync.destinations.contacts.sync import (
    ContactSyncOptions,
    SyncProgress,
    SyncStopped,
    configured_mapping,
    run_contact_sync,
)

from smartdialog_sync.api import resolve_settings
from smartdialog_sync.api.resolve import read_settings
from smartdialog_sync.constants import DEFAULT_DATASET
from smartdialog_sync.datadir import private_data_dir
from smartdialog_sync.errors import SdsyncError
from smartdialog_sync.progress import Progress

from ..alerts import alerting
from ..alerts.outcomes import alerted_pull, campaign_outcome, contact_sync_outcome, contacts_subject
from ..progress.log import LogProgress
from ..pull_pipeline import PullOptions, PullProgress, run_pull
from .definitions import SyncDefinition, declared_sync
from .runs import open_sync_runs, utc_now


def _ignore(_: str) -> None:
    return None


@dataclass(frozen=True)
class SyncOutcome:
    """How a run of a declared sync ended: `status` completed, partial or failed, a one-line summary, and
    the error of a run that did not complete (raise it with `raise_for_failure`)."""

    name: str
    kind: str
    status: str
    summary: str
    started_at: str
    run_key: str | None = None
    error: SdsyncError | None = field(default=None, repr=False)

    def raise_for_failure(self) -> None:
        """Raise the run's error, if it had one."""
        if self.error is not None:
            raise self.error


def campaign_id_for(definition: SyncDefinition, scheduled_for: datetime) -> str:
    """The campaign id of a recurring campaign's run: the sync's name and the scheduled date in its zone."""
    return f"{definition.name}-{scheduled_for.astimezone(ZoneInfo(definition.timezone)).date().isoformat()}"


def run_declared_sync(name: str, overrides: dict[str, Any] | None = None, scheduled_for: datetime | None = None,
                      progress: Progress | None = None) -> SyncOutcome:
    """Run the sync declared as `[syncs.NAME]` once and record its outcome in the state.

    `overrides` are connection settings given by the caller (the CLI's --base-url, --data-dir, ...);
    `scheduled_for` is the time the run was scheduled for (default now), which names a campaign's run.
    `progress` hears the job: the progress object of its kind (the CLI's console adapters) or `LogProgress`,
    which serves every kind (Dagster); by default the run is silent.
    Bad definitions raise UsageError before anything is recorded; an error of the job itself is recorded
    and returned in the outcome (`raise_for_failure`), a bug is recorded and raised.
    """
    definition = declared_sync(name)
    progress = progress or LogProgress(_ignore)
    overrides = {key: value for key, value in (overrides or {}).items() if value is not None}
    state = read_settings(**overrides).state
    private_data_dir(state.data_dir)
    when = scheduled_for or datetime.now(timezone.utc)
    run_key = campaign_id_for(definition, when) if definition.kind == "campaign" else None
    with open_sync_runs(state) as runs:
        started = utc_now()
        run_id = runs.start(definition.name, definition.kind, run_key, started)
        try:
            status, summary = JOBS[definition.kind](definition, overrides, run_key, progress)
            error: SdsyncError | None = None
        except SdsyncError as exc:
            status, summary, error = _stopped_status(exc), " ".join(str(exc).split()), exc
        except BaseException as exc:
            runs.finish(run_id, "failed", f"unexpected {type(exc).__name__}: a bug, see its traceback")  # its text may hold secrets
            raise
        runs.finish(run_id, status, summary)
    return SyncOutcome(definition.name, definition.kind, status, summary, started, run_key, error)


def _stopped_status(exc: SdsyncError) -> str:
    """partial for a contact sync or campaign that stopped part way (the next run resumes), else failed."""
    return "partial" if isinstance(exc, (SendStopped, SyncStopped)) else "failed"


def _run_contacts(definition: SyncDefinition, overrides: dict[str, Any], run_key: str | None,
                  progress: SyncProgress) -> tuple[str, str]:
    sql_file = definition.get("sql_file")
    options = ContactSyncOptions(
        source=definition.crm_url(), customer=definition.get("customer"), group_service=definition.get("group_service"),
        query=definition.get("query"), table=definition.get("table"), sql_file=Path(sql_file) if sql_file else None,
        mode=definition.get("mode", "upsert"), default_region=definition.get("default_region", "FI"),
        max_calls=definition.get("max_calls"), allow_deletes=True, key=definition.get("key"),
        mapping=configured_mapping(definition.get("map", [])),
        custom_properties=tuple(definition.get("custom_properties", [])), workers=definition.get("workers", 4),
    )
    settings = resolve_settings(**overrides)
    customer, group = definition.get("customer"), definition.get("group_service")
    with alerting(settings, "contacts", contacts_subject(customer, group)) as watch:
        result = run_contact_sync(settings, options, progress)
        watch.outcome = contact_sync_outcome(customer, group, result)
    return result.status, ", ".join(f"{key} {result.record.get(key)}" for key in ("creates", "updates", "deletes", "rejected"))


def _run_campaign(definition: SyncDefinition, overrides: dict[str, Any], run_key: str | None,
                  progress: CampaignProgress) -> tuple[str, str]:
    get = definition.get
    local_time = get("local_time")
    day = run_key[len(definition.name) + 1:] if run_key else None
    request = CampaignRequest(
        "sms", get("customer"), get("service"),
        Source(definition.crm_url(), get("query"), get("phone_column", "phone"), get("region_column"),
               get("suppression_query"), get("timezone_column")),
        campaign_id=run_key, variants=tuple(get("variants") or ()), holdout=get("holdout"), dlr_url=get("dlr_url"),
        customer_data=get("customer_data"), at=day if local_time else None, local_time=local_time,
        quiet_hours=get("quiet_hours"), purpose=get("purpose", "marketing"), frequency_cap=get("frequency_cap"),
        ignore_opt_outs=get("ignore_opt_outs", False), spread=get("spread"), send_rate=get("send_rate"),
        batch_size=get("batch_size"), sender=get("sender"), content=get("content"), gsm_safe=bool(get("gsm_safe")),
        ad=get("ad"), max_parts=get("max_parts"), content_option="content",
    )
    spec, settings, _ = request.resolve()
    client_settings = resolve_settings(**overrides)
    with alerting(client_settings, "campaign", spec.resolved_campaign_id()) as watch:
        result = run_campaign(client_settings, spec, settings, workers=get("workers", 2), progress=progress,
                              opt_outs_url=get("opt_outs_url"))
        watch.outcome = campaign_outcome(result)
    state = "every batch sent" if result.finished else "batches left for the next run"
    return "completed" if result.finished else "partial", f"{run_key}: {result.outcome.sent_recipients:,} recipient(s) sent in this run, {state}"


def _run_pull(definition: SyncDefinition, overrides: dict[str, Any], run_key: str | None,
              progress: PullProgress) -> tuple[str, str]:
    options = PullOptions(
        destination=definition.get("destination", "duckdb"), dataset=definition.get("dataset", DEFAULT_DATASET),
        resources=list(definition.get("resources", [])), credentials=definition.get("credentials"),
        journal_url=definition.get("journal_url"), max_calls=definition.get("max_calls"),
        settings={key: str(value) for key, value in overrides.items()}, transform=definition.get("transform", False),
    )
    result = alerted_pull(read_settings(**overrides), lambda: run_pull(options, progress=progress))
    if not result.rows:
        return "completed", "nothing new to load"
    return "completed", f"loaded {sum(result.rows.values()):,} row(s) into {len(result.rows)} table(s)"


JOBS: dict[str, Callable[..., tuple[str, str]]] = {"contacts": _run_contacts, "campaign": _run_campaign, "pull": _run_pull}
