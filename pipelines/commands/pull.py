"""`sdsync pull`: SmartDialog data and the receiver's journal into DuckDB, PostgreSQL or another dlt destination.

Light at import (the CLI imports every command): dlt and the pipeline are imported when the command runs.
"""

from __future__ import annotations

from typing import Optional

import typer

from smartdialog_sync.constants import DEFAULT_DATASET
from smartdialog_sync.state.files import DATASET_FILE as DUCKDB_FILE_NAME

from ..runtime import Overrides, console, stdout, unchecked_settings


def pull(
    ctx: typer.Context,
    destination: str = typer.Option(
        "duckdb", help=f"dlt destination: duckdb (default file <data-dir>/{DUCKDB_FILE_NAME}), postgres, ..."
    ),
    dataset: str = typer.Option(DEFAULT_DATASET, help="Dataset (schema) name at the destination."),
    resources: Optional[list[str]] = typer.Option(
        None, "--resources", "-r", help="Resources to pull (repeat or comma-separate); all when left out."
    ),
    max_calls: Optional[int] = typer.Option(
        None,
        min=0,
        help="Most GetGroupContact calls in this run, each one of the rate limit's calls "
        "(default 50, or SOURCES__SMARTDIALOG__MAX_CALLS).",
    ),
    journal: Optional[str] = typer.Option(
        None, help="The receiver's journal: SQLite path or postgresql://... (default the state's: state_url, else "
        "<data-dir>/journal.sqlite)"
    ),
    credentials: Optional[str] = typer.Option(
        None, help="Destination credentials/URL (or the file for duckdb). Prefer dlt config or env for passwords."
    ),
    customer: Optional[list[str]] = typer.Option(
        None, "--customer", "-c", help="Customers to read account data for; all of the credentials' when left out."
    ),
    phone: Optional[list[str]] = typer.Option(
        None, "--phone", help="Phones whose group contacts to read (with --group-customer and --group-service)."
    ),
    phones_query: Optional[str] = typer.Option(
        None, help="SQL returning phone[, customer, group_service] for the group contacts to read..."
    ),
    phones_url: Optional[str] = typer.Option(None, help="...over this SQLAlchemy URL."),
    group_customer: Optional[str] = typer.Option(None, help="Customer of the group service to read contacts from."),
    group_service: Optional[str] = typer.Option(None, help="Group service to read contacts from."),
    ledger: Optional[str] = typer.Option(
        None, help="Campaign ledger: SQLite path, sqlite:/// or postgresql:// URL (default the state_url, else "
        "<data-dir>/campaigns.sqlite)."
    ),
    transform: bool = typer.Option(
        False, "--transform", help="Then build the dbt package's marts in <dataset>_analytics (needs the [dbt] extra)."
    ),
) -> None:
    """Pull inbound messages, delivery reports, account data, group contacts and sent messages.

    Rows already loaded are merged on their keys, so a pull that was killed can simply be run again.
    The dlt pipeline and its working folder are printed at the end, for `dlt pipeline NAME info`.
    """
    from rich.markup import escape
    from rich.table import Table

    from ..alerts.outcomes import alerted_pull
    from ..progress.pull import ConsolePullProgress
    from ..pull_pipeline import PullOptions, run_pull

    overrides = ctx.find_object(Overrides)
    options = PullOptions(
        destination=destination,
        dataset=dataset,
        resources=[name.strip() for value in resources or [] for name in value.split(",") if name.strip()],
        credentials=credentials,
        journal_url=journal,
        max_calls=max_calls,
        settings={key: str(value) for key, value in (overrides.values if overrides else {}).items() if value is not None},
        source_options={
            "customers": customer or None,
            "group_phones": phone or None,
            "group_phones_query": phones_query,
            "group_phones_url": phones_url,
            "group_customer": group_customer,
            "group_service": group_service,
            "ledger_path": ledger,
        },
        transform=transform,
    )
    with ConsolePullProgress(console) as progress:
        result = alerted_pull(unchecked_settings(ctx), lambda: run_pull(options, None, progress))
    table = Table(title="Rows loaded", caption=escape(f"{destination} dataset {dataset}"))
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in sorted(result.rows.items()):
        table.add_row(escape(name), f"{rows:,}")
    stdout.print(table if result.rows else "nothing new to load")
    stdout.print(f"pipeline {result.pipeline_name} in {result.pipelines_dir}; inspect it with:", markup=False,
                 highlight=False, soft_wrap=True)
    stdout.print(f"  {result.dlt_command('info')}", markup=False, highlight=False, soft_wrap=True)
    if result.transform is not None:
        stdout.print(f"dbt built {len(result.transform.models)} models in {result.transform.schema}", markup=False,
                     highlight=False)
