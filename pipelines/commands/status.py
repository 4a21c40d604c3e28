"""`sdsync status`: what the local stores say, on one screen, without any API call."""

from __future__ import annotations

import json
from typing import Optional

import typer

from smartdialog_sync.errors import SdsyncError

from ..runtime import stdout, unchecked_settings
from .journal import JOURNAL_HELP


def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (for monitoring)."),
    backlog_hours: float = typer.Option(
        24.0, min=0, help="Journal rows waiting longer than this for a pull need attention."
    ),
    campaign_hours: float = typer.Option(
        24.0, min=0, help="A campaign older than this with batches not confirmed sent needs attention."
    ),
    journal: Optional[str] = typer.Option(None, help=JOURNAL_HELP),
    state: Optional[str] = typer.Option(
        None, help="The contact-sync state: a DuckDB file or a postgresql:// URL (default the configured state_url, "
                   "else <data-dir>/contacts_state.duckdb)."
    ),
    ledger: Optional[str] = typer.Option(
        None, help="The campaign ledger: SQLite path, sqlite:/// or postgresql:// URL (default the state_url, "
        "else <data-dir>/campaigns.sqlite)."
    ),
    alert: bool = typer.Option(
        False, "--alert", help="Also raise the [alerts] of the journal's dead letters and backlog (for cron; writes "
        "only the incident store)."
    ),
) -> None:
    """Show the limiter window, the journal, the last pulls, contact syncs, campaigns and webhooks.

    Reads the local stores read-only and makes no API call.

    Exits 1 when something needs attention (one line per reason), 0 otherwise.
    """
    from smartdialog_sync.destinations.contacts.sync import check_state_option
    from smartdialog_sync.pipelines.operations.options import StatusOptions
    from smartdialog_sync.pipelines.operations.render import print_lines, status_lines
    from smartdialog_sync.pipelines.operations.status import collect_status

    check_state_option(state)  # a URL other than postgresql:// exits 2
    settings = unchecked_settings(ctx)  # creates nothing, needs no credentials
    settings.state.ledger(ledger)  # a URL that is neither sqlite:/// nor postgresql:// is refused with exit 2
    options = StatusOptions.from_settings(settings, journal=journal, contacts_state=state, ledger=ledger,
                                          backlog_hours=backlog_hours, campaign_hours=campaign_hours)
    report = collect_status(options)
    if alert:
        from smartdialog_sync.pipelines.alerts import notify

        notify(settings, journal=journal)  # the journal this status read
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        print_lines(stdout, status_lines(report))
    if report["attention"]:
        raise SdsyncError(f"{len(report['attention'])} thing(s) need attention")
