"""`sdsync demo`: try every flow on the emulator and DuckDB, no account needed."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ..demo import DemoFailed, DemoPlan, run_demo
from ..runtime import EXIT_FAILURE, console


def demo(
    data_dir: Path = typer.Option(Path("data/demo"), help="Folder for the demo's files; emptied first."),
    contacts: int = typer.Option(2000, min=10, help="Contacts in the sample CRM."),
    recipients: int = typer.Option(300, min=1, help="Recipients of the sample campaign."),
) -> None:
    """Start the emulator and receiver, sync a sample CRM, send a campaign, pull, and print the report."""
    try:
        run_demo(DemoPlan(data_dir=data_dir, contacts=contacts, recipients=recipients))
    except DemoFailed as exc:
        console.print(f"[red]demo failed:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILURE) from None
