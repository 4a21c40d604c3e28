"""Read the CRM rows (any SQLAlchemy URL: postgresql://, sqlite:///, duckdb:///) into a pyarrow table.

The query runs read-only through `smartdialog_sync.crm_query`. Every column arrives as text: validation
(sql/contacts_validate.sql) types the fields itself, so a CRM that stores birth years as strings or
phones as integers is read the same way as a tidy one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from smartdialog_sync.crm_query import CrmUsageError, open_crm


@dataclass(frozen=True)
class CrmStatement:
    """What to read from the CRM: the user's query, or every row of a table (schema.table allowed)."""

    query: str | None = None
    table: str | None = None


def crm_statement(query: str | None = None, table: str | None = None, sql_file: Path | None = None) -> CrmStatement:
    """What to read for exactly one of --query, --table, --sql-file."""
    given = [value for value in (query, table, sql_file) if value]
    if len(given) != 1:
        raise CrmUsageError("give exactly one of --query, --table or --sql-file")
    if sql_file:
        try:
            query = Path(sql_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CrmUsageError(f"cannot read --sql-file {sql_file}: {exc.strerror}") from None
    return CrmStatement(query=query or None, table=table or None)


def _column_array(values: list[object]) -> pa.Array:
    try:
        array = pa.array(values)
        return array if pa.types.is_string(array.type) else pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([None if value is None else str(value) for value in values], pa.string())


def _chunk(columns: list[str], rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([_column_array([row[i] for row in rows]) for i in range(len(columns))], names=columns)


def read_crm(url: str, statement: CrmStatement) -> pa.Table:
    """The CRM rows `statement` selects at `url`, all columns as strings."""
    with open_crm(url, statement.query, statement.table, what="the CRM query") as result:
        columns = result.columns
        if len(set(name.lower() for name in columns)) != len(columns):
            raise CrmUsageError(f"the CRM result repeats a column name: {', '.join(columns)}")
        batches = [_chunk(columns, rows) for rows in result.chunks]
    schema = pa.schema([(name, pa.string()) for name in columns])
    return pa.Table.from_batches(batches, schema=schema)
