"""Fresh PostgreSQL databases for tests, on the server of SDSYNC_TEST_POSTGRES_URL (scripts/test.sh starts one)."""

from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest

POSTGRES_ENV = "SDSYNC_TEST_POSTGRES_URL"


def postgres_database() -> Iterator[str]:
    """A fresh database `<given database>_<random>` (dropped afterwards; named after the given one, so a shared
    server's owner can tell); skips when SDSYNC_TEST_POSTGRES_URL is unset."""
    base_url = os.environ.get(POSTGRES_ENV)
    if not base_url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    import sqlalchemy

    base = sqlalchemy.make_url(base_url)
    name = f"{base.database or 'sdsync'}_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base_url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
