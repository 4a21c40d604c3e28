"""The pulled dataset wherever `sdsync pull` loaded it, read through dlt's own SQL client for the destination.

The report's SQL (sql/report_*.sql) is written once, in DuckDB's dialect, over input relations named
`src_<table>` and `stop_keywords`, and over the relations several queries share (sql/report_relations.sql,
such as `latest_report`). Before a query runs, sqlglot puts each shared relation in place, replaces each
input with a subquery of a fixed shape over the real table (`CAST(column AS type)`, NULL for a column the
table does not have, no rows for a table the dataset does not have yet) and writes the query in the
destination's dialect (dlt's `capabilities.sqlglot_dialect`). Nothing is created at the destination: the
report only reads. A DuckDB file is opened read-only, a PostgreSQL session is set read-only.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

import sqlglot
from sqlglot import exp

from smartdialog_sync.errors import EXIT_USAGE, SdsyncError
from smartdialog_sync.sqlfiles import read_named_sql

from ..last_pull import PullTarget, without_password

SOURCE_DIALECT = "duckdb"
INPUT_PREFIX = "src_"
KEYWORDS_RELATION = "stop_keywords"
SHARED_RELATIONS_FILE = "report_relations.sql"

# The columns the report reads from each table of the `smartdialog` source, with their (DuckDB) types.
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
        "first_name": "VARCHAR", "last_name": "VARCHAR", "failed_messages": "BIGINT",
    },
    "campaigns": {
        "campaign_id": "VARCHAR", "protocol": "VARCHAR", "content_start": "VARCHAR", "template_name": "VARCHAR",
    },
    "campaign_assignments": {
        "campaign_id": "VARCHAR", "address": "VARCHAR", "variant": "VARCHAR", "held_out": "BOOLEAN",
    },
    "tracked_links": {
        "code": "VARCHAR", "campaign_id": "VARCHAR", "variant": "VARCHAR", "recipient": "VARCHAR", "target": "VARCHAR",
    },
    "link_clicks": {
        "click_id": "VARCHAR", "code": "VARCHAR", "campaign_id": "VARCHAR", "variant": "VARCHAR", "recipient": "VARCHAR",
        "kind": "VARCHAR", "agent": "VARCHAR", "clicked_at": "TIMESTAMPTZ",
    },
}

# Columns the ledger does not record yet: their absence is expected and noted once, quietly.
OPTIONAL_COLUMNS = {"sent_messages": ("protocol", "service_id", "scheduled_for")}


class DatasetError(SdsyncError):
    """The dataset cannot be read (a DuckDB file locked by a running pull, not a DuckDB file, no connection)."""


class DatasetMissing(DatasetError):
    """There is no DuckDB file yet: a usage problem (pull first, or name the file)."""

    exit_code = EXIT_USAGE


@dataclass
class ReportDataset:
    """An open connection (dlt's SQL client) to the dataset, the tables it has and notes on what is missing."""

    client: Any
    dialect: str
    dataset: str
    location: str
    tables: dict[str, dict[str, str]] = field(default_factory=dict)
    absent_tables: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    _pipelines_dir: Optional[tempfile.TemporaryDirectory[str]] = None

    def query(self, sql: str, stop_keywords: tuple[str, ...] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one of the report's queries (DuckDB dialect, over the `src_*` inputs): column names and rows."""
        statement = self.translate(sql, stop_keywords)
        try:
            rows = self.client.execute_sql(statement) or []
        except Exception as exc:  # the destination's driver error, whatever the destination
            raise DatasetError(f"query failed on {self.location}: {_first_line(exc)}") from None
        columns = sqlglot.parse_one(sql, read=SOURCE_DIALECT).named_selects
        return columns, [tuple(_plain(value) for value in row) for row in rows]

    def translate(self, sql: str, stop_keywords: tuple[str, ...] = ()) -> str:
        """`sql` with its inputs replaced by subqueries over the dataset, in the destination's dialect."""
        tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
        ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
        shared = read_named_sql(SHARED_RELATIONS_FILE)
        for table in list(tree.find_all(exp.Table)):
            if not table.db and table.name in shared and table.name not in ctes:
                _put_in_place(table, sqlglot.parse_one(shared[table.name], read=SOURCE_DIALECT))
        for table in list(tree.find_all(exp.Table)):  # the shared relations' inputs too
            name = table.name
            if table.db or name in ctes:
                continue
            if name.startswith(INPUT_PREFIX) and name[len(INPUT_PREFIX):] in INPUT_TABLES:
                _put_in_place(table, self._input(name[len(INPUT_PREFIX):]))
            elif name == KEYWORDS_RELATION:
                _put_in_place(table, _keywords(stop_keywords))
        return tree.sql(dialect=self.dialect)

    def _input(self, table: str) -> exp.Select:
        columns = INPUT_TABLES[table]
        present = self.tables.get(table)
        projection = [
            exp.cast(
                exp.column(present[name], quoted=True) if present and name in present else exp.null(),
                exp.DataType.build(kind, dialect=SOURCE_DIALECT),
            ).as_(name, quoted=True)
            for name, kind in columns.items()
        ]
        if present is None:
            return exp.select(*projection).where("1 = 0")
        qualified = self.client.make_qualified_table_name(table)
        return exp.select(*projection).from_(sqlglot.parse_one(qualified, into=exp.Table, read=self.dialect))

    def close(self) -> None:
        """Close the connection and remove the report's scratch pipeline folder."""
        try:
            self.client.close_connection()
        finally:
            if self._pipelines_dir is not None:
                self._pipelines_dir.cleanup()

    def __enter__(self) -> "ReportDataset":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _put_in_place(table: exp.Table, relation: exp.Expression) -> None:
    """Replace a table reference by `relation` as a subquery under the reference's name (or alias)."""
    table.replace(exp.Subquery(this=relation, alias=exp.TableAlias(this=exp.to_identifier(table.alias_or_name))))


def _keywords(stop_keywords: tuple[str, ...]) -> exp.Select:
    """The stop keywords as a one-column relation of string literals (values, never SQL)."""
    rows = [exp.select(exp.Literal.string(keyword).as_("keyword")) for keyword in stop_keywords]
    if not rows:
        return exp.select(exp.cast(exp.null(), "VARCHAR").as_("keyword")).where("1 = 0")
    union: exp.Query = rows[0]
    for row in rows[1:]:
        union = exp.union(union, row, distinct=False)
    return exp.select("keyword").from_(exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("k"))))


