"""The campaign ledger: a SQLite file (WAL, synchronous=FULL) or tables in the shared PostgreSQL state.

Every state change is committed before the API call it precedes, so a rerun (on this machine or any
machine sharing the state) knows exactly which batches were confirmed (`sent`), which may have been sent
(`in_flight`, repeated with the same RequestId) and which never left (`planned`, `failed`). Tables are
described in ../README.md; both engines have the same tables and columns (sql/campaign_ledger_sqlite.sql,
sql/campaign_ledger_postgres.sql: the same statement names). This module is the one owner of both: the
readers (`sdsync status`, the source's sent_messages resource, `sdsync state migrate`) use its statements.
"""

from __future__ import annotations

import json
import sqlite3
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from smartdialog_sync.sqlfiles import read_named_sql
from smartdialog_sync.state.location import StateLocation, hide_password
from smartdialog_sync.state.migration import StateConflict, StoreMigration

from .arms import Arms, Assignment
from .batches import Batch, PlannedRecipient, split_batch
from .errors import CampaignError
from .frequency import FrequencyCap, purpose_of
from .recipients import Rejected

SQLITE, POSTGRES = "sqlite", "postgres"


def statements(dialect: str = SQLITE) -> dict[str, str]:
    """The named statements of sql/campaign_ledger_<dialect>.sql (`sqlite` or `postgres`)."""
    return read_named_sql(f"campaign_ledger_{dialect}.sql")


def dialect_of(target: str | Path) -> str:
    """`postgres` for a postgresql:// URL (from `StateLocation.ledger`), else `sqlite`."""
    return SQLITE if isinstance(target, Path) else POSTGRES


def describe(target: str | Path) -> str:
    """The ledger's place for messages: the file, or the database URL with its password hidden."""
    return str(target) if isinstance(target, Path) else hide_password(target)


def lock_state(target: str | Path) -> StateLocation:
    """Where a campaign's runner lock lives: the ledger's own database, or a file lock beside the ledger file."""
    if isinstance(target, Path):
        return StateLocation(target.parent)
    return StateLocation(Path("."), target)


def utc_now() -> str:
    """Now, as the ledger stores time (ISO 8601 UTC)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class CampaignRecord:
    """A campaign as the ledger knows it."""

    campaign_id: str
    kind: str
    fingerprint: str
    customer_id: str
    service_id: str
    message: dict[str, Any]
    description: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class LedgerBatch:
    """An unsent batch read back from the ledger, with its state."""

    batch: Batch
    status: str
    first_attempt_at: str | None


@dataclass(frozen=True)
class SentRecipient:
    """One row of sent_messages: the address and the recipient id the service gave it."""

    address: str
    recipient_id: str | None
    parts: int | None


class _Transaction(ABC):
    """One open transaction of a ledger connection: statements by name."""

    @abstractmethod
    def run(self, name: str, params: dict[str, Any] | None = None) -> int:
        """Run a statement; the rows it changed."""

    @abstractmethod
    def rows(self, name: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of a query."""

    @abstractmethod
    def bulk(self, name: str, rows: Iterable[Sequence[Any]]) -> None:
        """Write many rows through a bulk statement (`INSERT ... VALUES (?, ...)` / `COPY ... FROM STDIN`)."""


