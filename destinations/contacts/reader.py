"""Read the CRM rows with SQLAlchemy (any URL: postgresql://, sqlite:///, duckdb:///) into a pyarrow table.

Every column arrives as text: validation (sql/contacts_validate.sql) types the fields itself, so a CRM
that stores birth years as strings or phones as integers is read the same way as a tidy one.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from smartdialog_sync.api.config import hide_password

FETCH_ROWS = 50_000


class CrmReadError(RuntimeError):
    """The CRM could not be read as asked (bad URL, query, table or file)."""


def crm_statement(query: str | None = None, table: str | None = None, sql_file: Path | None = None) -> sa.Executable | str:
    """The statement to run for exactly one of --query, --table, --sql-file (a table name is resolved later)."""
    given = [value for value in (query, table, sql_file) if value]
    if len(given) != 1:
        raise CrmReadError("give exactly one of --query, --table or --sql-file")
    if table:
        return table
    if sql_file:
        try:
            query = Path(sql_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CrmReadError(f"cannot read --sql-file {sql_file}: {exc.strerror}") from None
    return sa.text(query)


def _column_array(values: list[object]) -> pa.Array:
    try:
        array = pa.array(values)
        return array if pa.types.is_string(array.type) else pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([None if value is None else str(value) for value in values], pa.string())


def _chunk(columns: list[str], rows: list[sa.Row]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([_column_array([row[i] for row in rows]) for i in range(len(columns))], names=columns)


def read_crm(url: str, statement: sa.Executable | str) -> pa.Table:
    """Run `statement` (or select the table it names) against the CRM at `url`; all columns as strings."""
    try:
        engine = sa.create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise CrmReadError(f"cannot use --source {hide_password(url)}: {exc}") from None
    try:
        with engine.connect() as connection:
            if isinstance(statement, str):
                schema, _, name = statement.rpartition(".")
                table = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=connection)
                statement = sa.select(table)
            result = connection.execution_options(stream_results=True).execute(statement)
            columns = list(result.keys())
            if len(set(name.lower() for name in columns)) != len(columns):
                raise CrmReadError(f"the CRM result repeats a column name: {', '.join(columns)}")
            batches = []
            while rows := result.fetchmany(FETCH_ROWS):
                batches.append(_chunk(columns, rows))
    except sa.exc.NoSuchTableError as exc:
        raise CrmReadError(f"the CRM has no table {exc}") from None
    except SQLAlchemyError as exc:
        raise CrmReadError(f"reading the CRM failed: {exc.__class__.__name__}: {getattr(exc, 'orig', None) or exc}") from None
    finally:
        engine.dispose()
    schema = pa.schema([(name, pa.string()) for name in columns])
    return pa.Table.from_batches(batches, schema=schema)
