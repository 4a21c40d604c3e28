"""`sdsync demo`: try every flow on the emulator and DuckDB, no account needed."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    data_dir: Path = typer.Option(Path("data/demo"), help="Folder for the demo's files; emptied first."),
    contacts: int = typer.Option(2000, min=10, help="Contacts in the sample CRM."),
    recipients: int = typer.Option(300, min=1, help="Recipients of the sample campaign."),
) -> None:
    """Start the emulator and receiver, sync a sample CRM, send a campaign, pull, and print the report."""
    from ..demo import DemoPlan, run_demo

    run_demo(DemoPlan(data_dir=data_dir, contacts=contacts, recipients=recipients))
