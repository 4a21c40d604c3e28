"""`sdsync report`: analytics on the pulled dataset wherever the pull loaded it, as tables, JSON or one HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from smartdialog_sync.constants import DEFAULT_DATASET
from smartdialog_sync.state.files import DATASET_FILE as DUCKDB_FILE_NAME

from ..runtime import console, data_dir_from, stdout

DEFAULT_LIMIT = 100


def report(
    ctx: typer.Context,
    destination: Optional[str] = typer.Option(
        None, help="dlt destination the pull loaded: duckdb, postgres, ... (default: the last pull's, else duckdb)."
    ),
    credentials: Optional[str] = typer.Option(
        None, help="Destination credentials/URL (or the DuckDB file), as for `sdsync pull`."
    ),
    dataset: Optional[str] = typer.Option(
        None, "--dataset", help=f"Dataset (schema) the pull loaded into (default: the last pull's, else {DEFAULT_DATASET})."
    ),
    duckdb_path: Optional[Path] = typer.Option(
        None, "--duckdb", help=f"A pulled DuckDB file (same as --destination duckdb --credentials FILE); default <data_dir>/{DUCKDB_FILE_NAME}."
    ),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the report as one self-contained HTML page."),
    as_json: bool = typer.Option(False, "--json", help="Print every section's rows as JSON instead of tables."),
    limit: int = typer.Option(DEFAULT_LIMIT, "--limit", min=1, help="Most rows shown per section (table and chart)."),
) -> None:
    """Headline figures, traffic per day, delivery funnel, reply and opt-out rates, scheduled sends and contacts
    with failed messages, read (read-only) where the pull loaded: DuckDB, PostgreSQL or any dlt SQL destination."""
    from smartdialog_sync.destinations.campaigns.config import resolve_campaign_settings
    from smartdialog_sync.pipelines.reporting import build_report

    data_dir = data_dir_from(ctx)
    if duckdb_path is not None:
        destination, credentials = "duckdb", str(duckdb_path)
    written = build_report(
        data_dir, destination, credentials, dataset, resolve_campaign_settings().stop_keywords,
        out=stdout, as_json=as_json, html=html, limit=limit,
    )
    if written is not None:
        console.print(f"HTML report written to {written}", markup=False)
