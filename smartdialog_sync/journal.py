"""The durable journal of received webhooks: one interface, a SQLite and a PostgreSQL store, group commit.

A store is synchronous and owned by one thread. `GroupCommitJournal` puts a single writer thread in front
of a store: request handlers enqueue rows and await a future; the writer drains everything pending, writes
it in ONE transaction (one fsync), and then resolves all those futures at once. A request is answered
only after its future resolved, i.e. after its row is durable. One row the database refuses never fails
the others of its batch: the batch is then written row by row and only that row is rejected (RowRejected).
Payloads the receiver refuses are kept in a dead-letter table, to be listed and replayed.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

import pyarrow as pa
from filelock import FileLock

from smartdialog_sync.errors import SdsyncError, UsageError
from smartdialog_sync.sqlfiles import read_named_sql
from smartdialog_sync.state.files import LINK_SECRET_FILE, RECEIVER_SECRET_FILE
from smartdialog_sync.state.location import hide_password, store_target
from smartdialog_sync.state.migration import StateConflict, StoreMigration

T = TypeVar("T")


class JournalError(SdsyncError):
    """The journal cannot be opened or used."""


class JournalUrlError(UsageError):
    """A journal URL of a kind we do not support."""


class RowRejected(SdsyncError):
    """The database refused this one row (its value cannot be stored); the rest of its batch was written."""


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
    raw_values: str | None = None  # JSON object of the values normalised on the way in, as received


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


class DeadLetter(NamedTuple):
    """A payload the receiver refused after authentication: why, and its raw body (cut at a bound)."""

    kind: str  # "inbound" (the body) or "dlr" (the query string)
    reason: str
    status_code: int
    body: bytes
    body_size: int
    received_at_us: int


class StoredDeadLetter(NamedTuple):
    """A dead letter as stored, with its id and replay state."""

    id: int
    kind: str
    reason: str
    status_code: int
    body: bytes
    body_size: int
    received_at_us: int
    replayed_at_us: int | None
    replay_error: str | None


class PullMark(NamedTuple):
    """How far a pull pipeline has loaded a journal table (`table_name` "inbound" or "dlr")."""

    pipeline: str
    table_name: str
    seq: int
    updated_at_us: int


class ClickRow(NamedTuple):
    """One request of a tracked link (`kind` "click" or "preview"); journaled only for a live link."""

    click_id: str
    code: str
    kind: str
    agent: str  # a coarse user-agent class, never the user agent itself
    clicked_at_us: int


class LinkTarget(NamedTuple):
    """What a link code redirects to, and whether its campaign's links were expired."""

    target: str
    expired: bool


class WriteResult(NamedTuple):
    """Rows a batch added; the rest of its inbound and delivery report rows were there already.

    `links`: the recorded links of the batch's clicks by code (a code missing here is unknown)."""

    inbound_new: int
    dlr_new: int
    links: dict[str, LinkTarget] | None = None


class OptOutSender(NamedTuple):
    """A sender who replied with a stop keyword, and when the latest such reply was received."""

    sender: str
    latest_us: int


class PruneResult(NamedTuple):
    """Rows removed by `JournalStore.prune`."""

    inbound: int
    dlr: int
    dead_letters: int
    link_clicks: int = 0


JournalItem = InboundRow | DlrRow | DeadLetter | ClickRow
STOP_REPLY_TRIM = " .!?\t\n\r"  # a stop reply: content that, without these around it and upper-cased, is a stop keyword
INBOUND_COLUMNS = ("seq",) + InboundRow._fields
DLR_COLUMNS = ("seq",) + DlrRow._fields
LINK_CLICK_COLUMNS = ("seq", "click_id", "code", "campaign_id", "variant", "recipient", "target", "kind", "agent",
                      "clicked_at_us")
LINK_COLUMNS = ("seq", "code", "campaign_id", "variant", "recipient", "target", "created_at_us")


