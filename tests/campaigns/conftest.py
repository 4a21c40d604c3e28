"""Fixtures of the campaign tests: a CRM file, a fresh PostgreSQL database, where a ledger lives."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.campaigns.helpers import make_crm
from tests.postgres import postgres_database


@pytest.fixture
def crm(tmp_path: Path) -> str:
    """A SQLite CRM of 250 customers plus an invalid number and a duplicate."""
    return make_crm(tmp_path / "crm.sqlite", 250, [(900, "12", "Bad", "X", "FI"), (901, "0401000007", "Dup", "X", "FI")])


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database (skips when SDSYNC_TEST_POSTGRES_URL is unset)."""
    yield from postgres_database()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """Where a ledger lives, as `StateLocation.ledger()` gives it: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield tmp_path / "ledger" / "campaigns.sqlite"
    else:
        yield from postgres_database()
