"""The state store of the contact sync: last-applied hashes, the operation journal, runs, rejects.

One module owns the contact state on both engines (SQL in sql/contacts_state_duckdb.sql and
sql/contacts_state_postgres.sql, statements of the same names):

* `DuckContactState`: a local DuckDB file (the default, `<data_dir>/contacts_state.duckdb`); the plan's temp
  tables live on the same connection.
* `PostgresContactState`: the shared state (`state_url`, or `--state postgresql://...`). DuckDB stays the
  compute engine: an in-memory DuckDB holds the staged CRM rows, validation and the diff; the group's state,
  rejections and the phones it needs are loaded into it by COPY, and every durable change goes to PostgreSQL.

Exactly-once over an API without idempotency keys rests on three rules kept here, on both engines:
the plan is committed to `contact_ops` before any call; an op is marked `inflight` (committed) before
its call (a group of ops in one transaction, before any of their calls); the op becomes `done` and the
contact's new hash is written to `contact_state` in ONE transaction after the 2xx (again a group of ops
per transaction, after all of their answers). An op found `inflight` later, by this machine or another one
sharing the state, has an unknown outcome and is reconciled, never blindly repeated
(see applier.reconcile_inflight).
"""

from __future__ import annotations

import io
import json
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import duckdb
import pyarrow as pa

from smartdialog_sync.errors import SdsyncError
from smartdialog_sync.sqlfiles import read_named_sql
from smartdialog_sync.state.location import hide_password, is_postgres_url

if TYPE_CHECKING:
    from concurrent.futures import Future

    from smartdialog_sync.state.migration import StoreMigration

# The reason (and result) of an update-only op whose contact the group does not hold: it is kept in
# server_rejections with the payload's hash (not sent again until the row changes) and in rejected_rows.
NO_CONTACT = "no_contact"
RAW_HASH_SHIFT = 1 << 63  # PostgreSQL has no unsigned 64-bit integer: raw_hash is kept there shifted by -2^63


class StateStoreBusy(SdsyncError):
    """Another process holds the state database file (a sync of the same state file is running)."""


def duck_sql() -> dict[str, str]:
    """The DuckDB statements (the local file, and the in-memory compute of either engine)."""
    return read_named_sql("contacts_state_duckdb.sql")


def postgres_sql() -> dict[str, str]:
    """The PostgreSQL statements (the shared state)."""
    return read_named_sql("contacts_state_postgres.sql")


FORGET_GROUP_STATEMENTS = tuple(f"forget_group_{table}" for table in
                                ("contact_ops", "planned_ops", "rejected_rows", "field_warnings", "sync_runs"))
READ_ONLY_STATEMENTS = ("tables", "status_last_runs", "status_open_ops", "status_server_rejections",
                        "status_rejected_rows", "status_field_warnings", "status_known", "managed_phones")


def read_only_sql(engine: str) -> dict[str, str]:
    """The read-only statements `sdsync status` and the source run on the state ("duckdb" or "postgres"):
    tables, status_* per group, managed_phones. They take no parameters and never write."""
    statements = duck_sql() if engine == "duckdb" else postgres_sql()
    return {name: statements[name] for name in READ_ONLY_STATEMENTS}


def managed_phones(target: str | Path) -> list[tuple[str, str, str]]:
    """(customer, group_service, phone) of every contact the sync manages, read-only from the state wherever
    it is; empty when there is no state yet (nothing is created)."""
    if isinstance(target, str) and is_postgres_url(target):
        from smartdialog_sync.state.postgres import state_engine, unavailable

        engine = state_engine(target, pool_size=1)
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                tables = {name for (name,) in connection.exec_driver_sql(postgres_sql()["tables"])}
                if "contact_state" not in tables:
                    return []
                return [tuple(row) for row in connection.exec_driver_sql(postgres_sql()["managed_phones"])]
        except Exception as exc:  # the driver's error: one line naming the database
            raise unavailable(target, exc) from None
        finally:
            engine.dispose()
    path = Path(target)
    if not path.exists():
        return []
    with duckdb.connect(str(path), read_only=True) as con:
        return [tuple(row) for row in con.execute(duck_sql()["managed_phones"]).fetchall()]


