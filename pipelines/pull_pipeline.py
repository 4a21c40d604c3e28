"""The pull pipeline: the `smartdialog` source into DuckDB (default), PostgreSQL or any dlt destination."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import dlt
from dlt.common.pipeline import LoadInfo, NormalizeInfo

from smartdialog_sync.sources.smartdialog import smartdialog
from smartdialog_sync.api import ClientSettings
from smartdialog_sync.constants import DEFAULT_DATASET, DUCKDB_FILE_NAME

PIPELINES_DIR_NAME = "pipelines"
STEPS = ("extract", "normalize", "load")


@dataclass
class PullOptions:
    """What to pull where. `source_options` are passed to the `smartdialog` source as they are."""

    destination: str = "duckdb"
    dataset: str = DEFAULT_DATASET
    resources: list[str] = field(default_factory=list)
    credentials: Optional[str] = None
    journal_url: Optional[str] = None
    max_calls: Optional[int] = None
    source_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class PullResult:
    """Rows loaded per table, and the load packages completed (a left-over one included)."""

    rows: Counter[str] = field(default_factory=Counter)
    packages: int = 0


def _destination(options: PullOptions, data_dir: Path) -> Any:
    if options.destination == "duckdb":
        return dlt.destinations.duckdb(options.credentials or str(data_dir / DUCKDB_FILE_NAME))
    if options.destination == "postgres":
        return dlt.destinations.postgres(credentials=_postgres_credentials(options.credentials)) if options.credentials else "postgres"
    return options.destination


def _postgres_credentials(url: str) -> Any:
    """dlt's credentials for a SQLAlchemy URL; a URL without a password (trust, .pgpass) is allowed."""
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    scheme, rest = url.split("://", 1)
    credentials = PostgresCredentials(scheme.split("+", 1)[0] + "://" + rest)
    if credentials.password is None:
        credentials.password = ""
    return credentials


def make_pipeline(options: PullOptions, data_dir: Path) -> dlt.Pipeline:
    """The dlt pipeline for a destination and dataset; its state lives in <data_dir>/pipelines."""
    return dlt.pipeline(
        pipeline_name=f"smartdialog_pull_{options.destination}_{options.dataset}",
        destination=_destination(options, data_dir),
        dataset_name=options.dataset,
        pipelines_dir=str(Path(data_dir) / PIPELINES_DIR_NAME),
    )


def make_source(
    options: PullOptions, settings: ClientSettings, on_wait: Optional[Callable[[float, str], None]] = None
) -> Any:
    """The `smartdialog` source, restricted to `options.resources` when given."""
    source = smartdialog(
        journal_url=options.journal_url,
        settings=settings,
        max_calls=options.max_calls,
        on_wait=on_wait,
        **options.source_options,
    )
    if options.resources:
        unknown = set(options.resources) - set(source.resources)
        if unknown:
            raise ValueError(f"unknown resource(s): {', '.join(sorted(unknown))}; known: {', '.join(source.resources)}")
        source = source.with_resources(*options.resources)
    return source


def _count(result: PullResult, info: Optional[NormalizeInfo]) -> None:
    if info is None:
        return
    for table, rows in info.row_counts.items():
        if not table.startswith("_dlt"):
            result.rows[table] += rows


def _count_rows(source: Any, on_rows: Callable[[str, int], None]) -> None:
    for name, resource in source.selected_resources.items():

        def count(item: Any, name: str = name) -> Any:
            on_rows(name, item.num_rows if hasattr(item, "num_rows") else len(item) if isinstance(item, list) else 1)
            return item

        resource.add_map(count)


def run_pull(
    options: PullOptions,
    settings: ClientSettings,
    on_step: Callable[[str], None] = lambda step: None,
    on_rows: Optional[Callable[[str, int], None]] = None,
    on_wait: Optional[Callable[[float, str], None]] = None,
) -> PullResult:
    """Finish any load package a killed run left, then extract, normalize and load new data.

    `on_step` hears each step as it starts, `on_rows` the rows each resource yields, `on_wait` the API
    client's waits for the rate limit. Raises dlt's
    PipelineStepFailed (its `.step` names the failing step).
    """
    pipeline = make_pipeline(options, settings.data_dir)
    result = PullResult()
    if pipeline.has_pending_data:
        on_step("normalize")
        _count(result, pipeline.normalize())
        on_step("load")
        result.packages += _loaded(pipeline.load())
    source = make_source(options, settings, on_wait)
    if on_rows is not None:
        _count_rows(source, on_rows)
    on_step("extract")
    pipeline.extract(source)
    on_step("normalize")
    _count(result, pipeline.normalize())
    on_step("load")
    result.packages += _loaded(pipeline.load())
    return result


def _loaded(info: LoadInfo) -> int:
    return len(info.loads_ids)
