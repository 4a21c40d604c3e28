"""Fixtures of the contact-sync tests."""

from __future__ import annotations

import pytest

from .crm import postgres_crm, sqlite_crm
from .state_db import postgres_state_database


@pytest.fixture(params=["sqlite", "postgresql"])
def crm(request, tmp_path):
    made = sqlite_crm(tmp_path) if request.param == "sqlite" else postgres_crm()
    if made is None:
        pytest.skip("SDSYNC_TEST_POSTGRES_URL is not set")
    yield made
    if request.param == "postgresql":
        with made.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {made.table}")
    made.dispose()


@pytest.fixture
def state(request, tmp_path):
    """The contact state of a test: a DuckDB file, or (parametrised indirectly with "postgres") a fresh
    PostgreSQL database."""
    if getattr(request, "param", "duckdb") == "duckdb":
        yield tmp_path / "state.duckdb"
    else:
        with postgres_state_database() as url:
            yield url