@dataclass(frozen=True)
class Operation:
    """One planned API call of the journal."""

    run_id: int
    seq: int
    op: str
    phone: str
    source_key: str | None
    payload: dict[str, Any] | None
    hash: str | None
    raw_hash: int | None


@dataclass(frozen=True)
class Outcome:
    """How an applied op ended: status done | rejected | interrupted | inflight (unknown), with its result."""

    op: Operation
    status: str
    result: str | None = None
    error: str | None = None


class ContactStateStore(ABC):
    """The contact state of one engine. `con` is the DuckDB connection the plan is computed on."""

    con: duckdb.DuckDBPyConnection
    location: str

    # --- what differs per engine ---------------------------------------------------------------------

    @abstractmethod
    def _sql(self, name: str) -> str:
        """The statement `name` of this engine."""

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one durable statement; its rows (empty for a write)."""

    @abstractmethod
    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One durable transaction."""

    @abstractmethod
    def _insert_computed(self, table: str, select: str, params: Sequence[Any]) -> None:
        """Store the rows of `select` (run on `con`) into the durable `table`."""

    def _stored_raw_hash(self, value: int | None) -> int | None:
        """A raw hash as the durable store keeps it."""
        return value

    def load_group(self, customer: str, group_service: str) -> None:
        """Make the group's state readable by the plan on `con` (nothing to do when `con` is the state)."""

    def state_ready(self) -> None:
        """Wait until the state load_group started reading is on `con` (the CRM is hashed meanwhile)."""

    def load_phones(self) -> None:
        """Make the phone cache entries the rows to validate need readable on `con` (see load_group)."""

    def load_contacts(self) -> None:
        """Make the contacts the diff reads in full readable on `con`, once the rows to validate and their
        phones are known (see load_group)."""

    @abstractmethod
    def add_phones(self, new_phones: pa.Table) -> None:
        """Add normalised phones (phone_raw, region, e164, error) to the cache, on `con` and durably."""

    @abstractmethod
    def close(self) -> None:
        """Close the connections (releases the file lock of a DuckDB file)."""

    def __enter__(self) -> "ContactStateStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- runs ----------------------------------------------------------------------------------------

    def start_run(self, customer: str, group_service: str, mode: str, dry_run: bool) -> int:
        """Record a new run and return its id."""
        return int(self._execute(self._sql("start_run"), [customer, group_service, mode, dry_run])[0][0])

    def finish_run(self, run_id: int, status: str, **figures: Any) -> None:
        """Close a run with its status and figures (columns of sync_runs, named by the code only)."""
        mark = self._placeholder
        columns = [f"status = {mark}", "finished_at = now()"] + [f"{name} = {mark}" for name in figures]
        self._execute(f"UPDATE sync_runs SET {', '.join(columns)} WHERE run_id = {mark}",
                      [status, *figures.values(), run_id])

    @abstractmethod
    def run_record(self, run_id: int) -> dict[str, Any]:
        """The sync_runs row of a run, as a dict."""

    _placeholder = "?"

    def holds_group(self, customer: str, group_service: str) -> bool:
        """Whether the state holds a contact of the group (its group service has taken contacts before)."""
        return bool(self._execute(self._sql("holds_group"), [customer, group_service])[0][0])

    # --- the plan and the journal --------------------------------------------------------------------

    def save_rejected_rows(self, run_id: int, customer: str, group_service: str, no_contact: bool = False) -> int:
        """Store this run's rejected candidates in rejected_rows (with `no_contact`, also the rows an earlier
        update-only run found without a contact); return how many."""
        self._insert_computed("rejected_rows", duck_sql()["rows_rejected"], [run_id, customer, group_service])
        if no_contact:
            self._insert_computed("rejected_rows", duck_sql()["rows_no_contact"],
                                  [run_id, customer, group_service, customer, group_service])
        return int(self._execute(self._sql("count_rejected_rows"), [run_id])[0][0])

    def save_field_warnings(self, run_id: int, customer: str, group_service: str) -> int:
        """Store the field warnings of this run's rows to send in field_warnings; return how many."""
        self._insert_computed("field_warnings", duck_sql()["rows_field_warnings"], [run_id, customer, group_service])
        return int(self._execute(self._sql("count_field_warnings"), [run_id])[0][0])

    def write_dry_plan(self, run_id: int, customer: str, group_service: str) -> None:
        """Store contact_plan in planned_ops (a dry run's output)."""
        self._insert_computed("planned_ops", duck_sql()["rows_planned"], [run_id, customer, group_service])

    def write_journal(self, run_id: int, customer: str, group_service: str) -> None:
        """Commit contact_plan as this run's journal, superseding open ops of earlier runs, before any call."""
        with self._transaction():
            self._execute(self._sql("supersede_open_ops"), [customer, group_service])
            self._insert_computed("contact_ops", self._journal_rows_sql, [run_id, customer, group_service])

    _journal_rows_sql = duck_sql()["rows_journal"]

    def planned_ops(self, run_id: int, batch: int = 1000) -> Iterator[Operation]:
        """The run's planned ops in order, read page by page."""
        last = 0
        while True:
            rows = self._execute(self._sql("planned_page"), [run_id, last, batch])
            if not rows:
                return
            for row in rows:
                yield self._operation(row)
            last = rows[-1][1]

    def inflight_ops(self, customer: str, group_service: str) -> list[Operation]:
        """Ops of earlier runs (on any machine sharing the state) whose call started but whose outcome was never recorded."""
        return [self._operation(row) for row in self._execute(self._sql("inflight_ops"), [customer, group_service])]

    def mark_inflight(self, ops: Sequence[Operation]) -> None:
        """Commit, in one transaction, that the calls of `ops` are about to be made."""
        if ops:
            self._execute(self._sql("mark_inflight"), [ops[0].run_id, [op.seq for op in ops]])

    def mark_planned(self, ops: Sequence[Operation]) -> None:
        """Put ops marked in flight whose calls were never started back to `planned`."""
        if ops:
            self._execute(self._sql("mark_planned"), [ops[0].run_id, [op.seq for op in ops]])

    def record_outcomes(self, customer: str, group_service: str, outcomes: Sequence[Outcome]) -> None:
        """Record the outcomes of ops in ONE transaction: each op's status, and for a done op the contact's
        new state (its hash, or its removal); a refused payload is remembered so an unchanged row is not
        sent again (an update-only op without a contact also becomes a rejected_rows row of its run, reason
        no_contact, and its contact is no longer held to exist). An op with status `inflight` stays so (its outcome is unknown: the next run reads it back)."""
        settled = [o for o in outcomes if o.status != "inflight"]
        if not settled:
            return
        done = [o.op for o in settled if o.status == "done"]
        kept = [op for op in done if op.op != "delete"]
        refused = [o for o in settled if o.status == "rejected"]
        without_contact = [o.op for o in refused if o.result == NO_CONTACT]
        gone = [op.phone for op in done if op.op == "delete"] + [op.phone for op in without_contact]
        with self._transaction():
            self._execute(self._sql("record_outcomes"),
                          [[o.op.seq for o in settled], [o.status for o in settled], [o.result for o in settled],
                           [o.error for o in settled], settled[0].op.run_id])
            if kept:
                self._remember(customer, group_service, [op.phone for op in kept], [op.hash for op in kept],
                               [op.raw_hash for op in kept], [op.source_key for op in kept])
            if gone:
                self._forget(customer, group_service, gone)
            if done:
                self._execute(self._sql("clear_rejections"), [customer, group_service, [op.phone for op in done]])
            if refused:
                self._execute(self._sql("add_rejections"),
                              [customer, group_service, [o.op.phone for o in refused],
                               [o.op.hash or "" for o in refused], [o.error or "" for o in refused]])
            if without_contact:
                self._execute(self._sql("add_rejected_rows"),
                              [without_contact[0].run_id, customer, group_service,
                               [op.source_key for op in without_contact], [op.phone for op in without_contact],
                               NO_CONTACT])

    def settle_inflight(self, op: Operation, customer: str, group_service: str, applied: bool,
                        exists: bool, content_hash: str | None) -> None:
        """Record what reconciliation found for an in-flight op of an earlier run, and close that op.

        `applied` says whether the op's call took effect; `exists` whether the contact is in the group now,
        with `content_hash` its known content (None = unknown, which makes the next plan update it).
        """
        raw_hash = op.raw_hash if applied else None
        with self._transaction():
            self._execute(self._sql("set_status"), ["done" if applied else "superseded",
                                                    "reconciled: " + ("applied" if applied else "not applied"),
                                                    op.run_id, op.seq])
            if exists:
                self._remember(customer, group_service, [op.phone], [content_hash], [raw_hash], [op.source_key])
            else:
                self._forget(customer, group_service, [op.phone])
        self._mirror(customer, group_service, op.phone, content_hash if exists else None, raw_hash, exists)

    def _mirror(self, customer: str, group_service: str, phone: str, content_hash: str | None,
                raw_hash: int | None, exists: bool) -> None:
        """Keep the plan's copy of the state in step with a settled op (when it is a copy)."""

    def clear_group(self, customer: str, group_service: str) -> None:
        """Forget everything known about a group (after DeleteAllGroupContacts)."""
        with self._transaction():
            for name in ("clear_group_state", "clear_group_rejections", "supersede_group_ops"):
                self._execute(self._sql(name), [customer, group_service])

    def forget_group(self, customer: str, group_service: str) -> None:
        """Forget a group abandoned for good: its contact state, ops, runs, rejected rows and field warnings."""
        with self._transaction():
            for name in ("clear_group_state", "clear_group_rejections", *FORGET_GROUP_STATEMENTS):
                self._execute(self._sql(name), [customer, group_service])

    # --- what a run reports --------------------------------------------------------------------------

    def rejected_sample(self, run_id: int, limit: int) -> list[tuple[Any, ...]]:
        """The first rejected rows of a run: (source key, phone, reason)."""
        return self._execute(self._sql("rejected_sample"), [run_id, limit])

    def warnings_sample(self, run_id: int, limit: int) -> list[tuple[Any, ...]]:
        """The first field warnings of a run: (source key, field, value, reason)."""
        return self._execute(self._sql("warnings_sample"), [run_id, limit])

    def ops_left(self, run_id: int) -> int:
        """The run's ops still planned (a run that reached its call budget)."""
        return int(self._execute(self._sql("ops_left"), [run_id])[0][0])

    # --- helpers -------------------------------------------------------------------------------------

    def _remember(self, customer: str, group_service: str, phones: list[str], hashes: list[str | None],
                  raw_hashes: list[int | None], source_keys: list[str | None]) -> None:
        self._execute(self._sql("remember"), [customer, group_service, phones, hashes,
                                              [self._stored_raw_hash(h) for h in raw_hashes], source_keys])

    def _forget(self, customer: str, group_service: str, phones: list[str]) -> None:
        self._execute(self._sql("forget"), [customer, group_service, phones])

    def _operation(self, row: Sequence[Any]) -> Operation:
        run_id, seq, op, phone, source_key, payload, content_hash, raw_hash = row
        return Operation(run_id, seq, op, phone, source_key, json.loads(payload) if payload else None,
                         content_hash, self._loaded_raw_hash(raw_hash))

    def _loaded_raw_hash(self, value: int | None) -> int | None:
        """A raw hash as the durable store gives it back, as the plan computes it."""
        return value


