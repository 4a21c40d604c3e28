"""`sdsync report`: analytics over the pulled dataset, as tables on the terminal and optionally one HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from smartdialog_sync.constants import DEFAULT_DATASET
from smartdialog_sync.state.files import DATASET_FILE as DUCKDB_FILE_NAME
from smartdialog_sync.errors import UsageError

from ..runtime import console, data_dir_from, stdout

DEFAULT_LIMIT = 100


def report(
    ctx: typer.Context,
    duckdb_path: Optional[Path] = typer.Option(
        None, "--duckdb", help=f"The pulled DuckDB file; default <data_dir>/{DUCKDB_FILE_NAME}."
    ),
    dataset: str = typer.Option(DEFAULT_DATASET, "--dataset", help="Dataset (schema) the pull loaded into."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the report as one self-contained HTML page."),
    limit: int = typer.Option(DEFAULT_LIMIT, "--limit", min=1, help="Most rows shown per section (table and chart)."),
) -> None:
    """Traffic per day, delivery funnel, reply and opt-out rates per campaign, contacts with failed messages."""
    from smartdialog_sync.destinations.campaigns.config import resolve_campaign_settings
    from smartdialog_sync.pipelines.reporting import open_dataset, run_sections
    from smartdialog_sync.pipelines.reporting.page import render_page
    from smartdialog_sync.pipelines.reporting.tables import print_report

    path = duckdb_path or data_dir_from(ctx) / DUCKDB_FILE_NAME
    stop_keywords = resolve_campaign_settings().stop_keywords
    if html is not None and not html.parent.is_dir():
        raise UsageError(f"no folder {html.parent} for the HTML file")
    with open_dataset(path, dataset) as opened:
        results = run_sections(opened, stop_keywords)
        page = render_page(opened, results, limit) if html is not None else None
        print_report(stdout, opened, results, limit)
    if html is not None and page is not None:
        temporary = html.with_name(html.name + ".tmp")
        temporary.write_text(page, encoding="utf-8")
        temporary.replace(html)
        console.print(f"HTML report written to {html}", markup=False)
