"""The pulled DuckDB dataset, opened read-only, with one view per input table the report reads.

Each input (`src_<table>`) has a fixed shape. A table the dataset does not have yet becomes an empty
view of that shape, and a missing column reads as NULL, so the report's SQL runs on a fresh dataset;
what was missing is kept as notes to show next to the sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from smartdialog_sync.errors import EXIT_USAGE, SdsyncError

CATALOG = "pulled"

# The columns the report reads from each table of the `smartdialog` source, with their DuckDB types.
INPUT_TABLES: dict[str, dict[str, str]] = {
    "inbound_messages": {
        "message_id": "VARCHAR", "sender": "VARCHAR", "recipient": "VARCHAR", "content": "VARCHAR",
        "protocol": "VARCHAR", "timestamp": "TIMESTAMPTZ", "received_at": "TIMESTAMPTZ",
    },
    "delivery_reports": {
        "journal_seq": "BIGINT", "message_id": "VARCHAR", "recipient_id": "VARCHAR", "address": "VARCHAR",
        "status": "VARCHAR", "status_time": "TIMESTAMPTZ", "error_code": "VARCHAR", "received_at": "TIMESTAMPTZ",
    },
    "sent_messages": {
        "campaign_id": "VARCHAR", "batch_no": "BIGINT", "message_id": "VARCHAR", "recipient_id": "VARCHAR",
        "address": "VARCHAR", "parts": "BIGINT", "sent_at": "TIMESTAMPTZ",
        "protocol": "VARCHAR", "service_id": "VARCHAR", "scheduled_for": "TIMESTAMPTZ",
    },
    "group_contacts": {
        "customer": "VARCHAR", "group_service": "VARCHAR", "phone": "VARCHAR", "present": "BOOLEAN",
        "first_name": "VARCHAR", "last_name": "VARCHAR", "active": "BOOLEAN", "failed_messages": "BIGINT",
    },
}

# Columns the ledger does not record yet: their absence is expected and noted once, quietly.
OPTIONAL_COLUMNS = {"sent_messages": ("protocol", "service_id", "scheduled_for")}


class DatasetError(SdsyncError):
    """The dataset file cannot be read (locked by a running pull, not a DuckDB file)."""


class DatasetMissing(DatasetError):
    """There is no dataset file yet: a usage problem (pull first, or name the file)."""

    exit_code = EXIT_USAGE


@dataclass
class ReportDataset:
    """An in-memory DuckDB connection with the dataset attached read-only and the `src_*` views."""

    connection: duckdb.DuckDBPyConnection
    path: Path
    dataset: str
    absent_tables: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Close the connection (detaching the dataset file)."""
        self.connection.close()

    def __enter__(self) -> "ReportDataset":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def quote(identifier: str) -> str:
    """`identifier` as a quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def open_dataset(path: Path, dataset: str) -> ReportDataset:
    """Attach the DuckDB file at `path` read-only and create a `src_<table>` view for every input table."""
    if not path.is_file():
        raise DatasetMissing(f"no DuckDB file at {path}: run `sdsync pull` first or pass --duckdb")
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(f"ATTACH ? AS {CATALOG} (READ_ONLY)", [str(path)])
        present = _present_columns(connection, dataset)
    except duckdb.Error as exc:
        connection.close()
        raise DatasetError(f"cannot read {path}: {exc}") from None
    report = ReportDataset(connection, path, dataset)
    if not present:
        report.notes.append(f"dataset {dataset!r} has no tables in {path} yet: run `sdsync pull` to fill it")
    for table, columns in INPUT_TABLES.items():
        _create_input_view(report, table, columns, present.get(table))
    return report


def _present_columns(connection: duckdb.DuckDBPyConnection, dataset: str) -> dict[str, set[str]]:
    rows = connection.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_catalog = ? AND table_schema = ?",
        [CATALOG, dataset],
    ).fetchall()
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    return found


def _create_input_view(report: ReportDataset, table: str, columns: dict[str, str], present: set[str] | None) -> None:
    if present is None:
        report.absent_tables.add(table)
        projection = ", ".join(f"CAST(NULL AS {kind}) AS {quote(name)}" for name, kind in columns.items())
        source = "(SELECT 1) AS nothing WHERE false"
    else:
        missing = [name for name in columns if name not in present]
        expected = set(OPTIONAL_COLUMNS.get(table, ()))
        if missing:
            kind_of_note = "not recorded" if set(missing) <= expected else "missing"
            report.notes.append(f"{table}: column(s) {', '.join(missing)} {kind_of_note}, read as empty")
        projection = ", ".join(
            f"CAST({quote(name) if name in present else 'NULL'} AS {kind}) AS {quote(name)}"
            for name, kind in columns.items()
        )
        source = f"{CATALOG}.{quote(report.dataset)}.{quote(table)}"
    report.connection.execute(f"CREATE VIEW {quote('src_' + table)} AS SELECT {projection} FROM {source}")
