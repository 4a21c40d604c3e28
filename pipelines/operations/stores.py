"""Read-only access to the local stores: never creates a file, never takes a write lock.

SQLite: a file whose write-ahead log is gone (every writer closed it cleanly) holds all its data, so it
is read as `immutable`, which opens no -wal/-shm files; while a writer is active (the -wal exists) it is
read in `mode=ro` through that log. DuckDB files are opened `read_only` (which fails while a writer
holds the file: the caller reports it as busy). PostgreSQL sessions are read-only transactions.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

from smartdialog_sync.sqlfiles import read_named_sql

SQLITE_SIDE_FILES = ("-wal", "-shm")


def statements() -> dict[str, str]:
    """The named statements of sql/status.sql."""
    return read_named_sql("status.sql")


def sqlite_path(location: str | Path) -> Path:
    """The file of a SQLite path or sqlite:/// URL."""
    text = str(location)
    return Path(text[len("sqlite:///") :] if text.startswith("sqlite:///") else text)


def disk_size(path: Path) -> int:
    """Bytes of a SQLite file with its write-ahead log and shared-memory file."""
    return sum(part.stat().st_size for part in (path, *(Path(f"{path}{s}") for s in SQLITE_SIDE_FILES)) if part.exists())


@contextmanager
def sqlite_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to an existing SQLite file (see the module docstring)."""
    immutable = not Path(f"{path}-wal").exists()
    uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if immutable else "")
    connection = sqlite3.connect(uri, uri=True, timeout=5)
    try:
        yield connection
    finally:
        connection.close()


def sqlite_tables(connection: sqlite3.Connection) -> set[str]:
    """The table names of a SQLite database."""
    return {name for (name,) in connection.execute(statements()["sqlite_tables"])}


@contextmanager
def postgres_readonly(url: str, connect_timeout: int = 5) -> Iterator[Any]:
    """A SQLAlchemy connection to PostgreSQL whose transactions are read-only."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(
        url.replace("postgres://", "postgresql://", 1),
        poolclass=sqlalchemy.pool.NullPool,
        connect_args={"connect_timeout": connect_timeout, "options": "-c default_transaction_read_only=on"},
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def postgres_tables(connection: Any) -> set[str]:
    """The table names in the connection's current schema."""
    import sqlalchemy

    return {name for (name,) in connection.execute(sqlalchemy.text(statements()["postgres_tables"]))}


def count_rows(execute: Any, table: str) -> int:
    """Rows of `table`, a name read from the store's own table list (never user input)."""
    quoted = '"' + table.replace('"', '""') + '"'
    return int(execute(f"SELECT count(*) FROM {quoted}")[0][0])


@contextmanager
def duckdb_readonly(path: Path) -> Iterator[Any]:
    """A read-only DuckDB connection; raises duckdb.IOException while a writer holds the file."""
    import duckdb

    connection = duckdb.connect(str(path), read_only=True)
    try:
        yield connection
    finally:
        connection.close()


def guarded(read: Callable[..., Any], *args: Any, on_error: Callable[[str], Any]) -> Any:
    """Run a store reader; a store that cannot be read (corrupt, unreachable) gives `on_error(reason)` instead."""
    try:
        return read(*args)
    except Exception as exc:  # any driver's or file's error: reported in the status, not raised
        return on_error(f"{type(exc).__name__}: {exc}".splitlines()[0])