class DuckContactState(ContactStateStore):
    """The state in a local DuckDB file; the planner's temp tables live on the same connection."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path))
        except duckdb.IOException as exc:
            raise StateStoreBusy(f"cannot open the state database {path}: {exc}") from None
        self.path = path
        self.location = str(path)
        self.con.execute(duck_sql()["schema"])

    def _sql(self, name: str) -> str:
        return duck_sql()[name]

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.con.execute(sql, list(params))
        return cursor.fetchall() if cursor.description else []

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.con.begin()
        try:
            yield
        except BaseException:
            self.con.rollback()
            raise
        self.con.commit()

    def _insert_computed(self, table: str, select: str, params: Sequence[Any]) -> None:
        self.con.execute(f"INSERT INTO {table} BY NAME {select}", list(params))

    def add_phones(self, new_phones: pa.Table) -> None:
        self.con.register("new_phones", new_phones)
        try:
            self.con.execute(duck_sql()["insert_phones"])
        finally:
            self.con.unregister("new_phones")

    def run_record(self, run_id: int) -> dict[str, Any]:
        cursor = self.con.execute(duck_sql()["run_record"], [run_id])
        names = [column[0] for column in cursor.description]
        return dict(zip(names, cursor.fetchall()[0]))

    def close(self) -> None:
        self.con.close()


class PostgresContactState(ContactStateStore):
    """The shared state in PostgreSQL; the plan is computed in an in-memory DuckDB loaded from it."""

    _placeholder = "%s"
    _journal_rows_sql = duck_sql()["rows_journal_shifted"]

    def __init__(self, url: str) -> None:
        from smartdialog_sync.state.postgres import (
            ensure_schema,
            state_engine,
            unavailable,
        )

        self.location = hide_password(url)
        self._url = url
        self._engine = state_engine(url, pool_size=1)
        try:
            with self._engine.begin() as connection:
                ensure_schema(connection, postgres_sql()["schema"])
            self._raw = self._engine.raw_connection()
        except Exception as exc:  # the driver's error: one line naming the database
            self._engine.dispose()
            raise unavailable(url, exc) from None
        self.pg: Any = self._raw.driver_connection
        self.pg.autocommit = True
        self._group = ("", "")
        self._raw_rows = 0
        self._loading: Future[tuple[pa.Table, pa.Table]] | None = None
        self.con = duckdb.connect(":memory:")
        self.con.execute(duck_sql()["memory_schema"])

    def _sql(self, name: str) -> str:
        return postgres_sql()[name]

    def _stored_raw_hash(self, value: int | None) -> int | None:
        return None if value is None else value - RAW_HASH_SHIFT

    def _loaded_raw_hash(self, value: int | None) -> int | None:
        return None if value is None else value + RAW_HASH_SHIFT

    def _execute(self, sql: Any, params: Sequence[Any] = (), binary: bool = False) -> list[tuple[Any, ...]]:
        with self._reachable(), self.pg.cursor(binary=binary) as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchall() if cursor.description else []

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._reachable(), self.pg.transaction():
            yield

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """A lost connection to the state becomes the one-line StateUnavailable (exit 1; the journal stays)."""
        import psycopg

        from smartdialog_sync.state.postgres import unavailable

        try:
            yield
        except psycopg.OperationalError as exc:
            raise unavailable(self._url, exc) from None

    def _insert_computed(self, table: str, select: str, params: Sequence[Any]) -> None:
        rows = self.con.sql(select, params=list(params)).to_arrow_table()
        if rows.num_rows:
            self._copy_in(self._sql(f"copy_{'journal' if table == 'contact_ops' else table}"), rows)

    def _copy_in(self, statement: str, rows: pa.Table) -> None:
        """COPY an Arrow table (columns in the statement's order) into PostgreSQL, as CSV."""
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(rows, buffer)
        with self._reachable(), self.pg.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(buffer.getbuffer())

    def _copy_out(self, statement: str, params: Sequence[Any], schema: pa.Schema) -> pa.Table:
        """The rows a `COPY (...) TO STDOUT (FORMAT csv)` statement gives, as an Arrow table of `schema`."""
        import pyarrow.csv as pacsv

        chunks: list[bytes] = []
        with self._reachable(), self.pg.cursor() as cursor, cursor.copy(statement, list(params)) as copy:
            for chunk in copy:
                chunks.append(bytes(chunk))
        data = b"".join(chunks)
        if not data:
            return schema.empty_table()
        return pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=schema.names, block_size=1 << 24),
            # COPY's CSV writes NULL as an empty field and an empty string as "".
            convert_options=pacsv.ConvertOptions(column_types=schema, null_values=[""], strings_can_be_null=True,
                                                 quoted_strings_can_be_null=False),
        )

    def load_group(self, customer: str, group_service: str) -> None:
        """Start reading the group's raw hashes (all of them, 8 bytes each) and its server rejections, on a
        thread of its own while the CRM rows are hashed; state_ready puts them into the in-memory DuckDB. The
        phones and hashes the diff needs follow in load_contacts, once the changed rows are known."""
        from concurrent.futures import ThreadPoolExecutor

        self.state_ready()  # a load already under way is finished first
        self._group = (customer, group_service)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="contact-state-load")
        self._loading = pool.submit(self._read_group, customer, group_service)
        pool.shutdown(wait=False)  # the thread ends with its one task

    def _read_group(self, customer: str, group_service: str) -> tuple[pa.Table, pa.Table]:
        """The group's raw hashes (with the few contacts without one, in full) and server rejections."""
        import numpy as np

        packed = self._execute(self._sql("load_raw_hashes"), [customer, group_service], binary=True)[0][0]
        # Stored shifted by -2^63: adding 2^63 back is flipping the top bit of the unsigned value.
        raw_hashes = np.frombuffer(packed or b"", dtype=">u8").astype(np.uint64) ^ np.uint64(RAW_HASH_SHIFT)
        unknown = self._execute(self._sql("load_unknown_raw"), [customer, group_service])
        loaded = pa.table({
            "phone": pa.concat_arrays([pa.nulls(len(raw_hashes), pa.string()), pa.array([r[0] for r in unknown], pa.string())]),
            "hash": pa.concat_arrays([pa.nulls(len(raw_hashes), pa.string()), pa.array([r[1] for r in unknown], pa.string())]),
            "raw_hash": pa.concat_arrays([pa.array(raw_hashes, pa.uint64()), pa.nulls(len(unknown), pa.uint64())]),
        })
        rejections = self._execute(self._sql("load_rejections"), [customer, group_service])
        return loaded, _table(("phone", "hash", "reason"), rejections)

    def state_ready(self) -> None:
        loading, self._loading = self._loading, None
        if loading is None:
            return
        loaded, rejections = loading.result()
        customer, group_service = self._group
        self._raw_rows = loaded.num_rows - loaded["raw_hash"].null_count
        self.con.register("loaded_state", loaded)
        self.con.register("loaded_rejections", rejections)
        try:
            self.con.execute(duck_sql()["memory_state"], [customer, group_service])
            self.con.execute("DELETE FROM server_rejections")
            self.con.execute(duck_sql()["memory_rejections"], [customer, group_service])
        finally:
            self.con.unregister("loaded_state")
            self.con.unregister("loaded_rejections")

    def load_contacts(self) -> None:
        """Read in full the contacts the diff looks at beyond their raw hash: those no applied CRM row matched
        (changed or gone), those several applied rows share (a copied row), and those with the phone of a row to
        validate. A nightly run reads about as many contacts as rows changed."""
        customer, group_service = self._group
        memory = duck_sql()
        wanted = [row[0] for row in self.con.execute(memory["memory_wanted_raw_hashes"]).fetchall()]
        applied = self.con.execute(memory["memory_applied_rows"]).fetchall()[0][0]
        if applied > self._raw_rows - len(wanted):  # more applied rows than contacts they matched: a row copied
            wanted += [row[0] for row in self.con.execute(memory["memory_copied_raw_hashes"]).fetchall()]
        phones = [row[0] for row in self.con.execute(memory["memory_wanted_phones"]).fetchall()]
        if not wanted and not phones:
            return
        rows = self._execute(self._sql("load_contacts"), [customer, group_service, wanted, phones])
        self.con.register("loaded_contacts", _table(("phone", "hash", "raw_hash"), rows, raw_hash=True))
        try:
            self.con.execute(memory["memory_contacts_drop"])
            self.con.execute(memory["memory_contacts_add"], [customer, group_service])
        finally:
            self.con.unregister("loaded_contacts")

    def load_phones(self) -> None:
        """Load the cached normalisations of the rows to validate (table crm_fresh) into the in-memory DuckDB."""
        pairs = self.con.sql(duck_sql()["fresh_phone_pairs"]).to_arrow_table()
        self.con.execute("DELETE FROM phone_cache")
        if not pairs.num_rows:
            return
        schema = pa.schema([("phone_raw", pa.string()), ("region", pa.string()), ("e164", pa.string()),
                            ("error", pa.string())])
        with self._transaction():
            self._execute(self._sql("phone_pairs_table"))
            self._copy_in(self._sql("copy_phone_pairs"), pairs)
            found = self._copy_out(self._sql("phone_cache_of"), [], schema)
        self.con.register("loaded_phones", found)
        try:
            self.con.execute(duck_sql()["memory_phones"])
        finally:
            self.con.unregister("loaded_phones")

    def add_phones(self, new_phones: pa.Table) -> None:
        with self._transaction():
            self._execute(self._sql("new_phones_table"))
            self._copy_in(self._sql("copy_new_phones"), new_phones)
            self._execute(self._sql("insert_phones"))
        self.con.register("new_phones", new_phones)
        try:
            self.con.execute(duck_sql()["insert_phones"])
        finally:
            self.con.unregister("new_phones")

    def _mirror(self, customer: str, group_service: str, phone: str, content_hash: str | None,
                raw_hash: int | None, exists: bool) -> None:
        self.con.execute(duck_sql()["memory_forget"], [customer, group_service, [phone]])
        if exists:
            self.con.execute(duck_sql()["memory_remember"], [customer, group_service, [phone], [content_hash],
                                                             [raw_hash], [None]])

    def _stage_migration(self, table: str, key: tuple[str, ...], rows: pa.Table) -> tuple[Any, ...] | None:
        """COPY migrated rows into a temp twin of `table`; the key of a row already there with other values."""
        from psycopg import sql

        staged = sql.Identifier(f"sdsync_migrate_{table}")
        self._execute(sql.SQL("CREATE TEMP TABLE {} (LIKE {}) ON COMMIT DROP").format(staged, sql.Identifier(table)))
        if rows.num_rows:
            names = sql.SQL(", ").join(sql.Identifier(name) for name in rows.column_names)
            self._copy_in(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)").format(staged, names), rows)
        if not key:
            return None
        others = [name for name in rows.column_names if name not in key]
        found = self._execute(sql.SQL(
            "SELECT {keys} FROM {staged} s JOIN {table} t USING ({keys}) WHERE ({mine}) IS DISTINCT FROM ({theirs}) "
            "ORDER BY {keys} LIMIT 1").format(
            keys=sql.SQL(", ").join(sql.Identifier(name) for name in key), staged=staged,
            table=sql.Identifier(table),
            mine=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(name)) for name in others),
            theirs=sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(name)) for name in others)))
        return tuple(found[0]) if found else None

    def _insert_staged(self, table: str, key: tuple[str, ...]) -> int:
        """Insert the staged rows not there yet (by key, or by run for the rows of a run); how many."""
        from psycopg import sql

        staged = sql.Identifier(f"sdsync_migrate_{table}")
        if key:
            statement = sql.SQL("INSERT INTO {table} SELECT * FROM {staged} ON CONFLICT DO NOTHING")
        else:
            statement = sql.SQL("INSERT INTO {table} SELECT * FROM {staged} s "
                                "WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.run_id = s.run_id)")
        with self.pg.cursor() as cursor:
            cursor.execute(statement.format(table=sql.Identifier(table), staged=staged))
            return int(cursor.rowcount)

    def run_record(self, run_id: int) -> dict[str, Any]:
        with self.pg.cursor() as cursor:
            cursor.execute(self._sql("run_record"), [run_id])
            names = [column.name for column in cursor.description]
            return dict(zip(names, cursor.fetchone()))

    def close(self) -> None:
        loading, self._loading = self._loading, None
        if loading is not None:
            loading.exception()  # let a load still under way finish before its connection closes
        try:
            self.con.close()
            self._raw.close()
        finally:
            self._engine.dispose()


