"""The one way we read a user's CRM: a single SELECT (or a whole table), on a read-only connection, streamed.

Every query a user gives (`contacts sync --query/--sql-file`, `send --query`, `--suppression-query`,
`pull --phones-query`, the dlt source's `group_phones_query`) goes through `check_select` before any
connection is made: it must parse (sqlglot, in the URL's dialect) as exactly one SELECT / WITH ... SELECT
/ set operation, with no data-changing or schema-changing statement anywhere in it (not even inside
WITH), no SELECT ... INTO and no row locks. The query then runs on a connection the database itself
keeps read-only: SQLite opened with `mode=ro` (and `PRAGMA query_only`), PostgreSQL with a read-only
session (`postgresql_readonly`), DuckDB with `read_only=True`. Nothing is ever committed.

Errors: a query or URL we refuse, or a query the CRM refuses (no such table, a write stopped by the
read-only connection), is a `CrmUsageError` (exit 2); a CRM that cannot be reached, or is lost while
reading, is a `CrmReadError` (exit 1). Both mask the URL's password.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from smartdialog_sync.errors import SdsyncError, UsageError
from smartdialog_sync.state.location import hide_password

CHUNK_ROWS = 50_000

# SQLAlchemy backend name -> sqlglot dialect (unknown backends are parsed with sqlglot's generic dialect)
_DIALECTS = {"postgresql": "postgres", "mssql": "tsql", "mariadb": "mysql"}

# Nodes that change data, schema, session or transaction, or lock rows: refused anywhere in the query.
_REFUSED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.TruncateTable,
    exp.Command, exp.Into, exp.Lock, exp.Set, exp.Pragma, exp.Use, exp.Transaction, exp.Commit,
    exp.Rollback, exp.Copy, exp.Attach, exp.Detach, exp.Grant, exp.Revoke, exp.Analyze, exp.LoadData,
    exp.Refresh, exp.Kill, exp.Comment, exp.Cache, exp.Uncache,
)


class CrmUsageError(UsageError):
    """The CRM URL or query cannot be used as given (not a single read-only SELECT, unknown driver)."""


class CrmReadError(SdsyncError):
    """The CRM could not be reached or the query failed there."""


@dataclass(frozen=True)
class CrmRows:
    """The column names of a result and its rows, streamed in chunks of at most `CHUNK_ROWS`."""

    columns: list[str]
    chunks: Iterator[Sequence[Sequence[Any]]]

    def all_rows(self) -> list[Sequence[Any]]:
        """Every row (for results that are small by nature, such as recipients or phone lists)."""
        return [row for chunk in self.chunks for row in chunk]


def _dialect(url: sa.engine.URL) -> str | None:
    backend = url.get_backend_name()
    name = _DIALECTS.get(backend, backend)
    try:
        sqlglot.Dialect.get_or_raise(name)
    except ValueError:
        return None
    return name


def check_select(query: str, dialect: str | None = None, what: str = "the query") -> None:
    """Refuse (CrmUsageError) anything but exactly one SELECT / WITH query that changes nothing."""
    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None and not isinstance(s, exp.Semicolon)]
    except SqlglotError as exc:
        errors = getattr(exc, "errors", None) or [{}]
        reason = (errors[0].get("description") or str(exc).strip() or type(exc).__name__).split(" but got <Token")[0]
        line = f" (line {errors[0]['line']}, column {errors[0]['col']})" if errors[0].get("line") else ""
        raise CrmUsageError(f"{what} must be a single SELECT; it could not be parsed: {reason}{line}") from None
    if len(statements) != 1:
        raise CrmUsageError(f"{what} must be a single SELECT statement, not {len(statements)} statements")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise CrmUsageError(f"{what} must be a single SELECT (or WITH ... SELECT), not a {statement.key.upper()} statement")
    for node in statement.walk():
        if isinstance(node, _REFUSED_NODES):
            label = "SELECT ... INTO" if isinstance(node, exp.Into) else "FOR UPDATE/SHARE" if isinstance(node, exp.Lock) else node.key.upper()
            raise CrmUsageError(f"{what} must be a single SELECT that only reads; it contains {label}")


def _parsed_url(url: str) -> sa.engine.URL:
    try:
        return sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise CrmUsageError(f"cannot use the CRM URL {hide_password(url)}: {exc}") from None


def check_crm_query(url: str, query: str, what: str = "the query") -> None:
    """`check_select` in the dialect of the CRM at `url`; no connection is made."""
    check_select(query, _dialect(_parsed_url(url)), what)


def _sqlite_read_only(url: sa.engine.URL) -> sa.Engine:
    database = url.database or ""
    if database in ("", ":memory:"):
        return sa.create_engine(url, poolclass=sa.pool.NullPool)
    if database.startswith("file:"):
        target = database + ("&" if "?" in database else "?") + "mode=ro"
    else:
        target = Path(database).resolve().as_uri() + "?mode=ro"
    return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(target, uri=True), poolclass=sa.pool.NullPool)


def read_only_engine(url: str) -> sa.Engine:
    """An engine on `url` whose connections the database keeps read-only (SQLite, PostgreSQL, DuckDB)."""
    parsed = _parsed_url(url)
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            engine = _sqlite_read_only(parsed)
        elif backend == "duckdb" and parsed.database not in (None, "", ":memory:"):
            engine = sa.create_engine(parsed, connect_args={"read_only": True}, poolclass=sa.pool.NullPool)
        else:
            engine = sa.create_engine(parsed, poolclass=sa.pool.NullPool)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, ValueError) as exc:
        raise CrmUsageError(f"cannot open the CRM URL {hide_password(url)}: {exc}") from None
    if backend == "sqlite":
        sa.event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA query_only = ON"))
    return engine


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def open_crm(url: str, query: str | None = None, table: str | None = None, what: str = "the query") -> Iterator[CrmRows]:
    """Run the user's `query` (or read every row of `table`, schema.table allowed) read-only on the CRM at `url`.

    The rows stream while the context is open; the connection is closed (rolled back) on exit.
    """
    if (query is None) == (table is None):
        raise CrmUsageError("give exactly one of a query or a table")
    where = hide_password(url)
    if query is not None:
        check_crm_query(url, query, what)
    engine = read_only_engine(url)
    try:
        try:
            connection = engine.connect()
        except sa.exc.SQLAlchemyError as exc:
            raise CrmReadError(f"cannot connect to the CRM at {where}: {_first_line(exc)}") from None
        with connection:
            options: dict[str, Any] = {"stream_results": True}
            if engine.dialect.name == "postgresql":
                options["postgresql_readonly"] = True
            connection = connection.execution_options(**options)
            try:
                if table is not None:
                    schema, _, name = table.rpartition(".")
                    reflected = sa.Table(name, sa.MetaData(), schema=schema or None, autoload_with=connection)
                    result = connection.execute(sa.select(reflected))
                else:
                    result = connection.execute(sa.text(query))  # type: ignore[arg-type]
            except sa.exc.NoSuchTableError:
                raise CrmUsageError(f"the CRM at {where} has no table {table}") from None
            except sa.exc.DBAPIError as exc:
                if exc.connection_invalidated:  # the CRM went away: worth a retry
                    raise CrmReadError(f"lost the CRM at {where}: {_first_line(exc)}") from None
                raise CrmUsageError(f"{what} failed on the CRM at {where}: {_first_line(exc)}") from None
            except sa.exc.SQLAlchemyError as exc:
                raise CrmUsageError(f"{what} failed on the CRM at {where}: {_first_line(exc)}") from None
            if not result.returns_rows:
                raise CrmUsageError(f"{what} returned no result set (is it a SELECT?)")

            def chunks() -> Iterator[Sequence[Sequence[Any]]]:
                try:
                    while rows := result.fetchmany(CHUNK_ROWS):
                        yield rows
                except sa.exc.SQLAlchemyError as exc:
                    raise CrmReadError(f"reading the rows of {what} failed on the CRM at {where}: {_first_line(exc)}") from None

            yield CrmRows(list(result.keys()), chunks())
    finally:
        engine.dispose()


def read_crm_rows(url: str, query: str, what: str = "the query") -> tuple[list[str], list[Sequence[Any]]]:
    """The columns and all rows of the user's read-only `query` on the CRM at `url`."""
    with open_crm(url, query, what=what) as rows:
        return rows.columns, rows.all_rows()
