"""Where a contact-sync test keeps its state: a DuckDB file, or a fresh PostgreSQL database of its own."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from tests.postgres import postgres_database


postgres_state_database = contextmanager(postgres_database)  # a fresh database of the test server, dropped after


def query_state(state: Path | str, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of `sql` (`?` placeholders) on the state, a DuckDB file or a PostgreSQL URL (read only)."""
    if isinstance(state, Path):
        with duckdb.connect(str(state), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()
    import psycopg

    with psycopg.connect(state) as conn:
        return [tuple(row) for row in conn.execute(sql.replace("?", "%s"), params or []).fetchall()]


def last_run(state: Path | str) -> dict[str, Any]:
    """The newest sync_runs row of the state."""
    if isinstance(state, Path):
        with duckdb.connect(str(state), read_only=True) as con:
            cursor = con.execute("SELECT * FROM sync_runs ORDER BY run_id DESC LIMIT 1")
            names = [column[0] for column in cursor.description]
            return dict(zip(names, cursor.fetchall()[0]))
    import psycopg

    with psycopg.connect(state) as conn:
        cursor = conn.execute("SELECT * FROM sync_runs ORDER BY run_id DESC LIMIT 1")
        return dict(zip([column.name for column in cursor.description], cursor.fetchone()))