def _table(names: tuple[str, ...], rows: Sequence[Sequence[Any]], raw_hash: bool = False) -> pa.Table:
    """Rows as an Arrow table of strings (the last column int64 when `raw_hash`)."""
    columns = {}
    for index, name in enumerate(names):
        kind = pa.int64() if raw_hash and name == "raw_hash" else pa.string()
        columns[name] = pa.array([row[index] for row in rows], kind)
    return pa.table(columns)


def open_contact_state(target: str | Path) -> ContactStateStore:
    """The contact state at `target`: a `postgresql://` URL (shared) or a DuckDB file path, opened."""
    if isinstance(target, str) and is_postgres_url(target):
        return PostgresContactState(target)
    return DuckContactState(Path(target))


# --- moving a local state into the shared one --------------------------------------------------------------

# The key of each table's rows; rejected_rows and field_warnings belong to their run (copied with it).
MIGRATION_KEYS: dict[str, tuple[str, ...]] = {
    "contact_state": ("customer", "group_service", "phone"),
    "phone_cache": ("phone_raw", "region"),
    "server_rejections": ("customer", "group_service", "phone"),
    "sync_runs": ("run_id",),
    "contact_ops": ("run_id", "seq"),
    "planned_ops": ("run_id", "seq"),
    "rejected_rows": (),
    "field_warnings": (),
}