class JournalStore(ABC):
    """A journal database connection, used from one thread at a time."""

    url: str
    row_errors: tuple[type[BaseException], ...]  # what a refused value raises (not a broken database)

    @abstractmethod
    def write_batch(
        self, inbound: Sequence[InboundRow], dlr: Sequence[DlrRow], dead_letters: Sequence[DeadLetter] = (),
        clicks: Sequence[ClickRow] = (),
    ) -> WriteResult:
        """Write all rows in one transaction; rows whose key exists already are skipped. A click is written
        only when its code is a recorded link that is not expired (one lookup for all the batch's codes)."""

    @abstractmethod
    def write_links(self, links: Sequence[tuple[str, str, str | None, str, str]], at_us: int) -> None:
        """Record links (code, campaign_id, variant, recipient, target) in one transaction; known codes are kept."""

    @abstractmethod
    def expire_links(self, campaign_id: str, at_us: int) -> tuple[int, int]:
        """Expire the campaign's links: (links expired now, links of the campaign)."""

    @abstractmethod
    def read_link_rows(self, table: str, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to `limit` rows with seq > `after_seq` of `table`: "link_clicks" (LINK_CLICK_COLUMNS: each click
        with its link's campaign, variant, recipient and target) or "links" (LINK_COLUMNS)."""

    @abstractmethod
    def check_writable(self) -> None:
        """Raise unless a write transaction can start now."""

    @abstractmethod
    def list_dead_letters(self, include_replayed: bool = False) -> list[StoredDeadLetter]:
        """Dead letters in arrival order (only those not replayed yet, unless `include_replayed`)."""

    @abstractmethod
    def count_dead_letters(self) -> int:
        """Dead letters not replayed yet."""

    @abstractmethod
    def mark_replayed(self, dead_letter_id: int, at_us: int) -> None:
        """Record that a replay journaled this dead letter."""

    @abstractmethod
    def set_replay_error(self, dead_letter_id: int, reason: str) -> None:
        """Record why the last replay refused this dead letter again."""

    @abstractmethod
    def discard_dead_letters(self, ids: Sequence[int] | None, at_us: int) -> list[int]:
        """Move waiting dead letters (`ids`, or every waiting one for None) into the audit table
        journal_discarded_letters, in one transaction; return the ids discarded (unknown or replayed ones are not)."""

    @abstractmethod
    def count_discarded_letters(self) -> int:
        """Dead letters discarded so far (rows of the audit table)."""

    @abstractmethod
    def save_pull_mark(self, pipeline: str, table_name: str, seq: int, at_us: int) -> None:
        """Record that `pipeline` has loaded every row of `table_name` up to `seq`."""

    @abstractmethod
    def list_pull_marks(self) -> list[PullMark]:
        """Every pipeline's marks."""

    @abstractmethod
    def delete_pull_marks(self, pipeline: str) -> int:
        """Forget a pipeline (it no longer holds back pruning); returns how many marks were removed."""

    @abstractmethod
    def prune(self, older_than_us: int) -> PruneResult:
        """Delete rows received before `older_than_us` that every pipeline with a mark has pulled,
        and replayed dead letters received before it. Without any mark no journal row is deleted."""

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

    row_errors = (ValueError, sqlite3.DataError, sqlite3.IntegrityError)

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._sql = read_named_sql("journal_sqlite.sql")
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={synchronous}")
        self._conn.executescript(self._sql["schema"])
        self._links = read_named_sql("journal_links_sqlite.sql")
        self._conn.executescript(self._links["schema"])
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(journal_inbound)")}
        if "raw_values" not in columns:  # a journal made before the column existed
            self._conn.execute("ALTER TABLE journal_inbound ADD COLUMN raw_values TEXT")
        self._arrow_conn: Any = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def write_batch(
        self, inbound: Sequence[InboundRow], dlr: Sequence[DlrRow], dead_letters: Sequence[DeadLetter] = (),
        clicks: Sequence[ClickRow] = (),
    ) -> WriteResult:
        inbound_new = dlr_new = 0
        links = None
        with self._transaction() as conn:
            if inbound:
                inbound_new = conn.executemany(self._sql["insert_inbound"], inbound).rowcount
            if dlr:
                dlr_new = conn.executemany(self._sql["insert_dlr"], dlr).rowcount
            if dead_letters:
                conn.executemany(self._sql["insert_dead_letter"], dead_letters)
            if clicks:
                found = conn.execute(self._links["find_links"], (json.dumps(sorted({c.code for c in clicks})),))
                links = {code: LinkTarget(target, expired is not None) for code, target, expired in found}
                conn.executemany(self._links["insert_click"], _live_clicks(clicks, links))
        return WriteResult(inbound_new, dlr_new, links)

    def write_links(self, links: Sequence[tuple[str, str, str | None, str, str]], at_us: int) -> None:
        with self._transaction() as conn:
            conn.executemany(self._links["insert_links"], ((*link, at_us) for link in links))

    def expire_links(self, campaign_id: str, at_us: int) -> tuple[int, int]:
        with self._transaction() as conn:
            expired = conn.execute(self._links["expire_links"], (at_us, campaign_id)).rowcount
            total = conn.execute(self._links["count_links"], (campaign_id,)).fetchone()[0]
        return expired, int(total)

    def read_link_rows(self, table: str, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        return self._conn.execute(self._links[f"read_{table}"], (after_seq, limit)).fetchall()

    def export_link_rows(self, table: str, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        """Rows of journal_links or journal_link_clicks as stored, after `after_seq` (`sdsync state migrate`)."""
        return self._conn.execute(self._links[f"export_{table}"], (after_seq, limit)).fetchall()

    def check_writable(self) -> None:
        with self._transaction():
            pass

    def list_dead_letters(self, include_replayed: bool = False) -> list[StoredDeadLetter]:
        rows = self._conn.execute(self._sql["list_dead_letters"], (include_replayed,))
        return [StoredDeadLetter(*row) for row in rows]

    def count_dead_letters(self) -> int:
        return int(self._conn.execute(self._sql["count_dead_letters"]).fetchone()[0])

    def mark_replayed(self, dead_letter_id: int, at_us: int) -> None:
        self._conn.execute(self._sql["mark_replayed"], (at_us, dead_letter_id))

    def set_replay_error(self, dead_letter_id: int, reason: str) -> None:
        self._conn.execute(self._sql["set_replay_error"], (reason, dead_letter_id))

    def discard_dead_letters(self, ids: Sequence[int] | None, at_us: int) -> list[int]:
        discarded = []
        with self._transaction() as conn:
            chosen = ids if ids is not None else [row[0] for row in conn.execute(self._sql["waiting_dead_letter_ids"])]
            for letter_id in chosen:
                if conn.execute(self._sql["audit_discarded_letter"], (at_us, letter_id)).rowcount:
                    conn.execute(self._sql["delete_discarded_letter"], (letter_id,))
                    discarded.append(letter_id)
        return discarded

    def count_discarded_letters(self) -> int:
        return int(self._conn.execute(self._sql["count_discarded_letters"]).fetchone()[0])

    def list_discarded_letters(self) -> list[tuple[Any, ...]]:
        """The audit rows of discarded dead letters (letter_id, kind, ..., discarded_at_us), oldest first."""
        return self._conn.execute(self._sql["list_discarded_letters"]).fetchall()

    def save_pull_mark(self, pipeline: str, table_name: str, seq: int, at_us: int) -> None:
        self._conn.execute(self._sql["save_pull_mark"], (pipeline, table_name, seq, at_us))

    def list_pull_marks(self) -> list[PullMark]:
        return [PullMark(*row) for row in self._conn.execute(self._sql["list_pull_marks"])]

    def delete_pull_marks(self, pipeline: str) -> int:
        return self._conn.execute(self._sql["delete_pull_marks"], (pipeline,)).rowcount

    def prune(self, older_than_us: int) -> PruneResult:
        with self._transaction() as conn:
            counts = [conn.execute(self._sql[f"prune_{name}"], (older_than_us,)).rowcount
                      for name in ("inbound", "dlr", "dead_letters")]
            counts.append(conn.execute(self._links["prune_link_clicks"], (older_than_us,)).rowcount)
        return PruneResult(*counts)

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
        self._sql = read_named_sql("journal_postgres.sql")
        self._engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
        dbapi = self._engine.dialect.dbapi
        self.row_errors = (ValueError, dbapi.DataError, dbapi.IntegrityError)
        try:
            self._conn = self._engine.raw_connection()
            self._links = read_named_sql("journal_links_postgres.sql")
            with self._transaction() as cursor:
                cursor.execute(self._sql["schema"])
                cursor.execute(self._links["schema"])
        except dbapi.Error as exc:  # one line, password hidden (a broken connection later raises as it is)
            self._engine.dispose()
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise JournalError(f"cannot open the journal {hide_password(url)}: {detail}") from None

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cursor = self._conn.cursor()
        try:
            yield cursor
            self._conn.commit()
        except BaseException:
            try:
                self._conn.rollback()
            except Exception:  # the server dropped the connection: the original error says why
                pass
            raise
        finally:
            try:
                cursor.close()
            except Exception:  # psycopg2 refuses to close a cursor of a closed connection
                pass

    def write_batch(
        self, inbound: Sequence[InboundRow], dlr: Sequence[DlrRow], dead_letters: Sequence[DeadLetter] = (),
        clicks: Sequence[ClickRow] = (),
    ) -> WriteResult:
        inbound_new = dlr_new = 0
        with self._transaction() as cursor:
            cursor.execute(self._sql["writer_lock"])
            if inbound:
                cursor.execute(self._sql["insert_inbound"], [list(column) for column in zip(*inbound)])
                inbound_new = cursor.rowcount
            if dlr:
                cursor.execute(self._sql["insert_dlr"], [list(column) for column in zip(*dlr)])
                dlr_new = cursor.rowcount
            if dead_letters:
                cursor.executemany(self._sql["insert_dead_letter"], dead_letters)
            links = None
            if clicks:
                cursor.execute(self._links["find_links"], (sorted({c.code for c in clicks}),))
                links = {code: LinkTarget(target, expired is not None) for code, target, expired in cursor.fetchall()}
                live = _live_clicks(clicks, links)
                if live:
                    cursor.executemany(self._links["insert_click"], live)
        return WriteResult(inbound_new, dlr_new, links)

    def write_links(self, links: Sequence[tuple[str, str, str | None, str, str]], at_us: int) -> None:
        with self._transaction() as cursor:
            cursor.execute(self._sql["writer_lock"])  # sequence order is commit order (the pull's cursor)
            for start in range(0, len(links), 10_000):
                page = links[start:start + 10_000]
                cursor.execute(self._links["insert_links"], [list(column) for column in zip(*page)] + [[at_us] * len(page)])

    def expire_links(self, campaign_id: str, at_us: int) -> tuple[int, int]:
        with self._transaction() as cursor:
            cursor.execute(self._links["expire_links"], (at_us, campaign_id))
            expired = cursor.rowcount
            cursor.execute(self._links["count_links"], (campaign_id,))
            return expired, int(cursor.fetchone()[0])

    def read_link_rows(self, table: str, after_seq: int, limit: int) -> list[tuple[Any, ...]]:
        with self._transaction() as cursor:
            cursor.execute(self._links[f"read_{table}"], (after_seq, limit))
            return cursor.fetchall()

    def link_secret(self, candidate: str) -> str:
        """The link codes' HMAC secret every planner on this journal shares; `candidate` is saved when there is none."""
        with self._transaction() as cursor:
            cursor.execute(self._links["seed_link_secret"], (candidate, time.time_ns() // 1000))
            cursor.execute(self._links["get_link_secret"])
            return str(cursor.fetchone()[0])

    def check_writable(self) -> None:
        if self._query("check_writable")[0][0]:
            raise JournalError("the PostgreSQL journal is read-only (a standby or a read-only transaction)")

    def list_dead_letters(self, include_replayed: bool = False) -> list[StoredDeadLetter]:
        rows = self._query("list_dead_letters", (include_replayed,))
        return [StoredDeadLetter(*row[:4], bytes(row[4]), *row[5:]) for row in rows]

    def count_dead_letters(self) -> int:
        return int(self._query("count_dead_letters")[0][0])

    def mark_replayed(self, dead_letter_id: int, at_us: int) -> None:
        self._query("mark_replayed", (at_us, dead_letter_id))

    def set_replay_error(self, dead_letter_id: int, reason: str) -> None:
        self._query("set_replay_error", (reason, dead_letter_id))

    def discard_dead_letters(self, ids: Sequence[int] | None, at_us: int) -> list[int]:
        discarded = []
        with self._transaction() as cursor:
            if ids is None:
                cursor.execute(self._sql["waiting_dead_letter_ids"])
                ids = [row[0] for row in cursor.fetchall()]
            for letter_id in ids:
                cursor.execute(self._sql["audit_discarded_letter"], (at_us, letter_id))
                if cursor.rowcount:
                    cursor.execute(self._sql["delete_discarded_letter"], (letter_id,))
                    discarded.append(letter_id)
        return discarded

    def count_discarded_letters(self) -> int:
        return int(self._query("count_discarded_letters")[0][0])

    def save_pull_mark(self, pipeline: str, table_name: str, seq: int, at_us: int) -> None:
        self._query("save_pull_mark", (pipeline, table_name, seq, at_us))

    def list_pull_marks(self) -> list[PullMark]:
        return [PullMark(*row) for row in self._query("list_pull_marks")]

    def delete_pull_marks(self, pipeline: str) -> int:
        with self._transaction() as cursor:
            cursor.execute(self._sql["delete_pull_marks"], (pipeline,))
            return cursor.rowcount

    def prune(self, older_than_us: int) -> PruneResult:
        counts = []
        with self._transaction() as cursor:
            for name in ("inbound", "dlr", "dead_letters"):
                cursor.execute(self._sql[f"prune_{name}"], (older_than_us,))
                counts.append(cursor.rowcount)
            cursor.execute(self._links["prune_link_clicks"], (older_than_us,))
            counts.append(cursor.rowcount)
        return PruneResult(*counts)

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

    def receiver_secret(self, candidate: str) -> str:
        """The webhook secret every receiver on this journal shares; `candidate` is saved when there is none."""
        with self._transaction() as cursor:
            cursor.execute(self._sql["seed_receiver_secret"], (candidate, time.time_ns() // 1000))
            cursor.execute(self._sql["get_receiver_secret"])
            return str(cursor.fetchone()[0])

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


def _live_clicks(clicks: Sequence[ClickRow], links: dict[str, LinkTarget]) -> list[ClickRow]:
    """The clicks whose code is a recorded link that is not expired."""
    return [click for click in clicks if click.code in links and not links[click.code].expired]


def read_only_queries() -> dict[str, str]:
    """The journal's read-only statements for `sdsync status` (sql/journal_readonly.sql), for either engine,
    run on the caller's read-only connection (named `:parameters`)."""
    return read_named_sql("journal_readonly.sql")


def journal_target(target: str | Path) -> str | Path:
    """Where a journal is: a `Path` (a SQLite file) or a `postgresql://` URL, from a `Path`, a file path, a
    `sqlite:///PATH` or a `postgresql://` URL as text. Any other URL: JournalUrlError (exit 2)."""
    if isinstance(target, Path):
        return target
    try:
        return store_target(target, "the journal")
    except UsageError:
        if "://" not in target:
            raise
        scheme = target.split(":", 1)[0]
        raise JournalUrlError(f"unsupported journal URL ({scheme}://...): give a file path, a sqlite:/// URL "
                              "or a postgresql:// URL") from None


def open_journal(target: str | Path) -> JournalStore:
    """Open the journal at `target`, as `StateLocation.journal` gives it (see `journal_target`)."""
    where = journal_target(target)
    return SQLiteJournal(where) if isinstance(where, Path) else PostgresJournal(where)


MIGRATE_BATCH = 10_000  # journal rows compared and copied per statement


def migrate_journal(source: Path, target_url: str, secret_file: Path | None = None) -> StoreMigration:
    """Copy a local SQLite journal into the PostgreSQL journal at `target_url`, in one transaction.

    Inbound messages, delivery reports, tracked links and their clicks, dead letters (and the audit of
    discarded ones), pull marks and webhook
    registrations are copied with their own sequence numbers and ids (pull marks and pipelines' cursors stay
    right); with them the receiver's secret from `secret_file` (default: `receiver_secret` beside the
    journal, when there is one), so the registered URLs keep working, and `link_secret` beside the journal,
    so re-planned campaigns make the same codes. A row already there with equal values is skipped; a key
    (or a sequence number) already there with other values raises StateConflict and copies nothing.
    """
    secret_path = secret_file or source.with_name(RECEIVER_SECRET_FILE)
    copied: dict[str, int] = {}
    there: dict[str, int] = {}
    local = SQLiteJournal(source)
    target = PostgresJournal(target_url)

    def tally(table: str, new: int, old: int) -> None:
        copied[table] = copied.get(table, 0) + new
        there[table] = there.get(table, 0) + old

    try:
        with target._transaction() as cursor:
            cursor.execute(target._sql["writer_lock"])
            sequenced = (("inbound", local.read_inbound, target._sql), ("dlr", local.read_dlr, target._sql),
                         # tracked links and their clicks, with their own numbers
                         ("links", partial(local.export_link_rows, "links"), target._links),
                         ("link_clicks", partial(local.export_link_rows, "link_clicks"), target._links))
            for table, read, statements in sequenced:
                rows = read(0, MIGRATE_BATCH)
                while rows:
                    cursor.execute(statements[f"migrate_find_{table}"], ([row[1] for row in rows], [row[0] for row in rows]))
                    new = _new_rows(f"journal_{table}", rows, cursor.fetchall(), 1)
                    if new:
                        cursor.execute(statements[f"migrate_insert_{table}"], [list(column) for column in zip(*new)])
                    tally(table, len(new), len(rows) - len(new))
                    rows = read(rows[-1][0], MIGRATE_BATCH)
            letters = [tuple(letter) for letter in local.list_dead_letters(include_replayed=True)]
            for start in range(0, len(letters), MIGRATE_BATCH):
                rows = letters[start:start + MIGRATE_BATCH]
                cursor.execute(target._sql["migrate_find_dead_letters"], ([row[0] for row in rows],))
                found = [(*row[:4], bytes(row[4]), *row[5:]) for row in cursor.fetchall()]
                new = _new_rows("journal_dead_letters", rows, found, 0)
                if new:
                    cursor.executemany(target._sql["migrate_insert_dead_letter"], new)
                tally("dead_letters", len(new), len(rows) - len(new))
            for letter in local.list_discarded_letters():  # the audit of discarded dead letters, few rows
                cursor.execute(target._sql["migrate_find_discarded_letter"], (letter[0], letter[-1]))
                found = cursor.fetchone()[0]
                if not found:
                    cursor.execute(target._sql["migrate_insert_discarded_letter"], letter)
                tally("discarded_letters", int(not found), int(bool(found)))
            for name, rows, listing, save in (
                ("registrations", [tuple(r) for r in local.list_registrations()], "list_registrations", "save_registration"),
                ("pull_marks", [tuple(m) for m in local.list_pull_marks()], "list_pull_marks", "save_pull_mark"),
            ):
                width = 2  # (customer, service) and (pipeline, table_name)
                cursor.execute(target._sql[listing])
                existing = {tuple(row[:width]): tuple(row) for row in cursor.fetchall()}
                new = []
                for row in rows:
                    if row[:width] not in existing:
                        new.append(row)
                    elif existing[row[:width]] != row:
                        raise StateConflict(f"journal: the target holds other {name.replace('_', ' ')} for "
                                            f"{'/'.join(map(str, row[:width]))}: nothing of the journal was copied")
                for row in new:
                    cursor.execute(target._sql[save], row)
                tally(name, len(new), len(rows) - len(new))
            for name, path, statements, why in (
                ("receiver_secret", secret_path, target._sql, "its webhook URLs differ"),
                ("link_secret", source.with_name(LINK_SECRET_FILE), target._links, "its link codes differ"),
            ):
                if not path.exists():
                    continue
                secret = path.read_text(encoding="ascii").strip()
                cursor.execute(statements[f"get_{name}"])
                stored = cursor.fetchone()
                if stored is not None and stored[0] != secret:
                    raise StateConflict(f"journal: the target holds another {name.replace('_', ' ')} ({why} from those "
                                        f"of {path}): nothing of the journal was copied")
                if stored is None:
                    cursor.execute(statements[f"seed_{name}"], (secret, time.time_ns() // 1000))
                tally(name, int(stored is None), int(stored is not None))
            cursor.execute(target._sql["migrate_advance_sequences"])
    finally:
        local.close()
        target.close()
    return StoreMigration("journal", str(source), copied, there)


def _new_rows(table: str, rows: Sequence[tuple[Any, ...]], found: Sequence[tuple[Any, ...]],
              key: int) -> list[tuple[Any, ...]]:
    """The rows of `rows` the target lacks; `found` are the target's rows with one of their keys (column
    `key`) or numbers (column 0). A key or number there with other values raises StateConflict."""
    by_key = {row[key]: tuple(row) for row in found}
    by_number = {row[0]: tuple(row) for row in found}
    new = []
    for row in rows:
        row = tuple(row)
        there = by_key.get(row[key], by_number.get(row[0]))
        if there is None:
            new.append(row)
        elif there != row:
            raise StateConflict(f"journal: {table} in the target holds other data for {row[key]!r}"
                           f"{f' (number {row[0]})' if key else ''}: nothing of the journal was copied")
    return new


def read_opt_out_senders(url: str | Path, keywords: Sequence[str]) -> list[OptOutSender] | None:
    """Senders of a stop reply (`STOP_REPLY_TRIM`, upper-case `keywords`) in the journal at `url`, read-only.

    None when there is no journal there (no file, or no inbound table yet): nothing is ever created.
    JournalError (one line, password hidden) when a journal that exists cannot be read.
    """
    where = journal_target(url)
    words = [word.upper() for word in keywords]
    try:
        if isinstance(where, Path):
            return _sqlite_opt_outs(where, words)
        return _postgres_opt_outs(where, words)
    except Exception as exc:  # any driver's error: the caller refuses to run blind
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise JournalError(f"cannot read the journal {hide_password(str(where))}: "
                           f"{detail[0] if detail else type(exc).__name__}") from None


def _sqlite_opt_outs(path: Path, keywords: list[str]) -> list[OptOutSender] | None:
    """Read-only, as pipelines/operations/stores.py reads SQLite: `immutable` when no writer has a -wal open."""
    if not path.is_file():
        return None
    sql = read_named_sql("journal_sqlite.sql")
    immutable = "" if Path(f"{path}-wal").exists() else "&immutable=1"
    conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro{immutable}", uri=True, timeout=30.0)
    try:
        if conn.execute(sql["has_inbound"]).fetchone() is None:
            return None
        conn.create_function("upper", 1, lambda value: value.upper() if isinstance(value, str) else value,
                             deterministic=True)
        rows = conn.execute(sql["opt_out_senders"], (STOP_REPLY_TRIM, json.dumps(keywords))).fetchall()
    finally:
        conn.close()
    return [OptOutSender(*row) for row in rows]


def _postgres_opt_outs(url: str, keywords: list[str]) -> list[OptOutSender] | None:
    """In a read-only session; a URL without a password works through libpq's PGPASSWORD / ~/.pgpass."""
    import sqlalchemy

    sql = read_named_sql("journal_postgres.sql")
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool, connect_args={
        "connect_timeout": 10, "options": "-c default_transaction_read_only=on"})
    try:
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute(sql["has_inbound"])
            if not cursor.fetchone()[0]:
                return None
            cursor.execute(sql["opt_out_senders"], (STOP_REPLY_TRIM, keywords))
            return [OptOutSender(*row) for row in cursor.fetchall()]
        finally:
            conn.close()
    finally:
        engine.dispose()


_STOP = object()


class CommitStats(NamedTuple):
    """One journal transaction as the writer saw it (for metrics)."""

    rows: int  # inbound rows, delivery reports and dead letters written together
    inbound: int
    inbound_new: int
    dlr: int
    dlr_new: int
    dead_letters: int
    seconds: float


class _Call(NamedTuple):
    """Work run on the store in the writer thread, between batches."""

    function: Callable[[JournalStore], Any]


class GroupCommitJournal:
    """Async front of a journal store: concurrent appends share one transaction and one fsync.

    `max_batch=1` gives the naive one-commit-per-request behaviour (for benchmarks). `on_commit` hears
    every transaction written (from the writer thread).
    """

    def __init__(
        self,
        store_factory: Callable[[], JournalStore],
        max_batch: int = 2000,
        on_commit: Callable[[CommitStats], None] | None = None,
    ) -> None:
        self._store_factory = store_factory
        self.max_batch = max_batch
        self._on_commit = on_commit
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

    async def append(self, row: JournalItem) -> Any:
        """Return once `row` is committed (or was there already); for a ClickRow, its LinkTarget (None: unknown
        code, nothing written).

        Raises RowRejected when the database refused this row alone, another error when the write failed.
        """
        return await self._submit(row)

    async def run(self, function: Callable[[JournalStore], T]) -> T:
        """`function(store)` run in the writer thread (the store is not thread-safe), between batches."""
        result: T = await self._submit(_Call(function))
        return result

    async def _submit(self, item: Any) -> Any:
        assert self._loop is not None, "GroupCommitJournal.start() was not called"
        if self._thread is None or not self._thread.is_alive():
            raise JournalError("the journal writer is not running")
        future = self._loop.create_future()
        self._queue.put((item, future))
        return await future

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
            calls = [entry for entry in batch if isinstance(entry[0], _Call)]
            rows = [entry for entry in batch if not isinstance(entry[0], _Call)]
            if rows:
                store = self._commit(store, rows)
            for call, future in calls:
                store = self._call(store, call, future)
        if store is not None:
            store.close()

    def _commit(self, store: JournalStore | None, batch: list[tuple[Any, asyncio.Future[Any]]]) -> JournalStore | None:
        """Write `batch` in one transaction and resolve its futures; returns the store for the next batch.

        When the database refuses a value (`store.row_errors`), the rows are written one by one and only
        those refused fail, with RowRejected. After any other failure the connection is replaced (a
        PostgreSQL server may have dropped it), so the next batch works again once the database does.
        """
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]
        try:
            if store is None:
                store = self._store_factory()
            links = self._write(store, [row for row, _ in batch]).links or {}
            outcomes = [(future, _link_of(row, links), None) for row, future in batch]
        except Exception as exc:
            if store is not None and isinstance(exc, store.row_errors):
                outcomes = [(future, *self._write_alone(store, row)) for row, future in batch]
                if any(error is not None and not isinstance(error, RowRejected) for _, _, error in outcomes):
                    store = _discard(store)
            else:
                outcomes = [(future, None, exc) for _, future in batch]
                store = _discard(store)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_resolve, outcomes)
        return store

    def _write(self, store: JournalStore, rows: list[JournalItem]) -> WriteResult:
        inbound = [row for row in rows if isinstance(row, InboundRow)]
        dlr = [row for row in rows if isinstance(row, DlrRow)]
        dead = [row for row in rows if isinstance(row, DeadLetter)]
        clicks = [row for row in rows if isinstance(row, ClickRow)]
        started = time.perf_counter()
        written = store.write_batch(inbound, dlr, dead, clicks)
        seconds = time.perf_counter() - started
        self.commits += 1
        self.rows += len(rows)
        if self._on_commit is not None:
            self._on_commit(CommitStats(len(rows), len(inbound), written.inbound_new, len(dlr), written.dlr_new,
                                        len(dead), seconds))
        return written

    def _write_alone(self, store: JournalStore, row: JournalItem) -> tuple[Any, BaseException | None]:
        try:
            written = self._write(store, [row])
        except store.row_errors as exc:
            return None, RowRejected(f"the journal cannot store this payload ({type(exc).__name__})")
        except Exception as exc:
            return None, exc
        return _link_of(row, written.links or {}), None

    def _call(self, store: JournalStore | None, call: _Call, future: asyncio.Future[Any]) -> JournalStore | None:
        result: Any = None
        error: BaseException | None = None
        try:
            if store is None:
                store = self._store_factory()
            result = call.function(store)
        except Exception as exc:
            error = exc
            store = _discard(store)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_resolve_one, future, result, error)
        return store


def _discard(store: JournalStore | None) -> None:
    if store is not None:
        try:
            store.close()
        except Exception:  # the connection is broken already
            pass


def _link_of(row: JournalItem, links: dict[str, LinkTarget]) -> LinkTarget | None:
    """What a click's append returns: its link (None: unknown code); None for every other row."""
    return links.get(row.code) if isinstance(row, ClickRow) else None


def _resolve(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        _resolve_one(future, result, error)


def _resolve_one(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
