"""Where a contact-sync test keeps its state: a DuckDB file, or a fresh PostgreSQL database of its own."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pytest
import sqlalchemy

from .crm import POSTGRES_URL_ENV


@contextmanager
def postgres_state_database() -> Iterator[str]:
    """A fresh database `<test database>_<random>` on the test server (dropped afterwards); skips when unset."""
    base_url = os.environ.get(POSTGRES_URL_ENV)
    if not base_url:
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    base = sqlalchemy.make_url(base_url)
    name = f"{base.database or 'sdsync'}_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(base_url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


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