def migrate_contact_state(source: Path, target_url: str) -> StoreMigration:
    """Copy a local DuckDB contact state into the shared PostgreSQL state, in one transaction.

    Idempotent: rows already there with equal values are skipped. A key already there with different values
    (a run id, a contact of a group, an op) raises StateConflict naming it, and nothing of the contact state
    is written.
    """
    from smartdialog_sync.state.migration import StateConflict, StoreMigration

    if not source.exists():
        return StoreMigration("contact state", str(source))
    try:
        local = duckdb.connect(str(source), read_only=True)
    except duckdb.IOException as exc:
        raise StateStoreBusy(f"cannot open the state database {source}: {exc}") from None
    copied: dict[str, int] = {}
    already: dict[str, int] = {}
    try:
        local_tables = {name for (name,) in local.execute(duck_sql()["tables"]).fetchall()}
        with PostgresContactState(target_url) as shared, shared._transaction():
            for table, key in MIGRATION_KEYS.items():
                if table not in local_tables:
                    continue
                rows = _exported(local, table)
                conflict = shared._stage_migration(table, key, rows)
                if conflict is not None:
                    described = ", ".join(f"{name} {value!r}" for name, value in zip(key, conflict))
                    raise StateConflict(f"contact state: {table} ({described}) is already in {shared.location} with "
                                        f"different data; nothing of the contact state was copied")
                copied[table] = shared._insert_staged(table, key)
                already[table] = rows.num_rows - copied[table]
            shared._execute(shared._sql("advance_run_ids"))
            shared._execute(shared._sql("analyze_after_copy"))
    finally:
        local.close()
    return StoreMigration("contact state", str(source), copied, already)


def _exported(local: duckdb.DuckDBPyConnection, table: str) -> pa.Table:
    """A local table's rows as PostgreSQL stores them (raw_hash shifted, JSON as text)."""
    columns = [row[0] for row in local.execute(f"DESCRIBE {table}").fetchall()]
    select = []
    for column in columns:
        if column == "raw_hash":
            select.append(f"CAST(CAST(raw_hash AS HUGEINT) - {RAW_HASH_SHIFT} AS BIGINT) AS raw_hash")
        elif column == "payload":
            select.append("CAST(payload AS VARCHAR) AS payload")
        else:
            select.append(column)
    return local.sql(f"SELECT {', '.join(select)} FROM {table}").to_arrow_table()
