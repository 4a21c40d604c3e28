"""A scratch PostgreSQL database for the bench scripts that measure the shared state."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A database of its own on the server of `server_url` (`<database>_bench_<random>`), dropped afterwards."""
    import sqlalchemy

    base = sqlalchemy.make_url(server_url)
    name = f"{base.database or 'sdsync'}_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
