"""The durable journal of received webhooks: one interface, a SQLite and a PostgreSQL store, group commit.

A store is synchronous and owned by one thread. `GroupCommitJournal` puts a single writer thread in front
of a store: request handlers enqueue rows and await a future; the writer drains everything pending, writes
it in ONE transaction (one fsync), and then resolves all those futures at once. A request is answered
only after its future resolved, i.e. after its row is durable.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import pyarrow as pa
from filelock import FileLock

from smartdialog_sync.sqlfiles import read_sql


class InboundRow(NamedTuple):
    """One NewMessage notification as journaled (timestamps in microseconds since the epoch, UTC)."""

    message_id: str
    sender: str | None
    recipient: str | None
    content: str | None
    protocol: str | None
    sent_at_us: int | None
    attachments: str | None  # JSON array, None when there are none
    received_at_us: int


class DlrRow(NamedTuple):
    """One delivery report as journaled; `query` is every query parameter, raw, as a JSON object."""

    dlr_key: str
    message_id: str
    recipient_id: str | None
    address: str | None
    status: str | None
    status_time_us: int | None
    error_code: str | None
    query: str
    received_at_us: int


class Registration(NamedTuple):
    """A NewMessage webhook registered at SmartDialog. The endpoint URL is kept masked plus a digest."""

    customer: str
    service: str
    endpoint_fingerprint: str
    endpoint_url_masked: str
    pipeline_id: str | None
    action_id: str | None
    location: str | None
    registered_at_us: int


JOURNAL_FILE_NAME = "journal.sqlite"  # in the data dir, when no journal URL is given
INBOUND_COLUMNS = ("seq",) + InboundRow._fields
DLR_COLUMNS = ("seq",) + DlrRow._fields


@cache
def journal_statements(dialect: str) -> dict[str, str]:
    """The named statements of `sql/journal_<dialect>.sql` (sections start with `-- name: NAME`)."""
    statements: dict[str, str] = {}
    name = None
    for line in read_sql(f"journal_{dialect}.sql").splitlines():
        if line.startswith("-- name:"):
            name = line.split(":", 1)[1].strip()
            statements[name] = ""
        elif name and not line.startswith("--"):
            statements[name] += line + "\n"
    return {key: value.strip() for key, value in statements.items()}


class JournalStore(ABC):
    """A journal database connection, used from one thread at a time."""

    url: str

    @abstractmethod
    def write_batch(self, inbound: list[InboundRow], dlr: list[DlrRow]) -> None:
        """Write all rows in one transaction; rows whose key exists already are skipped."""

    @abstractmethod
    def read_inbound(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to `limit` inbound rows with seq > `after_seq`, in seq order, as INBOUND_COLUMNS tuples."""

    @abstractmethod
    def read_dlr(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to `limit` delivery reports with seq > `after_seq`, in seq order, as DLR_COLUMNS tuples."""

    def read_arrow(self, table: str, after_seq: int, limit: int) -> pa.Table:
        """Rows of `table` ("inbound" or "dlr") after `after_seq` as Arrow, with the journal's column names.

        Column types follow the values: a column that is all NULL may come back as int64 or null.
        """
        rows = self.read_inbound(after_seq, limit) if table == "inbound" else self.read_dlr(after_seq, limit)
        names = INBOUND_COLUMNS if table == "inbound" else DLR_COLUMNS
        values = list(zip(*rows)) if rows else [()] * len(names)
        return pa.Table.from_arrays([pa.array(column) for column in values], names=list(names))

    @abstractmethod
    def count_rows(self) -> tuple[int, int]:
        """(inbound rows, delivery report rows)."""

    @abstractmethod
    def get_registration(self, customer: str, service: str) -> Registration | None:
        """The saved webhook registration for a customer's service, if any."""

    @abstractmethod
    def list_registrations(self) -> list[Registration]:
        """All saved webhook registrations."""

    @abstractmethod
    def save_registration(self, registration: Registration) -> None:
        """Insert or replace the registration of (customer, service)."""

    @abstractmethod
    def delete_registration(self, customer: str, service: str) -> None:
        """Forget the registration of (customer, service)."""

    @abstractmethod
    def registration_lock(self) -> Any:
        """A context manager that keeps other receiver instances from registering at the same time."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""


class SQLiteJournal(JournalStore):
    """The journal in a SQLite file: WAL mode, synchronous=FULL (a commit survives power loss)."""

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._sql = journal_statements("sqlite")
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.executescript(self._sql["schema"])
        self._arrow_conn: Any = None

    def write_batch(self, inbound: list[InboundRow], dlr: list[DlrRow]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if inbound:
                conn.executemany(self._sql["insert_inbound"], inbound)
            if dlr:
                conn.executemany(self._sql["insert_dlr"], dlr)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def read_inbound(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        return self._conn.execute(self._sql["read_inbound"], (after_seq, limit)).fetchall()

    def read_dlr(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        return self._conn.execute(self._sql["read_dlr"], (after_seq, limit)).fetchall()

    def read_arrow(self, table: str, after_seq: int, limit: int) -> pa.Table:
        """As JournalStore.read_arrow, read by the ADBC SQLite driver straight into Arrow (no Python rows)."""
        if self._arrow_conn is None:
            import adbc_driver_sqlite.dbapi

            self._arrow_conn = adbc_driver_sqlite.dbapi.connect(f"file:{quote(str(self.path.resolve()))}?mode=ro")
        cursor = self._arrow_conn.cursor()
        try:
            # One batch per query: the driver infers each column's type from the whole result.
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(max(limit, 1))})
            cursor.execute(self._sql[f"read_{table}"], (after_seq, limit))
            return cursor.fetch_arrow_table()
        finally:
            cursor.close()

    def count_rows(self) -> tuple[int, int]:
        inbound, dlr = self._conn.execute(self._sql["count_rows"]).fetchone()
        return int(inbound), int(dlr)

    def get_registration(self, customer: str, service: str) -> Registration | None:
        row = self._conn.execute(self._sql["get_registration"], (customer, service)).fetchone()
        return Registration(*row) if row else None

    def list_registrations(self) -> list[Registration]:
        return [Registration(*row) for row in self._conn.execute(self._sql["list_registrations"])]

    def save_registration(self, registration: Registration) -> None:
        self._conn.execute(self._sql["save_registration"], registration)

    def delete_registration(self, customer: str, service: str) -> None:
        self._conn.execute(self._sql["delete_registration"], (customer, service))

    @contextmanager
    def registration_lock(self) -> Iterator[None]:
        with FileLock(self.path.with_name(self.path.name + ".register.lock")):
            yield

    def close(self) -> None:
        if self._arrow_conn is not None:
            self._arrow_conn.close()
        self._conn.close()


class PostgresJournal(JournalStore):
    """The journal in PostgreSQL (a SQLAlchemy URL), shared by several receiver instances."""

    def __init__(self, url: str) -> None:
        import sqlalchemy

        self.url = url
        self._sql = journal_statements("postgres")
        self._engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        self._conn = self._engine.raw_connection()
        with self._transaction() as cursor:
            cursor.execute(self._sql["schema"])

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cursor = self._conn.cursor()
        try:
            yield cursor
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise
        finally:
            cursor.close()

    def write_batch(self, inbound: list[InboundRow], dlr: list[DlrRow]) -> None:
        with self._transaction() as cursor:
            cursor.execute(self._sql["writer_lock"])
            if inbound:
                cursor.execute(self._sql["insert_inbound"], [list(column) for column in zip(*inbound)])
            if dlr:
                cursor.execute(self._sql["insert_dlr"], [list(column) for column in zip(*dlr)])

    def _query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as cursor:
            cursor.execute(self._sql[statement], params)
            return cursor.fetchall() if cursor.description else []

    def read_inbound(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        return self._query("read_inbound", (after_seq, limit))

    def read_dlr(self, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        return self._query("read_dlr", (after_seq, limit))

    def count_rows(self) -> tuple[int, int]:
        inbound, dlr = self._query("count_rows")[0]
        return int(inbound), int(dlr)

    def get_registration(self, customer: str, service: str) -> Registration | None:
        rows = self._query("get_registration", (customer, service))
        return Registration(*rows[0]) if rows else None

    def list_registrations(self) -> list[Registration]:
        return [Registration(*row) for row in self._query("list_registrations")]

    def save_registration(self, registration: Registration) -> None:
        self._query("save_registration", tuple(registration))

    def delete_registration(self, customer: str, service: str) -> None:
        self._query("delete_registration", (customer, service))

    @contextmanager
    def registration_lock(self) -> Iterator[None]:
        self._query("registration_lock")
        try:
            yield
        finally:
            self._query("registration_unlock")

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()


def open_journal(url: str | Path) -> JournalStore:
    """Open the journal at `url`: a `postgresql://` SQLAlchemy URL, a `sqlite:///PATH` URL or a file path."""
    text = str(url)
    if text.startswith(("postgresql:", "postgresql+", "postgres:")):
        return PostgresJournal(text.replace("postgres://", "postgresql://", 1))
    if text.startswith("sqlite:///"):
        return SQLiteJournal(text[len("sqlite:///") :])
    if "://" in text:
        raise ValueError(f"unsupported journal URL scheme: {text.split('://', 1)[0]!r} (use sqlite or postgresql)")
    return SQLiteJournal(text)


_STOP = object()


class GroupCommitJournal:
    """Async front of a journal store: concurrent appends share one transaction and one fsync.

    `max_batch=1` gives the naive one-commit-per-request behaviour (for benchmarks).
    """

    def __init__(self, store_factory: Callable[[], JournalStore], max_batch: int = 2000) -> None:
        self._store_factory = store_factory
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.commits = 0
        self.rows = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Open the store in the writer thread and start draining; raises if the store cannot open."""
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self) -> None:
        """Write what is pending, then stop the writer thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    async def append(self, row: InboundRow | DlrRow) -> None:
        """Return once `row` is committed (or was there already); raise if the commit failed."""
        assert self._loop is not None, "GroupCommitJournal.start() was not called"
        future = self._loop.create_future()
        self._queue.put((row, future))
        await future

    def _run(self) -> None:
        try:
            store: JournalStore | None = self._store_factory()
        except BaseException as exc:  # reported to start()
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        stopping = False
        while not stopping:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if _STOP in batch:
                stopping = True
                batch = [item for item in batch if item is not _STOP]
            if batch:
                store = self._commit(store, batch)
        if store is not None:
            store.close()

    def _commit(self, store: JournalStore | None, batch: list[tuple[Any, asyncio.Future[None]]]) -> JournalStore | None:
        """Write `batch` in one transaction and resolve its futures; returns the store for the next batch.

        After a failed write the connection is replaced (a PostgreSQL server may have dropped it), so
        the next batch works again once the database does.
        """
        inbound = [row for row, _ in batch if isinstance(row, InboundRow)]
        dlr = [row for row, _ in batch if isinstance(row, DlrRow)]
        error: BaseException | None = None
        try:
            if store is None:
                store = self._store_factory()
            store.write_batch(inbound, dlr)
            self.commits += 1
            self.rows += len(batch)
        except Exception as exc:
            error = exc
            store = _discard(store)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_resolve, [future for _, future in batch], error)
        return store


def _discard(store: JournalStore | None) -> None:
    if store is not None:
        try:
            store.close()
        except Exception:  # the connection is broken already
            pass


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
