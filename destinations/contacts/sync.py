"""The contact sync as a library function: `run_contact_sync(settings, options, progress) -> SyncResult`.

`sdsync contacts sync` and the Dagster job both call it in-process; what a run shows or logs goes
through the callbacks of a `SyncProgress` (the default shows nothing; the console and log adapters are in
`pipelines/progress/`).

A run, top to bottom: read the CRM (reader) and map its columns (mapping), check the group service
(group_check), validate the rows (validation); then settle the ops an earlier run left in flight (applier),
diff the rows against the state (planner), journal the plan and apply it (applier). A dry run stops after
the plan.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from smartdialog_sync.api import ClientSettings, RateLimit, SmartDialogClient
from smartdialog_sync.errors import SdsyncError, UsageError
from smartdialog_sync.progress import Progress
from smartdialog_sync.state.location import StateLocation
from smartdialog_sync.state.runner_lock import runner_lock

from .applier import DEFAULT_GROUP_SIZE, DEFAULT_WORKERS, ContactApplier, StopRun
from .group_check import check_group_service
from .mapping import ContactMapping, MappingError, parse_map_options, resolve_mapping
from .planner import MODE_WORDS, PlanSummary, SyncPlan, plan_changes
from .reader import crm_statement, read_crm
from .state import ContactStateStore, Operation, StateStoreBusy, open_contact_state
from .validation import check_region, validate_candidates

SAMPLE_ROWS = 20
Mode = Literal["upsert", "mirror", "create-only", "update-only"]


@dataclass(frozen=True)
class ContactSyncOptions:
    """What to sync where: exactly one of `query`, `table`, `sql_file` selects the CRM rows."""

    source: str
    customer: str
    group_service: str
    query: str | None = None
    table: str | None = None
    sql_file: Path | None = None
    mode: Mode = "upsert"
    default_region: str = "FI"
    dry_run: bool = False
    max_calls: int | None = None
    allow_deletes: bool = False
    state: str | None = None
    wait: bool = False
    key: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    custom_properties: tuple[str, ...] = ()
    workers: int = DEFAULT_WORKERS


@dataclass(frozen=True)
class SyncResult:
    """How a run ended, its figures (the sync_runs row) and samples of what it did not send as is."""

    run_id: int
    status: str  # completed | partial | failed | dry-run
    record: dict[str, Any]
    state_location: str
    plan: PlanSummary | None = None
    rejected: list[tuple[str | None, str | None, str]] = field(default_factory=list)
    field_warnings: list[tuple[str | None, str, str | None, str]] = field(default_factory=list)
    ops_left: int = 0

    @property
    def error(self) -> str | None:
        """Why the run stopped, when it did."""
        return self.record.get("error")


class SyncStopped(SdsyncError):
    """The run stopped part way (service unavailable beyond the retry policy, refused credentials, ...).

    What is left is resumed by the next run; `result` holds the run's figures.
    """

    def __init__(self, result: SyncResult) -> None:
        super().__init__(f"stopped: {result.error}; what is left is resumed by the next run")
        self.result = result


class SyncProgress(Progress):
    """Callbacks of a contact sync run (with `info` and `waiting` of every job). Every method does nothing
    here: override the ones you need."""

    def planned(self, report: SyncPlan) -> None:
        """The plan is known (a dry run's plan counts the in-flight ops the real run would read back)."""

    def confirm_deletes(self, count: int) -> bool:
        """Whether the plan's deletes may go ahead (asked only without `allow_deletes`)."""
        return False

    def applying(self, total: int) -> None:
        """The apply starts, with `total` ops (at most) to go."""

    def applied(self, op: Operation, result: str) -> None:
        """An op was applied (`result` says how: created, updated, rejected, ...)."""

    def apply_ended(self) -> None:
        """The apply ended (done, budget reached or stopped)."""

    def finished(self, result: SyncResult) -> None:
        """The run is recorded; called before SyncStopped is raised for a stopped run."""


def configured_mapping(map_options: list[str] | None = None) -> dict[str, str]:
    """`[contacts.mapping]` of the dlt config (crm_col = "field"), overridden by `--map CRM_COL=field` options."""
    import dlt

    configured = dlt.config.get("contacts.mapping") or {}
    if not isinstance(configured, dict):
        raise UsageError("[contacts.mapping] must be a table of crm_column = \"field\"")
    try:
        return {**{str(k): str(v) for k, v in configured.items()}, **parse_map_options(map_options or [])}
    except MappingError as exc:
        raise UsageError(str(exc)) from None


def group_size(limit: RateLimit) -> int:
    """Ops committed in flight together: about one second of calls under `limit` (at most 64).

    A crash leaves up to two groups in flight, each read back by the next run: at 100/60 that is one or
    two reads, as with one op at a time; at 6000/60 the groups are big enough to keep the workers busy.
    """
    return max(1, min(DEFAULT_GROUP_SIZE, int(limit.calls / limit.seconds)))


def state_target(settings: ClientSettings, location: str | None) -> str | Path:
    """Where the contact state is: `location` (a DuckDB path, a duckdb:/// URL or a postgresql:// URL), else
    the configured state (`state_url`, else `<data_dir>/contacts_state.duckdb`). Any other URL exits 2."""
    return settings.state.contact_state(location)


def check_state_option(location: str | None) -> None:
    """Refuse a `--state` that is neither a DuckDB path nor a duckdb:/// or postgresql:// URL (exit 2)."""
    if location:
        StateLocation(Path()).contact_state(location)


def open_state(target: str | Path) -> ContactStateStore:
    """The contact state at `target` (see state_target), opened."""
    try:
        return open_contact_state(target)
    except StateStoreBusy as exc:
        raise SdsyncError(f"{exc} (is another sync running?)") from None


@contextmanager
def group_runner(settings: ClientSettings, target: str | Path, customer: str, group_service: str,
                 wait: bool = False) -> Iterator[None]:
    """One runner at a time for a customer/group, on any machine sharing the state: held for the block.

    With the state in PostgreSQL the lock is taken there (advisory lock + lease naming host, pid, since);
    with a local DuckDB file, in the data dir (the file's own lock also keeps a second process out).
    """
    location = StateLocation(settings.data_dir, target if isinstance(target, str) else None)
    with runner_lock(location, f"contacts:{customer}/{group_service}",
                     f"the contact sync of {customer}/{group_service}", wait=wait):
        yield


def run_contact_sync(settings: ClientSettings, options: ContactSyncOptions,
                     progress: SyncProgress | None = None) -> SyncResult:
    """Make the group service's contacts match the CRM rows (or only plan it, for a dry run).

    Raises UsageError for bad options or CRM input (before any call), NotAGroupService (a UsageError) when the
    group service is not a Group service of the customer (checked while the state holds no contact of the
    group, before anything is written), SyncStopped when the run stops
    part way (after recording it; the next run resumes), RunnerBusy (exit 1, naming the holder) when the
    same customer/group is being synced elsewhere and `wait` is not set, SdsyncError when the state is locked.
    """
    progress = progress or SyncProgress()
    started = time.monotonic()
    if options.mode not in MODE_WORDS:
        raise UsageError(f"mode must be one of {', '.join(MODE_WORDS)}, not {options.mode!r}")
    target = state_target(settings, options.state)
    with group_runner(settings, target, options.customer, options.group_service, options.wait):
        crm, mapping, region = _read_source(options, progress)  # after the wait: the CRM as it is now
        with open_state(target) as store, _client(settings, store, options, progress) as api:
            run_id = store.start_run(options.customer, options.group_service, options.mode, options.dry_run)
            validate_candidates(store, crm, mapping, options.customer, options.group_service, region)
            run = _Run(store, run_id, options, mapping, progress, started)
            result = run.real(api, settings.rate_limit) if api and not options.dry_run else run.dry(api)
    progress.finished(result)
    if result.status == "failed":
        raise SyncStopped(result)
    return result


def _read_source(options: ContactSyncOptions, progress: SyncProgress) -> tuple[pa.Table, ContactMapping, str]:
    """The CRM rows, their mapping and the default region; UsageError when they cannot be used."""
    try:
        region = check_region(options.default_region)
        crm = read_crm(options.source, crm_statement(options.query, options.table, options.sql_file))
        mapping = resolve_mapping(crm.column_names, options.mapping, list(options.custom_properties), options.key)
    except ValueError as exc:  # a bad region or mapping; the CRM's own errors carry their exit codes
        raise UsageError(str(exc)) from None
    progress.info(f"{crm.num_rows:,} CRM rows; mapping: {mapping.describe()}")
    if options.mode == "mirror" and crm.num_rows == 0:
        raise UsageError("the CRM returned no rows: refusing to mirror an empty source "
                         "(use `contacts delete-all` to empty a group)")
    return crm, mapping, region


@contextmanager
def _client(settings: ClientSettings, store: ContactStateStore, options: ContactSyncOptions,
            progress: SyncProgress) -> Iterator[SmartDialogClient | None]:
    """The run's API client, once the group service is checked (while the state holds no contact of the
    group); None for a dry run that needs no call."""
    check = not store.holds_group(options.customer, options.group_service)
    if options.dry_run and not check:
        yield None
        return
    with SmartDialogClient(settings, on_wait=progress.waiting) as api:
        if check:
            check_group_service(api, options.customer, options.group_service)
        yield api


class _Run:
    """One run on an open state store (the steps of run_contact_sync)."""

    def __init__(self, store: ContactStateStore, run_id: int, options: ContactSyncOptions, mapping: ContactMapping,
                 progress: SyncProgress, started: float) -> None:
        self.store = store
        self.run_id = run_id
        self.options = options
        self.mapping = mapping
        self.progress = progress
        self.started = started
        self.title = f"{options.customer}/{options.group_service} ({options.mode})"

    def _plan(self) -> PlanSummary:
        return plan_changes(self.store, self.options.customer, self.options.group_service, self.options.mode,
                            self.mapping)

    def _result(self, status: str, plan: PlanSummary | None, ops_left: int = 0) -> SyncResult:
        store = self.store
        return SyncResult(self.run_id, status, store.run_record(self.run_id), store.location, plan,
                          store.rejected_sample(self.run_id, SAMPLE_ROWS), store.warnings_sample(self.run_id, SAMPLE_ROWS),
                          ops_left)

    def dry(self, api: SmartDialogClient | None) -> SyncResult:
        """Plan and store the plan in planned_ops; send nothing (`api` made the group-service check, if any)."""
        store, options = self.store, self.options
        plan = self._plan()
        in_flight = len(store.inflight_ops(options.customer, options.group_service))
        store.write_dry_plan(self.run_id, options.customer, options.group_service)
        rejected = store.save_rejected_rows(self.run_id, options.customer, options.group_service,
                                            no_contact=options.mode == "update-only")
        store.save_field_warnings(self.run_id, options.customer, options.group_service)
        store.finish_run(self.run_id, "dry-run", duration_s=time.monotonic() - self.started,
                         source_rows=plan.source_rows, creates=plan.creates, updates=plan.updates,
                         deletes=plan.deletes, unchanged=plan.unchanged, rejected=rejected,
                         calls=api.stats.calls if api else 0)
        self.progress.planned(SyncPlan(plan, in_flight, f"Dry run {self.run_id}: {self.title}"))
        return self._result("dry-run", plan)

    def real(self, api: SmartDialogClient, limit: RateLimit) -> SyncResult:
        """Reconcile, plan, journal and apply; the run is recorded whatever happens."""
        store, options, progress = self.store, self.options, self.progress
        figures: dict[str, Any] = {}
        status, error, plan = "failed", None, None
        applier = ContactApplier(api, store, options.customer, options.group_service, workers=options.workers,
                                 group_size=group_size(limit), mode=options.mode)
        try:
            figures["reconciled"] = applier.reconcile_inflight()
            plan = self._plan()
            figures.update(source_rows=plan.source_rows, creates=plan.creates, updates=plan.updates,
                           deletes=plan.deletes, unchanged=plan.unchanged)
            progress.planned(SyncPlan(plan, 0, f"Sync run {self.run_id}: {self.title}"))
            if plan.deletes and not options.allow_deletes and not progress.confirm_deletes(plan.deletes):
                raise StopRun(f"the plan deletes {plan.deletes} contacts and that was not confirmed")
            store.write_journal(self.run_id, options.customer, options.group_service)
            figures["rejected"] = store.save_rejected_rows(self.run_id, options.customer, options.group_service,
                                                           no_contact=options.mode == "update-only")
            store.save_field_warnings(self.run_id, options.customer, options.group_service)
            # Reads made while reconciling count towards max_calls too.
            budget = None if options.max_calls is None else max(0, options.max_calls - api.stats.calls)
            progress.applying(plan.operations if budget is None else min(budget, plan.operations))
            try:
                tally = applier.apply(store.planned_ops(self.run_id), budget, progress.applied)
            finally:
                progress.apply_ended()
            figures.update(applied=tally.done, rejected=figures["rejected"] + tally.rejected, failed=0)
            status = "partial" if tally.call_budget_reached else "completed"
        except StopRun as exc:
            error = str(exc)
            figures["failed"] = 1
        finally:
            store.finish_run(self.run_id, status, error=error, calls=api.stats.calls, retries=api.stats.retries,
                             throttled=api.stats.throttled, waited_s=api.stats.waited_seconds,
                             duration_s=time.monotonic() - self.started, **figures)
        return self._result(status, plan, store.ops_left(self.run_id) if status == "partial" else 0)


def forget_group(settings: ClientSettings, customer: str, group_service: str, state: str | None = None) -> None:
    """Forget a contact group abandoned for good (no API call, the group's contacts stay as they are): every
    row of its sync state, wherever the state is, under the group's runner lock."""
    target = state_target(settings, state)
    if isinstance(target, Path) and not target.exists():
        raise UsageError(f"no contact-sync state at {target} (give --state, --data-dir or state_url)")
    with group_runner(settings, target, customer, group_service), open_state(target) as store:
        store.forget_group(customer, group_service)


def delete_all_contacts(settings: ClientSettings, customer: str, group_service: str, state: str | None = None) -> None:
    """Delete every contact of a group service (DeleteAllGroupContacts) and forget the sync state of that group,
    wherever the state is."""
    target = state_target(settings, state)
    with group_runner(settings, target, customer, group_service), open_state(target) as store:
        with SmartDialogClient(settings) as api:
            api.delete_all_group_contacts(customer, group_service)
        store.clear_group(customer, group_service)