def _plain(value: Any) -> Any:
    """A value as the same Python type on every engine: decimals as floats, times in UTC."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc)
    return value


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def open_dataset(target: PullTarget, data_dir: Path) -> ReportDataset:
    """Connect to where `target` says the pull loaded, read-only, and look up which input tables and columns exist."""
    import dlt

    from ..pull_pipeline import (
        PullOptions,
        destination_for,
        destination_location,
        duckdb_file,
    )

    options = PullOptions(destination=target.destination, dataset=target.dataset, credentials=target.credentials)
    path = duckdb_file(options, data_dir)
    if path is not None and not path.is_file():
        raise DatasetMissing(f"no DuckDB file at {path}: run `sdsync pull` first or pass --duckdb")
    destination = destination_for(options, data_dir, read_only=True)
    location = str(path) if path is not None else f"{target.destination} {without_password(target.credentials) or ''}".strip()
    scratch = tempfile.TemporaryDirectory(prefix="sdsync-report-")
    try:
        destination_location(destination, target.dataset, Path(scratch.name))  # UsageError for incomplete config
        pipeline = dlt.pipeline(
            pipeline_name="sdsync_report", destination=destination, dataset_name=target.dataset, pipelines_dir=scratch.name
        )
        job_client = pipeline.destination_client()
        client = job_client.sql_client
        client.open_connection()
    except SdsyncError:
        scratch.cleanup()
        raise
    except Exception as exc:  # configuration or connection errors of any destination
        scratch.cleanup()
        raise DatasetError(f"cannot read {location}: {_first_line(exc)}") from None
    report = ReportDataset(client, job_client.capabilities.sqlglot_dialect or SOURCE_DIALECT, target.dataset, location,
                           _pipelines_dir=scratch)
    try:
        _start_session(report)
        stored = dict(job_client.get_storage_tables(list(INPUT_TABLES)))
    except Exception as exc:
        report.close()
        raise DatasetError(f"cannot read {location}: {_first_line(exc)}") from None
    _note_tables(report, stored)
    return report


def _start_session(report: ReportDataset) -> None:
    """Read-only, UTC session where the destination has such settings (DuckDB: read-only file, UTC by dlt)."""
    if report.dialect in ("postgres", "redshift"):
        report.client.execute_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        report.client.execute_sql("SET TIME ZONE 'UTC'")


def _note_tables(report: ReportDataset, stored: dict[str, dict[str, Any]]) -> None:
    """Keep each present table's columns (lower-case name → stored name) and note what is missing."""
    if not any(stored.values()):
        report.notes.append(
            f"dataset {report.dataset!r} has no tables in {report.location} yet: run `sdsync pull` to fill it"
        )
    for table, columns in INPUT_TABLES.items():
        found = stored.get(table) or {}
        if not found:
            report.absent_tables.add(table)
            continue
        present = {name.lower(): name for name in found}
        report.tables[table] = present
        missing = [name for name in columns if name not in present]
        if missing:
            expected = set(OPTIONAL_COLUMNS.get(table, ()))
            kind_of_note = "not recorded" if set(missing) <= expected else "missing"
            report.notes.append(f"{table}: column(s) {', '.join(missing)} {kind_of_note}, read as empty")
