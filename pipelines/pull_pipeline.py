"""The pull pipeline: the `smartdialog` source into DuckDB (default), PostgreSQL or any dlt destination.

The dlt pipeline is named after where it loads: `smartdialog_pull_<destination>_<dataset>_<digest>`, the
digest covering the destination's location (DuckDB file, database URL without its password, bucket).
Another DuckDB file or database is another pipeline with its own incremental state. Its working folder
is `<data_dir>/pipelines/<name>`, so `dlt pipeline --pipelines-dir <data_dir>/pipelines <name> info`
shows it.

One pull of a pipeline runs at a time in a data dir (a file lock beside its working folder). Each pull
first removes what a killed extract left: dlt writes a new package in `normalize/<random>/<load_id>` and
moves it to `normalize/extracted/` only when the extract is complete (with the incremental state), so
any other folder under `normalize/` belongs to an extract that died, and no later run reads it.
"""

from __future__ import annotations

import hashlib
import shlex
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import dlt
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigurationException,
)
from dlt.common.configuration.specs import ConnectionStringCredentials
from dlt.common.destination import Destination
from dlt.common.destination.exceptions import DestinationException
from dlt.common.pipeline import LoadInfo, NormalizeInfo
from dlt.common.storages import NormalizeStorage
from dlt.pipeline.exceptions import PipelineStepFailed
from filelock import FileLock, Timeout
from smartdialog_sync.sources.smartdialog import (
    configured_journal,
    configured_settings,
    smartdialog,
)

from smartdialog_sync.api import ClientSettings
from smartdialog_sync.constants import DEFAULT_DATASET
from smartdialog_sync.datadir import private_data_dir
from smartdialog_sync.errors import EXIT_FAILURE, SdsyncError, UsageError
from smartdialog_sync.progress import Progress
from smartdialog_sync.state.files import DATASET_FILE as DUCKDB_FILE_NAME
from smartdialog_sync.state.files import PIPELINES_DIR, PULL_PIPELINE_PREFIX

from smartdialog_sync.destination_credentials import (
    configured_postgres_credentials,
    postgres_credentials,
)
from .journal_marks import record_pull_marks
from .last_pull import PullTarget, save_last_pull
from .transform import TransformResult, run_transform

__all__ = [
    "DEFAULT_DATASET", "DUCKDB_FILE_NAME", "PullFailed", "PullOptions", "PullProgress", "PullResult", "make_pipeline",
    "run_pull",
]


@dataclass
class PullOptions:
    """What to pull where.

    `settings` are connection settings given by the caller (the CLI's --base-url, --data-dir, ...): they
    win over [sources.smartdialog], which wins over [smartdialog]. `max_calls` None leaves the call budget
    to the config (default 50). `source_options` are passed to the `smartdialog` source as they are. `transform`
    runs the dbt package (transformations/dbt_smartdialog) on the dataset after a load without failed jobs.
    """

    destination: str = "duckdb"
    dataset: str = DEFAULT_DATASET
    resources: list[str] = field(default_factory=list)
    credentials: Optional[str] = None
    journal_url: Optional[str] = None
    max_calls: Optional[int] = None
    settings: dict[str, Any] = field(default_factory=dict)
    schema_contract: Optional[str] = None
    source_options: dict[str, Any] = field(default_factory=dict)
    transform: bool = False


@dataclass
class PullResult:
    """Rows loaded per table, the load packages completed (a left-over one included), and the pipeline."""

    rows: Counter[str] = field(default_factory=Counter)
    packages: int = 0
    pipeline_name: str = ""
    pipelines_dir: Optional[Path] = None
    transform: Optional[TransformResult] = None

    def dlt_command(self, subcommand: str = "info") -> str:
        """The `dlt pipeline` command line that inspects this pull's pipeline (info, trace, schema, ...)."""
        return shlex.join(["dlt", "pipeline", "--pipelines-dir", str(self.pipelines_dir), self.pipeline_name, subcommand])


class PullProgress(Progress):
    """Callbacks of a pull (with `info` and `waiting` of every job). Every method does nothing here: override
    the ones you need."""

    def step(self, name: str) -> None:
        """A step starts: extract, normalize, load (or transform)."""

    def rows(self, resource: str, count: int) -> None:
        """`resource` yielded `count` more rows during the extract."""


class PullBusy(SdsyncError):
    """Another pull of the same pipeline is running in this data dir."""


