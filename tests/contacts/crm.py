"""Real CRM databases for the contact sync tests: SQLite files always, PostgreSQL when configured."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa

COLUMNS = ("id", "phone", "first_name", "last_name", "email", "gender", "birth_year", "country_code", "region", "tier")
POSTGRES_URL_ENV = "SDSYNC_TEST_POSTGRES_URL"


def contact(n: int, **fields: Any) -> dict[str, Any]:
    """A valid CRM row number `n` (Finnish mobile +35840100nnnn); keyword fields override."""
    row = {
        "id": n,
        "phone": f"+3584010{n:05d}",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "email": f"person{n}@example.com",
        "gender": ("Male", "Female", "Other")[n % 3],
        "birth_year": 1950 + n % 60,
        "country_code": "FIN",
        "region": None,
        "tier": None,
    }
    row.update(fields)
    return row


class Crm:
    """A `contacts` table in a real database, rewritten by the tests between syncs."""

    def __init__(self, url: str, table: str = "contacts") -> None:
        self.url = url
        self.table = table
        self.engine = sa.create_engine(url)

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        """Replace the table's content with `rows`."""
        with self.engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {self.table}"))
            connection.execute(sa.text(
                f"CREATE TABLE {self.table} (id INTEGER PRIMARY KEY, phone TEXT, first_name TEXT, last_name TEXT, "
                "email TEXT, gender TEXT, birth_year TEXT, country_code TEXT, region TEXT, tier TEXT)"
            ))
            rows = [{column: None if row.get(column) is None else str(row[column]) if column == "birth_year" else row.get(column)
                     for column in COLUMNS} for row in rows]
            if rows:
                placeholders = ", ".join(f":{column}" for column in COLUMNS)
                connection.execute(sa.text(f"INSERT INTO {self.table} VALUES ({placeholders})"), rows)

    def dispose(self) -> None:
        """Drop the connection pool."""
        self.engine.dispose()


def sqlite_crm(tmp_path: Path) -> Crm:
    """A SQLite CRM file under tmp_path."""
    return Crm(f"sqlite:///{tmp_path / 'crm.sqlite'}")


def postgres_crm() -> Crm | None:
    """A PostgreSQL CRM in a table of its own, when SDSYNC_TEST_POSTGRES_URL is set."""
    url = os.environ.get(POSTGRES_URL_ENV)
    return Crm(url, f"contacts_{uuid.uuid4().hex[:8]}") if url else None
