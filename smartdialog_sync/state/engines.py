"""The SQLAlchemy engine of a small store (alert incidents, sync runs, reply records): a SQLite file in the
data dir, or the shared state's PostgreSQL, with the store's tables created on first use.

SQLite files are private (0600 in a 0700 folder: the stores quote CRM and server text) and wait up to
30 s for another process's write lock; PostgreSQL goes through `state_engine` with one pooled connection,
its tables created under the schema lock of `ensure_schema`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .postgres import ensure_schema, state_engine, unavailable

SQLITE_BUSY_TIMEOUT_S = 30


def store_engine(target: str | Path) -> Any:
    """An engine for the store at `target`: a SQLite file Path or a postgresql:// URL (nothing is opened yet)."""
    import sqlalchemy as sa

    if isinstance(target, str):
        return state_engine(target, pool_size=1)
    from smartdialog_sync.datadir import private_data_dir

    private_data_dir(target.parent)
    return sa.create_engine(f"sqlite:///{target}", poolclass=sa.pool.NullPool,
                            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})


def create_tables(connection: Any, schema: str) -> None:
    """Run a store's `CREATE ... IF NOT EXISTS` script (one or more statements) on a connection of either engine."""
    if connection.dialect.name == "sqlite":
        connection.connection.executescript(schema)
    else:
        ensure_schema(connection, schema)


@contextmanager
def store_transaction(engine: Any, target: str | Path) -> Iterator[Any]:
    """A transaction on the store's engine, committed on exit; StateUnavailable (exit 1, password hidden)
    when the database fails."""
    import sqlalchemy as sa

    try:
        with engine.begin() as connection:
            yield connection
    except sa.exc.SQLAlchemyError as exc:
        raise unavailable(str(target), exc) from None


def open_store(target: str | Path, schema: str) -> Any:
    """`store_engine(target)` with the store's tables created; StateUnavailable (exit 1) when that fails."""
    engine = store_engine(target)
    try:
        with store_transaction(engine, target) as connection:
            create_tables(connection, schema)
    except BaseException:
        engine.dispose()
        raise
    return engine