class PullFailed(SdsyncError):
    """A step of the pull failed; `step` names it. Exits like the error that caused it (1 by default);
    a failure that is not a usage error names the `dlt pipeline` command that shows what happened."""

    def __init__(self, step: str, cause: BaseException, inspect: str, pipeline_name: str = "") -> None:
        lines = [line for line in str(cause).splitlines() if line.strip()]
        self.exit_code = getattr(cause, "exit_code", EXIT_FAILURE)
        hint = f" (details: {inspect})" if self.exit_code == EXIT_FAILURE else ""
        super().__init__(f"pull failed at step {step}: {lines[0] if lines else type(cause).__name__}{hint}")
        self.step = step
        self.pipeline_name = pipeline_name


def duckdb_file(options: PullOptions, data_dir: Path) -> Optional[Path]:
    """The DuckDB file `options` name (absolute; default <data_dir>/sdsync.duckdb), None for other destinations."""
    if options.destination != "duckdb" or (options.credentials is not None and "://" in options.credentials):
        return None
    return Path(options.credentials or data_dir / DUCKDB_FILE_NAME).resolve()


def destination_for(options: PullOptions, data_dir: Path, read_only: bool = False) -> Destination:
    """The dlt destination; a DuckDB file path is made absolute, so that it names one file wherever we run.
    `read_only` opens a DuckDB file read-only (the report); other destinations are only read by what runs on them.

    PostgreSQL credentials (given or configured) may leave out the password: libpq then reads PGPASSWORD or
    ~/.pgpass (see destination_credentials)."""
    credentials: Any = options.credentials
    try:
        path = duckdb_file(options, data_dir)
        if path is not None:
            if not path.parent.is_dir():
                raise UsageError(f"no folder for the DuckDB file {path}")
            from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

            return dlt.destinations.duckdb(DuckDbCredentials(str(path), read_only=read_only))
        destination = Destination.from_reference(options.destination)
        if destination.destination_type.rsplit(".", 1)[-1] == "postgres":
            credentials = (postgres_credentials(credentials) if credentials
                           else configured_postgres_credentials(destination.destination_name))
        return Destination.from_reference(options.destination, credentials=credentials) if credentials else destination
    except DestinationException:
        raise UsageError(
            f"unknown dlt destination {options.destination!r}: give a type such as duckdb or postgres, or configure "
            f"a named destination (DESTINATION__{options.destination.upper()}__DESTINATION_TYPE)"
        ) from None


def destination_location(destination: Destination, dataset: str, pipelines_dir: Path) -> str:
    """Where `destination` loads (URL without password, bucket), after checking its config is complete."""
    initial = destination.spec()
    for name, value in (("dataset_name", dataset), ("local_dir", str(pipelines_dir))):
        if hasattr(initial, name):
            setattr(initial, name, value)
    try:
        config = destination.configuration(initial)
    except ConfigFieldMissingException as exc:
        name = destination.destination_name
        keys = ", ".join(f"DESTINATION__{name.upper()}__{missing.upper()}" for missing in exc.fields)
        flag = " (or --credentials)" if "credentials" in exc.fields else ""
        raise UsageError(f"destination {name} is missing {', '.join(exc.fields)}: set {keys}{flag}") from None
    except ConfigurationException as exc:
        first = str(exc).strip().splitlines()[0]
        raise UsageError(f"destination {destination.destination_name}: {first}") from None
    credentials = getattr(config, "credentials", None)
    url = str(credentials) if isinstance(credentials, ConnectionStringCredentials) else ""  # str() hides the password
    return f"{url}|{getattr(config, 'bucket_url', None) or ''}"


def pipeline_name(options: PullOptions, destination: Destination, pipelines_dir: Path) -> str:
    """`smartdialog_pull_<destination>_<dataset>_<digest of destination type, location and dataset>`."""
    identity = "|".join(
        [destination.destination_type, destination_location(destination, options.dataset, pipelines_dir), options.dataset]
    )
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return f"{PULL_PIPELINE_PREFIX}_{destination.destination_name}_{options.dataset}_{digest}"


def make_pipeline(options: PullOptions, data_dir: Path) -> dlt.Pipeline:
    """The dlt pipeline of a destination and dataset; its working folder is <data_dir>/pipelines/<name>.

    Arrow tables (the journal's) get `_dlt_load_id` like the others (dlt's parquet normalizer option, set
    for this pipeline only).
    """
    private_data_dir(data_dir)
    pipelines_dir = Path(data_dir).resolve() / PIPELINES_DIR
    destination = destination_for(options, Path(data_dir))
    name = pipeline_name(options, destination, pipelines_dir)
    dlt.config[f"{name}.normalize.parquet_normalizer.add_dlt_load_id"] = True
    return dlt.pipeline(
        pipeline_name=name, destination=destination, dataset_name=options.dataset, pipelines_dir=str(pipelines_dir)
    )


