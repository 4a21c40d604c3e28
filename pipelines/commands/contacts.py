"""`sdsync contacts ...`: reverse sync of CRM contacts into a SmartDialog group service."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from smartdialog_sync.errors import UsageError

from ..runtime import console, settings_from, stdout, unchecked_settings

app = typer.Typer(help="Sync CRM contacts into SmartDialog group services (only the calls needed, each once).",
                  no_args_is_help=True)

CUSTOMER_OPTION = typer.Option(..., "--customer", "-c", help="Customer id (see `sdsync api customers`).")
GROUP_OPTION = typer.Option(..., "--group-service", "-g", help="Group service id (see `sdsync api services --type Group`).")
STATE_OPTION = typer.Option(
    None, "--state", help="The contact-sync state: a DuckDB file (path or duckdb:/// URL) or a postgresql:// URL; "
                          "default the configured state_url, else <data dir>/contacts_state.duckdb."
)


class Mode(str, Enum):
    """upsert: create and update. mirror: also delete managed contacts that left the CRM. create-only: never
    update a contact that exists. update-only: never create (rows without a contact are reported no_contact)."""

    upsert = "upsert"
    mirror = "mirror"
    create_only = "create-only"
    update_only = "update-only"


def _confirm_deletes(count: int) -> bool:
    if not console.is_terminal:
        raise UsageError(f"the plan deletes {count} contacts: confirm with --yes to run without a terminal")
    return typer.confirm(f"Delete {count} contacts that left the CRM?", default=False)


@app.command(short_help="Create, update (mirror: delete) contacts to match the CRM.")
def sync(
    ctx: typer.Context,
    source: str = typer.Option(..., "--source", help="SQLAlchemy URL of the CRM (postgresql://, sqlite:///, duckdb:///)."),
    query: Optional[str] = typer.Option(None, "--query", help="SQL selecting the contacts."),
    table: Optional[str] = typer.Option(None, "--table", help="Table (or schema.table) holding the contacts."),
    sql_file: Optional[Path] = typer.Option(None, "--sql-file", help="File with the SQL selecting the contacts."),
    customer: str = CUSTOMER_OPTION,
    group_service: str = GROUP_OPTION,
    mode: Mode = typer.Option(
        Mode.upsert, "--mode",
        help="upsert (create and update); mirror (also delete the contacts it manages that left the CRM, asked or "
             "--yes); create-only (never update a contact that exists); update-only (never create: rows without a "
             "contact are reported with reason no_contact)."),
    default_region: str = typer.Option("FI", "--default-region", help="Region of national phone numbers without a region column."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show and store the plan; send nothing."),
    max_calls: Optional[int] = typer.Option(None, "--max-calls", min=1, help="Stop after about this many API calls (resume next run)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before deleting contacts in mirror mode."),
    state: Optional[str] = STATE_OPTION,
    key: Optional[str] = typer.Option(None, "--key", help="Column identifying a CRM row in reports; default the phone column."),
    mapping_options: list[str] = typer.Option([], "--map", help="CRM_COLUMN=field, e.g. mobile=phone (repeatable)."),
    custom_properties: list[str] = typer.Option([], "--custom-property", help="Column sent as a customContactProperty (repeatable)."),
    workers: int = typer.Option(4, "--workers", min=1, max=16, help="Calls in parallel (the rate limit still applies)."),
    wait: bool = typer.Option(False, "--wait", help="Wait for a sync of the same group running elsewhere, instead of exiting 1."),
) -> None:
    """Create, update (and in mirror mode delete) group contacts so the group matches the CRM.

    Before its plan, a run against a group the state holds no contact of checks that the group service is a
    Group service of the customer (one call): if not, it exits 2 naming the customer's services. CRM columns
    that map to no contact field are listed in the plan, with the --map or --custom-property that would send them.
    """
    from smartdialog_sync.destinations.contacts.sync import (
        ContactSyncOptions,
        check_state_option,
        configured_mapping,
        run_contact_sync,
    )
    from smartdialog_sync.pipelines.alerts import alerting
    from smartdialog_sync.pipelines.alerts.outcomes import (
        contact_sync_outcome,
        contacts_subject,
    )

    from ..progress.contacts import ConsoleSyncProgress

    check_state_option(state)  # before anything is created
    settings = settings_from(ctx)
    options = ContactSyncOptions(
        source=source, customer=customer, group_service=group_service, query=query, table=table, sql_file=sql_file,
        mode=mode.value, default_region=default_region, dry_run=dry_run, max_calls=max_calls, allow_deletes=yes,
        state=state, wait=wait, key=key, mapping=configured_mapping(mapping_options), custom_properties=tuple(custom_properties),
        workers=workers,
    )
    progress = ConsoleSyncProgress(console, stdout, settings.rate_limit, dry_run=dry_run, confirm=_confirm_deletes)
    with alerting(settings, "contacts", contacts_subject(customer, group_service), dry_run=dry_run) as watch:
        result = run_contact_sync(settings, options, progress)
        watch.outcome = contact_sync_outcome(customer, group_service, result)


@app.command("forget", short_help="Forget the sync state of a group abandoned for good (no API call).")
def forget(
    ctx: typer.Context,
    customer: str = CUSTOMER_OPTION,
    group_service: str = GROUP_OPTION,
    state: Optional[str] = STATE_OPTION,
) -> None:
    """Forget everything this tool knows about a group it no longer syncs: its runs, planned, in-flight and
    interrupted ops, rejected rows and field warnings. The group's contacts at SmartDialog stay as they are;
    a later sync of the group starts afresh (and `sdsync status` stops showing it)."""
    from smartdialog_sync.destinations.contacts.sync import (
        check_state_option,
        forget_group,
    )

    from smartdialog_sync.datadir import private_data_dir

    check_state_option(state)
    settings = unchecked_settings(ctx)
    private_data_dir(settings.data_dir)  # the runner lock's folder is created private
    forget_group(settings, customer, group_service, state)
    stdout.print(f"Forgot the sync state of {customer}/{group_service}; its contacts at SmartDialog are unchanged.",
                 markup=False, highlight=False)


@app.command("delete-all", short_help="Delete EVERY contact of a group service (asks first).")
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
            raise UsageError("delete-all needs --yes when run without a terminal")
        typer.confirm(f"Delete ALL contacts of {customer}/{group_service}?", default=False, abort=True)
    from smartdialog_sync.destinations.contacts.sync import (
        check_state_option,
        delete_all_contacts,
    )

    check_state_option(state)
    delete_all_contacts(settings_from(ctx), customer, group_service, state)
    stdout.print(f"Deleted all contacts of {customer}/{group_service}; the sync state of that group is cleared.")
