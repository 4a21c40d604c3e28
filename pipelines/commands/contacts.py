"""`sdsync contacts ...`: reverse sync of CRM contacts into a SmartDialog group service."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, Optional

import dlt
import typer
from rich.markup import escape

from smartdialog_sync.destinations.contacts.applier import ContactApplier, StopRun
from smartdialog_sync.destinations.contacts.mapping import MappingError, parse_map_options, resolve_mapping
from smartdialog_sync.destinations.contacts.planner import plan_changes, prepare_candidates
from smartdialog_sync.destinations.contacts.reader import crm_statement, read_crm
from smartdialog_sync.destinations.contacts.report import ApplyProgress, plan_table, rejected_table, run_table
from smartdialog_sync.destinations.contacts.state import ContactStateStore, StateStoreBusy, state_path
from smartdialog_sync.destinations.contacts.validation import check_region
from smartdialog_sync.api import RateLimit
from smartdialog_sync.errors import SdsyncError

from ..runtime import EXIT_FAILURE, EXIT_USAGE, console, open_client, settings_from, stdout

app = typer.Typer(help="Sync CRM contacts into SmartDialog group services (only the calls needed, each once).",
                  no_args_is_help=True)

CUSTOMER_OPTION = typer.Option(..., "--customer", "-c", help="Customer id (see `sdsync api customers`).")
GROUP_OPTION = typer.Option(..., "--group-service", "-g", help="Group service id (see `sdsync api services --type Group`).")
STATE_OPTION = typer.Option(
    None, "--state", help="State DuckDB file (path or duckdb:/// URL); default <data dir>/contacts_state.duckdb."
)


class Mode(str, Enum):
    """upsert: create and update only. mirror: also delete managed contacts that left the CRM."""

    upsert = "upsert"
    mirror = "mirror"


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    console.print(f"[red]{'error' if code == EXIT_USAGE else 'failed'}:[/red] ", end="")
    console.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def _open_store(location: Optional[str], data_dir: Path) -> ContactStateStore:
    try:
        return ContactStateStore(state_path(location, data_dir))
    except ValueError as exc:
        _fail(str(exc))
    except StateStoreBusy as exc:
        _fail(f"{exc} (is another sync running?)", EXIT_FAILURE)


def _configured_mapping(options: list[str]) -> dict[str, str]:
    """[contacts.mapping] of the dlt config (crm_col = "field"), overridden by --map options."""
    configured = dlt.config.get("contacts.mapping") or {}
    if not isinstance(configured, dict):
        raise MappingError("[contacts.mapping] must be a table of crm_column = \"field\"")
    return {**{str(k): str(v) for k, v in configured.items()}, **parse_map_options(options)}


@app.command()
def sync(
    ctx: typer.Context,
    source: str = typer.Option(..., "--source", help="SQLAlchemy URL of the CRM (postgresql://, sqlite:///, duckdb:///)."),
    query: Optional[str] = typer.Option(None, "--query", help="SQL selecting the contacts."),
    table: Optional[str] = typer.Option(None, "--table", help="Table (or schema.table) holding the contacts."),
    sql_file: Optional[Path] = typer.Option(None, "--sql-file", help="File with the SQL selecting the contacts."),
    customer: str = CUSTOMER_OPTION,
    group_service: str = GROUP_OPTION,
    mode: Mode = typer.Option(Mode.upsert, "--mode", help="upsert, or mirror (also deletes contacts it manages)."),
    default_region: str = typer.Option("FI", "--default-region", help="Region of national phone numbers without a region column."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show and store the plan; send nothing."),
    max_calls: Optional[int] = typer.Option(None, "--max-calls", min=1, help="Stop after about this many API calls (resume next run)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before deleting contacts in mirror mode."),
    state: Optional[str] = STATE_OPTION,
    key: Optional[str] = typer.Option(None, "--key", help="Column identifying a CRM row in reports; default the phone column."),
    mapping_options: list[str] = typer.Option([], "--map", help="CRM_COLUMN=field, e.g. mobile=phone (repeatable)."),
    custom_properties: list[str] = typer.Option([], "--custom-property", help="Column sent as a customContactProperty (repeatable)."),
) -> None:
    """Create, update (and in mirror mode delete) group contacts so the group matches the CRM."""
    started = time.monotonic()
    settings = settings_from(ctx)
    try:
        region = check_region(default_region)
        statement = crm_statement(query, table, sql_file)
        explicit = _configured_mapping(mapping_options)
        crm = read_crm(source, statement)
        mapping = resolve_mapping(crm.column_names, explicit, custom_properties, key)
    except (ValueError, SdsyncError) as exc:
        _fail(str(exc), getattr(exc, "exit_code", EXIT_USAGE))
    console.print(f"[dim]{crm.num_rows:,} CRM rows; mapping: {escape(mapping.describe())}[/dim]")
    if mode is Mode.mirror and crm.num_rows == 0:
        _fail("the CRM returned no rows: refusing to mirror an empty source (use `contacts delete-all` to empty a group)")

    store = _open_store(state, settings.data_dir)
    with store:
        run_id = store.start_run(customer, group_service, mode.value, dry_run)
        prepare_candidates(store, crm, mapping, customer, group_service, region)
        if dry_run:
            _dry_run(store, run_id, customer, group_service, mode, settings.rate_limit, started)
            return
        _real_run(ctx, store, run_id, customer, group_service, mode, max_calls, yes, settings.rate_limit, started)


def _dry_run(store: ContactStateStore, run_id: int, customer: str, group_service: str, mode: Mode,
             limit: RateLimit, started: float) -> None:
    plan = plan_changes(store, customer, group_service, mode is Mode.mirror)
    in_flight = len(store.inflight_ops(customer, group_service))
    store.write_dry_plan(run_id, customer, group_service)
    rejected = store.save_rejected_rows(run_id, customer, group_service)
    store.finish_run(run_id, "dry-run", duration_s=time.monotonic() - started, source_rows=plan.source_rows,
                     creates=plan.creates, updates=plan.updates, deletes=plan.deletes, unchanged=plan.unchanged,
                     rejected=rejected, calls=0)
    stdout.print(plan_table(plan, in_flight, limit, f"Dry run {run_id}: {customer}/{group_service} ({mode.value})"))
    _show_rejected(store, run_id)
    stdout.print(f"Planned operations stored in table planned_ops (run_id {run_id}) of {store.path}; nothing was sent.", markup=False)


def _real_run(ctx: typer.Context, store: ContactStateStore, run_id: int, customer: str, group_service: str,
              mode: Mode, max_calls: Optional[int], yes: bool, limit: RateLimit, started: float) -> None:
    figures: dict[str, Any] = {}
    status, error = "failed", None
    with open_client(ctx) as api:
        applier = ContactApplier(api, store, customer, group_service)
        try:
            figures["reconciled"] = applier.reconcile_inflight()
            plan = plan_changes(store, customer, group_service, mode is Mode.mirror)
            figures.update(source_rows=plan.source_rows, creates=plan.creates, updates=plan.updates,
                           deletes=plan.deletes, unchanged=plan.unchanged)
            console.print(plan_table(plan, 0, limit, f"Sync run {run_id}: {customer}/{group_service} ({mode.value})"))
            if plan.deletes and not yes:
                _confirm_deletes(plan.deletes)
            store.write_journal(run_id, customer, group_service)
            figures["rejected"] = store.save_rejected_rows(run_id, customer, group_service)
            budget = None if max_calls is None else max(0, max_calls - api.stats.calls)  # reads count too
            with ApplyProgress(console, plan.operations if budget is None else min(budget, plan.operations)) as progress:
                api.on_wait = progress.waiting
                tally = applier.apply(store.planned_ops(run_id), budget, progress.advance)
            figures.update(applied=tally.done, rejected=figures["rejected"] + tally.rejected, failed=0)
            status = "partial" if tally.call_budget_reached else "completed"
        except StopRun as exc:
            error = str(exc)
            figures["failed"] = 1
        finally:
            store.finish_run(run_id, status, error=error, calls=api.stats.calls, retries=api.stats.retries,
                             throttled=api.stats.throttled, waited_s=api.stats.waited_seconds,
                             duration_s=time.monotonic() - started, **figures)
    stdout.print(run_table(store.run_record(run_id)))
    _show_rejected(store, run_id)
    if status == "failed":
        _fail(f"stopped: {error}; what is left is resumed by the next run", EXIT_FAILURE)
    if status == "partial":
        left = store.count("SELECT count(*) FROM contact_ops WHERE run_id = ? AND status = 'planned'", [run_id])
        stdout.print(f"--max-calls reached: {left} operations left for the next run.")


def _confirm_deletes(count: int) -> None:
    if not console.is_terminal:
        _fail(f"the plan deletes {count} contacts: confirm with --yes to run without a terminal")
    if not typer.confirm(f"Delete {count} contacts that left the CRM?", default=False):
        raise typer.Exit(EXIT_FAILURE)


def _show_rejected(store: ContactStateStore, run_id: int) -> None:
    table = rejected_table(store, run_id)
    if table is not None:
        stdout.print(table)


@app.command("delete-all")
def delete_all(
    ctx: typer.Context,
    customer: str = CUSTOMER_OPTION,
    group_service: str = GROUP_OPTION,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    state: Optional[str] = STATE_OPTION,
) -> None:
    """Delete EVERY contact of a group service (DeleteAllGroupContacts) and forget this tool's state for it."""
    if not yes:
        if not console.is_terminal:
            _fail("delete-all needs --yes when run without a terminal")
        typer.confirm(f"Delete ALL contacts of {customer}/{group_service}?", default=False, abort=True)
    settings = settings_from(ctx)
    with _open_store(state, settings.data_dir) as store:
        with open_client(ctx) as api:
            api.delete_all_group_contacts(customer, group_service)
        store.clear_group(customer, group_service)
    stdout.print(f"Deleted all contacts of {customer}/{group_service}; the sync state of that group is cleared.", markup=False)
