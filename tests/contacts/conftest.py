"""Fixtures of the contact-sync tests."""

from __future__ import annotations

import pytest

from .crm import postgres_crm, sqlite_crm


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
