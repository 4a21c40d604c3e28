"""Test helpers for the pull: where it loads (DuckDB file or PostgreSQL database) and how to look there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy
from smartdialog_sync.pipelines.pull_pipeline import PullOptions, PullResult, run_pull

from smartdialog_sync.api import resolve_settings
from tests.postgres import postgres_database

UNREACHABLE_API = "http://127.0.0.1:9/api-integrations/v1"


class Destination:
    """A pull destination and a way to query what was loaded there."""

    def __init__(self, kind: str, data_dir: Path, url: str | None = None) -> None:
        self.kind = kind
        self.data_dir = data_dir
        self.url = url

    def options(self, **more: Any) -> PullOptions:
        """PullOptions loading into this destination."""
        return PullOptions(destination=self.kind, credentials=self.url, **more)

    def cli_args(self) -> list[str]:
        """The `sdsync pull` flags for this destination."""
        return ["--destination", self.kind] + (["--credentials", self.url] if self.url else [])

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of `sql` (tables are qualified with the dataset, e.g. smartdialog.inbound_messages)."""
        if self.kind == "duckdb":
            with duckdb.connect(str(self.data_dir / "sdsync.duckdb"), read_only=True) as conn:
                return conn.execute(sql).fetchall()
        engine = sqlalchemy.create_engine(self.url, poolclass=sqlalchemy.pool.NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sqlalchemy.text(sql))]
        finally:
            engine.dispose()


@pytest.fixture(params=["duckdb", "postgres"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Destination]:
    """A DuckDB file in the data dir, then a fresh PostgreSQL database (when SDSYNC_TEST_POSTGRES_URL is set)."""
    data_dir = tmp_path / "data"
    if request.param == "duckdb":
        yield Destination("duckdb", data_dir)
    else:
        for url in postgres_database():
            yield Destination("postgres", data_dir, url)


def pull(data_dir: Path, options: PullOptions, base_url: str = UNREACHABLE_API) -> PullResult:
    """Run the pull pipeline in this process."""
    return run_pull(options, resolve_settings(data_dir=str(data_dir), base_url=base_url))