def make_source(
    options: PullOptions, settings: Optional[ClientSettings], on_wait: Optional[Callable[[float, str], None]] = None
) -> Any:
    """The `smartdialog` source, restricted to `options.resources` when given."""
    given = {"max_calls": options.max_calls, "journal_url": options.journal_url, **options.source_options}
    # a value left out (None) is not passed: the source then reads it from the config
    source = smartdialog(
        credentials={name: value for name, value in options.settings.items() if value is not None},
        settings=settings, on_wait=on_wait, **{name: value for name, value in given.items() if value is not None}
    )
    if options.resources:
        unknown = set(options.resources) - set(source.resources)
        if unknown:
            raise UsageError(f"unknown resource(s): {', '.join(sorted(unknown))}; known: {', '.join(source.resources)}")
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


def _our_error(exc: BaseException) -> Optional[SdsyncError]:
    """The first error of ours in the chain of causes of `exc` (dlt wraps what a resource raised)."""
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SdsyncError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def run_pull(options: PullOptions, settings: Optional[ClientSettings] = None,
             progress: Optional[PullProgress] = None) -> PullResult:
    """Remove what killed extracts left, finish any load package a killed run left, then extract, normalize
    and load new data. Raises PullBusy when another pull of the same pipeline runs in this data dir.

    `settings` are ready client settings (they replace every connection setting); without them the
    source resolves its own (`options.settings`, [sources.smartdialog], [smartdialog]) when an API
    resource runs. `progress` hears each step as it starts, the rows each resource yields and the API
    client's waits for the rate limit. Raises UsageError for bad options or destination config (before
    anything is extracted) and PullFailed when a step fails.
    """
    data_dir = (settings or configured_settings(options.settings)).data_dir
    pipeline = make_pipeline(options, data_dir)
    with _one_pull_at_a_time(pipeline):
        remove_dead_extracts(pipeline)
        return _run(pipeline, options, settings, progress or PullProgress())


def _run(pipeline: dlt.Pipeline, options: PullOptions, settings: Optional[ClientSettings],
         progress: PullProgress) -> PullResult:
    result = PullResult(pipeline_name=pipeline.pipeline_name, pipelines_dir=Path(pipeline.pipelines_dir))
    try:
        if pipeline.has_pending_data:
            progress.step("normalize")
            _count(result, pipeline.normalize())
            progress.step("load")
            result.packages += _loaded(pipeline.load())
        source = make_source(options, settings, progress.waiting)
        _count_rows(source, progress.rows)
        progress.step("extract")
        pipeline.extract(source, schema_contract=options.schema_contract)
        progress.step("normalize")
        _count(result, pipeline.normalize())
        progress.step("load")
        info = pipeline.load()
        result.packages += _loaded(info)
    except PipelineStepFailed as exc:
        ours = _our_error(exc.exception)
        raise PullFailed(exc.step, ours or exc.exception, result.dlt_command("trace"), pipeline.pipeline_name) from exc
    if not info.has_failed_jobs:  # the journal's pruning may now remove what this pipeline has loaded
        journal = configured_journal(settings, options.journal_url, options.settings)
        record_pull_marks(pipeline, source, journal)
    save_last_pull(Path(pipeline.pipelines_dir), PullTarget(options.destination, options.dataset, options.credentials))
    if options.transform and not info.has_failed_jobs:
        progress.step("transform")
        result.transform = run_transform(pipeline)
    return result


@contextmanager
def _one_pull_at_a_time(pipeline: dlt.Pipeline) -> Iterator[None]:
    """Hold the pipeline's lock file for the pull (the kernel frees it when the process dies)."""
    lock = FileLock(Path(pipeline.pipelines_dir) / f"{pipeline.pipeline_name}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise PullBusy(f"another pull of {pipeline.pipeline_name} is running in {pipeline.pipelines_dir}") from None
    try:
        yield
    finally:
        lock.release()


def remove_dead_extracts(pipeline: dlt.Pipeline) -> list[Path]:
    """Delete the packages killed extracts left under `normalize/` (see the module's docstring); returns them.

    Only call while holding the pipeline's lock: a running extract's folder looks the same.
    """
    normalize_dir = Path(pipeline.working_dir) / "normalize"
    if not normalize_dir.is_dir():
        return []
    dead = [path for path in normalize_dir.iterdir()
            if path.is_dir() and not path.is_symlink() and path.name != NormalizeStorage.EXTRACTED_FOLDER]
    for path in dead:
        shutil.rmtree(path)
    return dead


def _loaded(info: LoadInfo) -> int:
    return len(info.loads_ids)
