"""`sdsync pull --transform`: the dbt package transformations/dbt_smartdialog on the dataset a pull loaded,
run with dlt's dbt runner (`dlt.dbt.package`) in the current environment (the `[dbt]` extra).

The package is copied into the pipeline's working folder first, so dbt's `target/` and logs never land in
the installed package. Marts go to the schema `<dataset>_analytics` beside the pulled dataset.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

import dlt

from smartdialog_sync.errors import EXIT_FAILURE, SdsyncError, UsageError

PACKAGE_NAME = "dbt_smartdialog"
ANALYTICS_SUFFIX = "_analytics"
OWN_PROFILES = ("duckdb", "postgres")  # dlt's duckdb profile loads extensions it would download


class TransformFailed(SdsyncError):
    """A dbt model or test failed (the message names the first one)."""

    exit_code = EXIT_FAILURE


@dataclass
class TransformResult:
    """The models dbt ran and the schema they are in."""

    schema: str
    models: list[str]


def analytics_schema(dataset: str) -> str:
    """The schema the marts of `dataset` are built in."""
    return dataset + ANALYTICS_SUFFIX


def run_transform(pipeline: dlt.Pipeline) -> TransformResult:
    """Run the dbt package on `pipeline`'s dataset (`dbt run`, then its tests), marts in `<dataset>_analytics`."""
    try:
        import dbt.version  # noqa: F401
    except ImportError:
        raise UsageError("--transform needs dbt: pip install 'smartdialog-sync[dbt]'") from None
    from dlt.helpers.dbt.exceptions import DBTProcessingError, PrerequisitesException

    working = Path(pipeline.working_dir) / PACKAGE_NAME
    with as_file(files("smartdialog_sync.transformations").joinpath(PACKAGE_NAME)) as package:
        shutil.rmtree(working, ignore_errors=True)
        shutil.copytree(package, working, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    if pipeline.destination.destination_type.rsplit(".", 1)[-1] in OWN_PROFILES:
        dlt.config["dbt_package_runner.package_profiles_dir"] = str(working)
    schema = analytics_schema(pipeline.dataset_name)
    runner = dlt.dbt.package(pipeline, str(working))
    variables = {"smartdialog_schema": pipeline.dataset_name}
    try:  # `run` then `test` (the package has no dependencies or seeds for run_all's deps and seed steps)
        results = runner.run(["--fail-fast"], variables, schema)
        runner.test(additional_vars=variables, destination_dataset_name=schema)
    except (DBTProcessingError, PrerequisitesException) as exc:
        failed = [f"{r.model_name}: {r.message}" for r in getattr(exc, "run_results", None) or [] if r.status not in ("success", "pass")]
        raise TransformFailed(f"dbt failed: {failed[0] if failed else str(exc).splitlines()[0]}") from None
    return TransformResult(schema, [result.model_name for result in results])
