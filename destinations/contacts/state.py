"""The DuckDB state store of the contact sync: last-applied hashes, the operation journal, runs, rejects.

Exactly-once over an API without idempotency keys rests on three rules kept here:
the plan is committed to `contact_ops` before any call; an op is marked `inflight` (committed) before
its call (a group of ops in one transaction, before any of their calls); the op becomes `done` and the
contact's new hash is written to `contact_state` in ONE transaction after the 2xx (again a group of ops
per transaction, after all of their answers). An op found `inflight` later has an unknown outcome and is reconciled, never
blindly repeated (see applier.reconcile_inflight).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb

from smartdialog_sync.sqlfiles import read_sql

STATE_FILE_NAME = "contacts_state.duckdb"
OPEN_STATUSES = ("planned", "inflight", "interrupted")


class StateStoreBusy(RuntimeError):
    """Another process holds the state database (a sync of the same state file is running)."""


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


def state_path(location: str | None, data_dir: Path) -> Path:
    """The state database file: `--state` (a path or a duckdb:/// URL), else `<data_dir>/contacts_state.duckdb`."""
    if not location:
        return data_dir / STATE_FILE_NAME
    text = location.removeprefix("duckdb:///")
    if "://" in text:
        raise ValueError(f"--state must be a DuckDB file path or a duckdb:/// URL, not {location!r}")
    return Path(text)


class ContactStateStore:
    """Owns the DuckDB connection of the state database; the planner's temp tables live on it too."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(path))
        except duckdb.IOException as exc:
            raise StateStoreBusy(f"cannot open the state database {path}: {exc}") from None
        self.path = path
        self.con.execute(read_sql("contacts_state_schema.sql"))

    def close(self) -> None:
        """Close the connection (releases the file lock)."""
        self.con.close()

    def __enter__(self) -> "ContactStateStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- runs ----------------------------------------------------------------------------------------

    def start_run(self, customer: str, group_service: str, mode: str, dry_run: bool) -> int:
        """Record a new run and return its id."""
        row = self.con.execute(
            "INSERT INTO sync_runs (run_id, customer, group_service, mode, dry_run, status) "
            "VALUES (nextval('sync_run_ids'), ?, ?, ?, ?, 'running') RETURNING run_id",
            [customer, group_service, mode, dry_run],
        ).fetchall()
        return int(row[0][0])

    def finish_run(self, run_id: int, status: str, **figures: Any) -> None:
        """Close a run with its status and figures (columns of sync_runs)."""
        columns = ["status = ?", "finished_at = now()"] + [f"{name} = ?" for name in figures]
        self.con.execute(
            f"UPDATE sync_runs SET {', '.join(columns)} WHERE run_id = ?",
            [status, *figures.values(), run_id],
        )

    def run_record(self, run_id: int) -> dict[str, Any]:
        """The sync_runs row of a run, as a dict."""
        cursor = self.con.execute("SELECT * FROM sync_runs WHERE run_id = ?", [run_id])
        names = [column[0] for column in cursor.description]
        return dict(zip(names, cursor.fetchall()[0]))

    # --- the plan and the journal --------------------------------------------------------------------

    def save_rejected_rows(self, run_id: int, customer: str, group_service: str) -> int:
        """Copy this run's rejected candidates into rejected_rows; return how many."""
        self.con.execute(
            "INSERT INTO rejected_rows SELECT ?, ?, ?, source_key, phone, reject_reason "
            "FROM contact_candidates WHERE reject_reason IS NOT NULL ORDER BY row_no",
            [run_id, customer, group_service],
        )
        return self.count("SELECT count(*) FROM rejected_rows WHERE run_id = ?", [run_id])

    def save_field_warnings(self, run_id: int, customer: str, group_service: str) -> int:
        """Copy the field warnings of this run's rows to send into field_warnings; return how many."""
        self.con.execute(
            "INSERT INTO field_warnings SELECT ?, ?, ?, source_key, phone, w.field, w.value, w.reason "
            "FROM (SELECT row_no, source_key, phone, unnest(warnings) AS w FROM contact_candidates "
            "WHERE reject_reason IS NULL) ORDER BY row_no",
            [run_id, customer, group_service],
        )
        return self.count("SELECT count(*) FROM field_warnings WHERE run_id = ?", [run_id])

    def write_dry_plan(self, run_id: int, customer: str, group_service: str) -> None:
        """Store contact_plan in planned_ops (a dry run's output)."""
        self.con.execute(
            "INSERT INTO planned_ops SELECT ?, seq, ?, ?, op, phone, source_key, payload, hash FROM contact_plan",
            [run_id, customer, group_service],
        )

    def write_journal(self, run_id: int, customer: str, group_service: str) -> None:
        """Commit contact_plan as this run's journal, superseding open ops of earlier runs, before any call."""
        self.con.begin()
        self.con.execute(
            "UPDATE contact_ops SET status = 'superseded', finished_at = now() "
            "WHERE customer = ? AND group_service = ? AND status IN ('planned', 'interrupted')",
            [customer, group_service],
        )
        self.con.execute(
            "INSERT INTO contact_ops (run_id, seq, customer, group_service, op, phone, source_key, payload, hash, raw_hash, "
            "status) SELECT ?, seq, ?, ?, op, phone, source_key, payload, hash, raw_hash, 'planned' FROM contact_plan",
            [run_id, customer, group_service],
        )
        self.con.commit()

    def planned_ops(self, run_id: int, batch: int = 1000) -> Iterator[Operation]:
        """The run's planned ops in order, read page by page."""
        last = 0
        while True:
            rows = self.con.execute(
                f"SELECT {_OP_COLUMNS} FROM contact_ops "
                "WHERE run_id = ? AND seq > ? AND status = 'planned' ORDER BY seq LIMIT ?",
                [run_id, last, batch],
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _operation(row)
            last = rows[-1][1]

    def inflight_ops(self, customer: str, group_service: str) -> list[Operation]:
        """Ops of earlier runs whose call started but whose outcome was never recorded."""
        rows = self.con.execute(
            f"SELECT {_OP_COLUMNS} FROM contact_ops "
            "WHERE customer = ? AND group_service = ? AND status = 'inflight' ORDER BY run_id, seq",
            [customer, group_service],
        ).fetchall()
        return [_operation(row) for row in rows]

    def mark_inflight(self, ops: Sequence[Operation]) -> None:
        """Commit, in one transaction, that the calls of `ops` are about to be made."""
        if not ops:
            return
        self.con.execute(
            "UPDATE contact_ops SET status = 'inflight', error = NULL, started_at = now() "
            "WHERE run_id = ? AND seq IN (SELECT unnest(?::BIGINT[]))",
            [ops[0].run_id, [op.seq for op in ops]],
        )

    def mark_planned(self, ops: Sequence[Operation]) -> None:
        """Put ops marked in flight whose calls were never started back to `planned`."""
        if ops:
            self.con.execute(
                "UPDATE contact_ops SET status = 'planned', started_at = NULL "
                "WHERE run_id = ? AND seq IN (SELECT unnest(?::BIGINT[]))",
                [ops[0].run_id, [op.seq for op in ops]],
            )

    def record_outcomes(self, customer: str, group_service: str, outcomes: Sequence[Outcome]) -> None:
        """Record the outcomes of ops in ONE transaction: each op's status, and for a done op the contact's
        new state (its hash, or its removal); a refused payload is remembered so an unchanged row is not
        sent again. An op with status `inflight` stays so (its outcome is unknown: the next run reads it back)."""
        settled = [o for o in outcomes if o.status != "inflight"]
        if not settled:
            return
        done = [o.op for o in settled if o.status == "done"]
        kept = [op for op in done if op.op != "delete"]
        gone = [op.phone for op in done if op.op == "delete"]
        refused = [o for o in settled if o.status == "rejected"]
        self.con.begin()
        try:
            self.con.execute(
                "UPDATE contact_ops SET status = o.status, result = coalesce(o.result, contact_ops.result), "
                "error = o.error, finished_at = now() "
                "FROM (SELECT unnest(?::BIGINT[]) AS seq, unnest(?::VARCHAR[]) AS status, unnest(?::VARCHAR[]) AS result, "
                "unnest(?::VARCHAR[]) AS error) AS o WHERE contact_ops.run_id = ? AND contact_ops.seq = o.seq",
                [[o.op.seq for o in settled], [o.status for o in settled], [o.result for o in settled],
                 [o.error for o in settled], settled[0].op.run_id],
            )
            if kept:
                self._remember(customer, group_service, [op.phone for op in kept], [op.hash for op in kept],
                               [op.raw_hash for op in kept], [op.source_key for op in kept])
            if gone:
                self._forget(customer, group_service, gone)
            if done:
                self.con.execute(
                    "DELETE FROM server_rejections WHERE customer = ? AND group_service = ? AND phone IN (SELECT unnest(?::VARCHAR[]))",
                    [customer, group_service, [op.phone for op in done]],
                )
            if refused:
                self.con.execute(
                    "INSERT OR REPLACE INTO server_rejections (customer, group_service, phone, hash, reason) "
                    "SELECT ?, ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
                    [customer, group_service, [o.op.phone for o in refused], [o.op.hash or "" for o in refused],
                     [o.error or "" for o in refused]],
                )
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def settle_inflight(self, op: Operation, customer: str, group_service: str, applied: bool,
                        exists: bool, content_hash: str | None) -> None:
        """Record what reconciliation found for an in-flight op of an earlier run, and close that op.

        `applied` says whether the op's call took effect; `exists` whether the contact is in the group now,
        with `content_hash` its known content (None = unknown, which makes the next plan update it).
        """
        raw_hash = op.raw_hash if applied else None
        self.con.begin()
        self._set_status(op, "done" if applied else "superseded",
                         result="reconciled: " + ("applied" if applied else "not applied"))
        if exists:
            self._remember(customer, group_service, [op.phone], [content_hash], [raw_hash], [op.source_key])
        else:
            self._forget(customer, group_service, [op.phone])
        self.con.commit()

    def clear_group(self, customer: str, group_service: str) -> None:
        """Forget everything known about a group (after DeleteAllGroupContacts)."""
        self.con.begin()
        for table in ("contact_state", "server_rejections"):
            self.con.execute(f"DELETE FROM {table} WHERE customer = ? AND group_service = ?", [customer, group_service])
        self.con.execute(
            "UPDATE contact_ops SET status = 'superseded' WHERE customer = ? AND group_service = ? AND status IN ?",
            [customer, group_service, list(OPEN_STATUSES)],
        )
        self.con.commit()

    def count(self, sql: str, params: list[Any] | None = None) -> int:
        """The single integer a counting query returns."""
        return int(self.con.execute(sql, params or []).fetchall()[0][0])

    # --- helpers -------------------------------------------------------------------------------------

    def _set_status(self, op: Operation, status: str, result: str | None = None) -> None:
        self.con.execute(
            "UPDATE contact_ops SET status = ?, result = coalesce(?, result), finished_at = now() "
            "WHERE run_id = ? AND seq = ?",
            [status, result, op.run_id, op.seq],
        )

    def _remember(self, customer: str, group_service: str, phones: list[str], hashes: list[str | None],
                  raw_hashes: list[int | None], source_keys: list[str | None]) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO contact_state (customer, group_service, phone, hash, raw_hash, source_key, updated_at) "
            "SELECT ?, ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::UBIGINT[]), unnest(?::VARCHAR[]), now()",
            [customer, group_service, phones, hashes, raw_hashes, source_keys],
        )

    def _forget(self, customer: str, group_service: str, phones: list[str]) -> None:
        self.con.execute(
            "DELETE FROM contact_state WHERE customer = ? AND group_service = ? AND phone IN (SELECT unnest(?::VARCHAR[]))",
            [customer, group_service, phones],
        )


_OP_COLUMNS = "run_id, seq, op, phone, source_key, payload, hash, raw_hash"


def _operation(row: tuple[Any, ...]) -> Operation:
    run_id, seq, op, phone, source_key, payload, content_hash, raw_hash = row
    return Operation(run_id, seq, op, phone, source_key, json.loads(payload) if payload else None, content_hash, raw_hash)
