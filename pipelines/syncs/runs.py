"""The runs of declared syncs: `sdsync_sync_runs` in the state (a SQLite file in the data dir, or the shared
PostgreSQL), so that `sdsync syncs list` shows each sync's last run on every machine sharing the state.

A run is recorded as `running` before its job starts and gets its outcome when it ends: a run killed part
way stays `running` (its job resumes on the next run; the record of that next run tells how it ended).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from smartdialog_sync.sqlfiles import read_named_sql
from smartdialog_sync.state.engines import open_store, store_transaction
from smartdialog_sync.state.location import StateLocation


@dataclass(frozen=True)
class RunRecord:
    """One recorded run of a declared sync."""

    name: str
    kind: str
    run_key: str | None
    started_at: str
    finished_at: str | None
    status: str  # running | completed | partial | failed
    summary: str | None


def utc_now() -> str:
    """Now as ISO 8601 UTC, to the second (the stamps of run records)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class SyncRuns:
    """The run records at one state location (see `StateLocation.sync_runs`)."""

    def __init__(self, target: str | Path) -> None:
        self._target = target
        self._sql = read_named_sql("sync_runs.sql")
        self._engine: Any = None  # opened by the first transaction: reading an absent file creates nothing

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A transaction, the table created first; StateUnavailable (exit 1) when the database fails."""
        if self._engine is None:
            dialect = "sqlite" if isinstance(self._target, Path) else "postgres"
            self._engine = open_store(self._target, self._sql[f"schema_{dialect}"])
        with store_transaction(self._engine, self._target) as connection:
            yield connection

    def start(self, name: str, kind: str, run_key: str | None, started_at: str | None = None) -> int:
        """Record that a run starts (now, unless `started_at` says when); its id, for `finish`."""
        import sqlalchemy as sa

        with self._transaction() as connection:
            values = {"name": name, "kind": kind, "run_key": run_key, "started_at": started_at or utc_now()}
            return int(connection.execute(sa.text(self._sql["start"]), values).scalar_one())

    def finish(self, run_id: int, status: str, summary: str) -> None:
        """Record how run `run_id` ended."""
        import sqlalchemy as sa

        with self._transaction() as connection:
            values = {"id": run_id, "finished_at": utc_now(), "status": status, "summary": summary}
            connection.execute(sa.text(self._sql["finish"]), values)

    def last_runs(self) -> dict[str, RunRecord]:
        """The latest run of each sync, by name (nothing is created for a state without records)."""
        import sqlalchemy as sa

        if isinstance(self._target, Path) and not self._target.exists():
            return {}
        with self._transaction() as connection:
            rows = connection.execute(sa.text(self._sql["last_runs"])).all()
        return {row[0]: RunRecord(*row) for row in rows}

    def close(self) -> None:
        """Close the database connections."""
        if self._engine is not None:
            self._engine.dispose()


@contextmanager
def open_sync_runs(state: StateLocation) -> Iterator[SyncRuns]:
    """The run records of `state` (the table is created by the first write)."""
    runs = SyncRuns(state.sync_runs())
    try:
        yield runs
    finally:
        runs.close()