class _Connection(ABC):
    """A ledger's one connection (used by one thread at a time)."""

    dialect: str

    @abstractmethod
    def transaction(self) -> Any:
        """A context manager yielding a `_Transaction`, committed on exit (rolled back on an error)."""

    def read(self, name: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of a query, read in a transaction of its own."""
        with self.transaction() as db:
            return db.rows(name, params)

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""


class _SQLiteTransaction(_Transaction):
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db, self._sql = db, statements(SQLITE)

    def run(self, name: str, params: dict[str, Any] | None = None) -> int:
        return self._db.execute(self._sql[name], params or {}).rowcount

    def rows(self, name: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self._db.execute(self._sql[name], params or {}).fetchall()

    def bulk(self, name: str, rows: Iterable[Sequence[Any]]) -> None:
        self._db.executemany(self._sql[name], rows)


class _SQLiteConnection(_Connection):
    """The ledger file: WAL, synchronous=FULL (a commit survives power loss)."""

    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(statements(SQLITE)["schema"])
            _migrate(self._db)
        except sqlite3.DatabaseError as exc:
            raise CampaignError(f"cannot open the campaign ledger {path}: {exc}") from None

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLiteTransaction(self._db)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def read(self, name: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self._db.execute(statements(SQLITE)[name], params or {}).fetchall()  # autocommit: takes no write lock

    def close(self) -> None:
        self._db.close()


class _PostgresTransaction(_Transaction):
    def __init__(self, connection: Any) -> None:
        import sqlalchemy as sa

        self._conn, self._sql, self._text = connection, statements(POSTGRES), sa.text

    def run(self, name: str, params: dict[str, Any] | None = None) -> int:
        return self._conn.execute(self._text(self._sql[name]), params or {}).rowcount

    def rows(self, name: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._conn.execute(self._text(self._sql[name]), params or {})]

    def bulk(self, name: str, rows: Iterable[Sequence[Any]]) -> None:
        raw = self._conn.connection.driver_connection  # the psycopg 3 connection, inside this transaction
        with raw.cursor() as cursor, cursor.copy(self._sql[name]) as copy:
            for row in rows:
                copy.write_row(row)


class _PostgresConnection(_Connection):
    """The ledger's tables in the shared state (every commit durable on the server)."""

    dialect = POSTGRES

    def __init__(self, url: str) -> None:
        from smartdialog_sync.state.postgres import ensure_schema, state_engine

        self._url = url
        self._engine = state_engine(url, pool_size=1)
        try:
            self._conn = self._engine.connect()
            with self._conn.begin():
                ensure_schema(self._conn, statements(POSTGRES)["schema"])
        except Exception as exc:  # the driver's error: one line naming the database
            self._engine.dispose()
            raise self._unavailable(exc) from None

    def _unavailable(self, exc: BaseException) -> Exception:
        from smartdialog_sync.state.postgres import unavailable

        return unavailable(self._url, exc)

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        import sqlalchemy.exc

        try:
            with self._conn.begin():
                yield _PostgresTransaction(self._conn)
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as exc:
            raise self._unavailable(exc) from None

    def close(self) -> None:
        try:
            self._conn.close()
        finally:
            self._engine.dispose()


def _connect(target: str | Path) -> _Connection:
    return _SQLiteConnection(target) if isinstance(target, Path) else _PostgresConnection(target)


class Ledger:
    """A campaign ledger; open with `Ledger.open(target)` and close when done."""

    def __init__(self, target: str | Path, connection: _Connection) -> None:
        self.target = target
        self._db = connection

    @classmethod
    def open(cls, target: str | Path) -> "Ledger":
        """Open (creating if needed) the ledger at `target`: a file Path or a postgresql:// URL, as
        `StateLocation.ledger()` gives it."""
        return cls(target, _connect(target))

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgres`."""
        return self._db.dialect

    def describe(self) -> str:
        """Where the ledger is, for messages (password hidden)."""
        return describe(self.target)

    def close(self) -> None:
        """Close the ledger."""
        self._db.close()

    def _rows(self, name: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self._db.read(name, params)

    def campaign(self, campaign_id: str) -> CampaignRecord | None:
        """The campaign `campaign_id`, or None if the ledger does not know it."""
        rows = self._rows("campaign", {"campaign_id": campaign_id})
        if not rows:
            return None
        values = list(rows[0])
        values[5], values[6] = json.loads(values[5]), json.loads(values[6])
        return CampaignRecord(*values)

    def create_campaign(self, record: CampaignRecord, batches: Sequence[Batch], rejected: Sequence[Rejected],
                        assignments: Sequence[Assignment] = ()) -> None:
        """Write a campaign, all its planned batches and recipients, its rejected rows and (with variants or a
        holdout) every eligible recipient's arm, in one commit."""
        now = utc_now()
        campaign_id = record.campaign_id
        with self._db.transaction() as db:
            db.run("insert_campaign", {
                "campaign_id": campaign_id, "kind": record.kind, "fingerprint": record.fingerprint,
                "customer_id": record.customer_id, "service_id": record.service_id,
                "message": json.dumps(record.message, ensure_ascii=False),
                "description": json.dumps(record.description, ensure_ascii=False), "now": now,
            })
            db.run("insert_purpose", {"campaign_id": campaign_id, "purpose": purpose_of(record.description)})
            self._insert_batches(db, campaign_id, batches, now)
            db.bulk("insert_rejected", (
                (campaign_id, row.row_number, row.raw_phone, row.address, row.reason, row.detail) for row in rejected
            ))
            db.bulk("insert_assignments", (
                (campaign_id, row.address, row.variant, row.held_out) for row in assignments
            ))

    @staticmethod
    def _insert_batches(db: _Transaction, campaign_id: str, batches: Sequence[Batch], now: str) -> None:
        db.bulk("insert_batches", (
            (campaign_id, batch.batch_no, batch.request_id, "planned", len(batch.recipients),
             _json_or_none(batch.body_parameters), _json_or_none(batch.header_parameters), now, batch.send_at,
             _json_or_none(batch.time_zones or None))
            for batch in batches
        ))
        db.bulk("insert_recipients", (
            (campaign_id, batch.batch_no, position, r.address, json.dumps(r.personalization, ensure_ascii=False), r.parts)
            for batch in batches for position, r in enumerate(batch.recipients)
        ))

    def split_batch(self, kind: str, campaign_id: str, batch: Batch, size: int, reason: str) -> list[Batch]:
        """Replace an unsent (refused) batch by batches of at most `size` recipients, in one commit.

        The new batches are numbered after the campaign's last batch and get their own deterministic
        RequestIds, so a run killed before this commit splits the same way again.
        """
        now = utc_now()
        key = {"campaign_id": campaign_id, "batch_no": batch.batch_no}
        with self._db.transaction() as db:
            last = db.rows("max_batch_no", {"campaign_id": campaign_id})[0][0]
            parts = split_batch(kind, campaign_id, batch, size, last + 1)
            if db.run("delete_unsent_batch", key) != 1:
                raise CampaignError(f"batch {batch.batch_no} of {campaign_id} is not an unsent batch: not split")
            db.run("delete_batch_recipients", key)
            self._insert_batches(db, campaign_id, parts, now)
            db.run("insert_split", {**key, "request_id": batch.request_id, "reason": reason, "now": now,
                                    "into_batches": json.dumps([part.batch_no for part in parts])})
        return parts

    def learned_max(self, base_url: str, customer_id: str) -> int | None:
        """The most recipients per call this connection was found to accept (None: not learned)."""
        rows = self._rows("learned_max", {"base_url": base_url, "customer_id": customer_id})
        return rows[0][0] if rows else None

    def learn_max(self, base_url: str, customer_id: str, max_recipients: int, detail: str) -> None:
        """Remember that the connection accepts at most `max_recipients` per call (only ever lowered)."""
        with self._db.transaction() as db:
            db.run("learn_max", {"base_url": base_url, "customer_id": customer_id,
                                 "max_recipients": max_recipients, "detail": detail, "now": utc_now()})

    def has_sent(self, customer_id: str) -> bool:
        """True when any batch of any campaign of `customer_id` is confirmed sent in this ledger."""
        return bool(self._rows("has_sent", {"customer_id": customer_id}))

    def capped_addresses(self, customer_id: str, cap: FrequencyCap, now: datetime | None = None) -> dict[str, int]:
        """Addresses that reached `cap` with marketing messages of `customer_id` confirmed in its rolling period."""
        rows = self._rows("capped_addresses", {"customer_id": customer_id, "since": cap.since(now), "limit": cap.messages})
        return {address: int(count) for address, count in rows}

    def proof_state(self, request_id: str) -> tuple[str, str | None, str] | None:
        """(status, message_id, updated_at) of the proof send `request_id`, None if never tried."""
        rows = self._rows("proof", {"request_id": request_id})
        return tuple(rows[0]) if rows else None  # type: ignore[return-value]

    def mark_proof_in_flight(self, campaign_id: str, request_id: str, label: str, addresses: Sequence[str]) -> None:
        """Record that a proof send is about to be made (committed before the call)."""
        with self._db.transaction() as db:
            db.run("proof_in_flight", {"campaign_id": campaign_id, "request_id": request_id, "label": label,
                                       "addresses": json.dumps(list(addresses)), "now": utc_now()})

    def mark_proof_done(self, request_id: str, status: str, message_id: str | None = None, error: str | None = None) -> None:
        """Record a proof send's outcome: `sent` or `failed`."""
        with self._db.transaction() as db:
            db.run("proof_done", {"request_id": request_id, "status": status, "message_id": message_id,
                                  "error": error, "now": utc_now()})

    def unsent_batches(self, campaign_id: str) -> list[LedgerBatch]:
        """The batches not yet confirmed sent, in order, exactly as planned (same RequestIds); a campaign with A/B
        variants reads each batch's variant from its recipients' assignments."""
        key = {"campaign_id": campaign_id}
        record = self.campaign(campaign_id)
        variants = record is not None and bool(Arms.from_description(record.description).variants)
        with self._db.transaction() as db:
            rows = db.rows("unsent_batches", key)
            members: dict[int, list[PlannedRecipient]] = {row[0]: [] for row in rows}
            for batch_no, address, personalization, parts in db.rows("unsent_recipients", key):
                members[batch_no].append(PlannedRecipient(address, json.loads(personalization), parts))
            variant_of = dict(db.rows("unsent_batch_variants", key)) if variants else {}
        return [
            LedgerBatch(Batch(batch_no, request_id, tuple(members[batch_no]), _tuple_or_none(body), _tuple_or_none(header),
                              send_at, _tuple_or_none(zones) or (), variant_of.get(batch_no)), status, first_attempt_at)
            for batch_no, request_id, status, body, header, first_attempt_at, send_at, zones in rows
        ]

    def mark_in_flight(self, campaign_id: str, batch_no: int) -> None:
        """Record that the batch's call is about to be made (committed before the call)."""
        with self._db.transaction() as db:
            db.run("mark_in_flight", {"campaign_id": campaign_id, "batch_no": batch_no, "now": utc_now()})

    def mark_sent(self, campaign_id: str, batch: Batch, message_id: str | None, sent: Sequence[SentRecipient]) -> None:
        """Record a confirmed batch and its sent_messages rows, in one commit."""
        now = utc_now()
        with self._db.transaction() as db:
            db.run("mark_sent", {"campaign_id": campaign_id, "batch_no": batch.batch_no,
                                 "message_id": message_id, "now": now})
            if self.dialect == POSTGRES:
                db.rows("sent_messages_writer")
            db.bulk("insert_sent_messages", (
                (campaign_id, batch.batch_no, batch.request_id, message_id, row.recipient_id, row.address, row.parts, now)
                for row in sent
            ))

    def mark_failed(self, campaign_id: str, batch_no: int, error: str) -> None:
        """Record that the service refused the batch (it was not sent)."""
        with self._db.transaction() as db:
            db.run("mark_failed", {"campaign_id": campaign_id, "batch_no": batch_no, "error": error, "now": utc_now()})

    def settle_in_flight(self, campaign_id: str, outcome: str, batch_numbers: Sequence[int] = ()) -> list[int]:
        """Settle in-flight batches by what the operator found out: `sent` (recorded as sent, its recipients in
        sent_messages) or `not-sent` (planned again, so the next run sends it). `batch_numbers` empty: every
        in-flight batch of the campaign. The batch numbers settled, in order."""
        in_flight = [int(no) for (no,) in self._rows("in_flight_batches", {"campaign_id": campaign_id})]
        chosen = [no for no in in_flight if not batch_numbers or no in batch_numbers]
        with self._db.transaction() as db:
            for batch_no in chosen:
                key = {"campaign_id": campaign_id, "batch_no": batch_no, "now": utc_now()}
                if outcome == "sent":
                    db.run("settle_sent_messages", key)
                    db.run("settle_sent", key)
                else:
                    db.run("settle_not_sent", key)
        return chosen

    def status_counts(self, campaign_id: str) -> dict[str, tuple[int, int]]:
        """For each batch state: (batches, recipients)."""
        rows = self._rows("status_counts", {"campaign_id": campaign_id})
        return {status: (int(batches), int(recipients)) for status, batches, recipients in rows}

    def rejected_counts(self, campaign_id: str) -> dict[str, int]:
        """How many rows were left out for each reason."""
        return {reason: int(count) for reason, count in self._rows("rejected_counts", {"campaign_id": campaign_id})}

def _migrate(connection: sqlite3.Connection) -> None:
    """Add the columns newer versions use to a ledger written by an older one."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(campaign_batches)")}
    if "send_date_time" not in columns:
        connection.executescript(statements(SQLITE)["migrate_batches"])


def _json_or_none(values: tuple[str, ...] | None) -> str | None:
    return None if values is None else json.dumps(list(values), ensure_ascii=False)


def _tuple_or_none(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))


# --- copying a local ledger into the shared state ---------------------------------------------------------

# Per campaign: (table, export statement, bulk insert statement on PostgreSQL, what names a row in a conflict).
_CAMPAIGN_TABLES = (
    ("campaign_batches", "export_batches", "import_batches", lambda row: f"batch {row[1]}"),
    ("campaign_recipients", "export_recipients", "insert_recipients", lambda row: f"batch {row[1]} position {row[2]}"),
    ("campaign_rejected", "export_rejected", "insert_rejected", lambda row: f"rejected row {row[1]}"),
    ("sent_messages", "export_sent_messages", "", lambda row: f"row to {row[6]}"),
    ("campaign_batch_splits", "export_splits", "", lambda row: f"split of batch {row[1]}"),
    ("campaign_assignments", "export_assignments", "insert_assignments", lambda row: f"assignment of {row[1]}"),
    ("campaign_purposes", "export_purposes", "import_purposes", lambda row: "purpose"),
)


def migrate_ledger(source: Path, target_url: str) -> StoreMigration:
    """Copy the local ledger `source` into the PostgreSQL ledger at `target_url`, in one transaction.

    Idempotent: a campaign already there with equal rows is skipped. A campaign (or learned limit) there
    with different data raises StateConflict naming it, and nothing is written. sent_messages rows keep
    their SQLite rowid as their seq when the target has none yet (a pull's cursor carries on), else they
    come after every seq of either side.
    """
    label = str(source)
    if not source.exists():
        return StoreMigration("ledger", label)
    local, shared = _SQLiteConnection(source), _PostgresConnection(target_url)
    copied: dict[str, int] = {}
    there: dict[str, int] = {}

    def count(into: dict[str, int], table: str, rows: int) -> None:
        if rows:
            into[table] = into.get(table, 0) + rows

    try:
        with shared.transaction() as db:
            db.rows("sent_messages_writer")
            target_max = int(db.rows("max_seq")[0][0])
            new_sent: list[tuple[Any, ...]] = []
            source_max = 0
            for campaign_row in local.read("export_campaigns"):
                campaign_id = campaign_row[0]
                key = {"campaign_id": campaign_id}
                mine = {table: local.read(export, key) for table, export, _, _ in _CAMPAIGN_TABLES}
                source_max = max([source_max, *(row[0] for row in mine["sent_messages"])])
                existing = db.rows("campaign", key)
                if existing:
                    if tuple(existing[0]) != tuple(campaign_row):
                        raise StateConflict(f"campaign {campaign_id}: the target holds a different campaign under this id; "
                                            "nothing of the ledger was copied")
                    for table, export, _, name in _CAMPAIGN_TABLES:
                        _compare(campaign_id, table, mine[table], db.rows(export, key), name)
                        count(there, table, len(mine[table]))
                    count(there, "campaigns", 1)
                    continue
                db.run("insert_campaign", dict(zip(
                    ("campaign_id", "kind", "fingerprint", "customer_id", "service_id", "message", "description", "now"),
                    campaign_row)))
                count(copied, "campaigns", 1)
                for table, _, insert, _ in _CAMPAIGN_TABLES:
                    if insert:
                        db.bulk(insert, mine[table])
                    count(copied, table, len(mine[table]))
                new_sent.extend(mine["sent_messages"])
                for split in mine["campaign_batch_splits"]:
                    db.run("import_split", dict(zip(
                        ("campaign_id", "batch_no", "request_id", "into_batches", "reason", "split_at"), split)))
            offset = 0 if target_max == 0 else max(target_max, source_max)
            db.bulk("import_sent_messages", ((offset + row[0], *row[1:]) for row in new_sent))
            if new_sent:
                db.rows("advance_seq", {"seq": offset + max(row[0] for row in new_sent)})
            _migrate_limits(local, db, copied, there, count)
    finally:
        local.close()
        shared.close()
    return StoreMigration("ledger", label, copied, there)


def _migrate_limits(local: _Connection, db: _Transaction, copied: dict[str, int], there: dict[str, int],
                    count: Any) -> None:
    theirs = {row[:2]: tuple(row) for row in db.rows("export_limits")}
    for row in local.read("export_limits"):
        found = theirs.get(tuple(row[:2]))
        if found is None:
            db.run("import_limit", dict(zip(("base_url", "customer_id", "max_recipients", "detail", "learned_at"), row)))
            count(copied, "connection_limits", 1)
        elif found == tuple(row):
            count(there, "connection_limits", 1)
        else:
            raise StateConflict(f"the learned recipient limit of {row[0]} customer {row[1]} differs "
                                f"({row[2]} here, {found[2]} there); nothing of the ledger was copied")


def _compare(campaign_id: str, table: str, mine: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]],
             name: Any) -> None:
    """Raise StateConflict naming the first row of `table` that differs between the two ledgers."""
    skip = 1 if table == "sent_messages" else 0  # its rowid / seq says where the row is, not what it says
    here = {name(row): tuple(row[skip:]) for row in mine}
    there = {name(row): tuple(row[skip:]) for row in theirs}
    for key in sorted(set(here) | set(there)):
        if here.get(key) != there.get(key):
            raise StateConflict(f"campaign {campaign_id}: {table} {key} differs from the target's; "
                                "nothing of the ledger was copied")


# --- read-only readers (never create a file, a table or a lock) -------------------------------------------

Page = Callable[[int, int], list[dict[str, Any]]]


Query = Callable[[str, dict[str, Any]], list[dict[str, Any]]]


@contextmanager
def readonly_ledger(target: str | Path, table: str) -> Iterator[Query | None]:
    """`run(statement, params)`: the ledger's named read-only statements as dicts, on one read-only connection.

    None when there is no ledger (or no `table` in it) at `target` yet: nothing is created.
    """
    if isinstance(target, Path):
        if not target.exists():
            yield None
            return
        sql = statements(SQLITE)
        conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            if table not in {name for (name,) in conn.execute(sql["tables"])}:
                yield None
                return
            yield lambda name, params: [dict(row) for row in conn.execute(sql[name], params)]
        finally:
            conn.close()
        return
    import sqlalchemy as sa

    from smartdialog_sync.state.postgres import state_engine, unavailable

    sql = statements(POSTGRES)
    engine = state_engine(target, pool_size=1)
    try:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            if table not in {name for (name,) in conn.execute(sa.text(sql["tables"]))}:
                yield None
                return
            yield lambda name, params: [dict(row._mapping) for row in conn.execute(sa.text(sql[name]), params)]
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        raise unavailable(target, exc) from None
    finally:
        engine.dispose()


@contextmanager
def sent_messages_reader(target: str | Path) -> Iterator[Page | None]:
    """`read(after, limit)`: sent_messages rows after the cursor `ledger_rowid`, in commit order, read-only.

    None when there is no ledger (or no sent_messages table) at `target` yet.
    """
    with readonly_ledger(target, "sent_messages") as run:
        if run is None:
            yield None
            return
        tables = {str(next(iter(row.values()))) for row in run("tables", {})}
        statement = "read_sent_messages" if "campaign_assignments" in tables else "read_sent_messages_before_arms"
        yield lambda after, limit: run(statement, {"after": after, "limit": limit})


@contextmanager
def assignments_reader(target: str | Path) -> Iterator[Callable[[set[str]], Iterator[tuple[str, list[dict[str, Any]]]]] | None]:
    """`read(known)`: (campaign id, its recipients' arms) of each campaign with variants or a holdout not in `known`,
    read-only (a campaign's arms are written in the commit that plans it: complete once visible). None: no ledger."""
    with readonly_ledger(target, "campaign_assignments") as run:
        if run is None:
            yield None
            return

        def read(known: set[str]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
            for (campaign_id,) in (tuple(row.values()) for row in run("read_assigned_campaigns", {})):
                if campaign_id not in known:
                    rows = run("read_assignments", {"campaign_id": campaign_id})
                    yield campaign_id, [{**row, "held_out": bool(row["held_out"])} for row in rows]

        yield read


def read_campaign_names(target: str | Path) -> list[dict[str, Any]]:
    """The ledger's campaigns with what a person recognises them by: channel, the start of the message or the
    template name, when it was created (read-only; empty when there is no ledger)."""
    with readonly_ledger(target, "campaigns") as run:
        return [] if run is None else run("read_campaign_names", {})
