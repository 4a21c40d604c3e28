"""The campaign ledger: a SQLite file (WAL, synchronous=FULL) that survives kill -9.

Every state change is committed before the API call it precedes, so a rerun knows exactly which
batches were confirmed (`sent`), which may have been sent (`in_flight`, repeated with the same
RequestId) and which never left (`planned`, `failed`). Tables are described in ../README.md.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from filelock import FileLock, Timeout

from smartdialog_sync.sqlfiles import read_named_sql

from .errors import CampaignError
from .planner import Batch, PlannedRecipient, split_batch
from .recipients import Rejected

BATCH_STATES = ("planned", "in_flight", "sent", "failed")


def statements() -> dict[str, str]:
    """The named statements of sql/campaign_ledger.sql."""
    return read_named_sql("campaign_ledger.sql")


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


class Ledger:
    """A campaign ledger file; open with `Ledger.open(path)` and close when done."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def open(cls, path: Path) -> "Ledger":
        """Open (creating if needed) the ledger at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.executescript(statements()["schema"])
            _migrate(connection)
        except sqlite3.DatabaseError as exc:
            raise CampaignError(f"cannot open the campaign ledger {path}: {exc}") from None
        return cls(path, connection)

    def close(self) -> None:
        """Close the ledger file."""
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def campaign_lock(self, campaign_id: str) -> Iterator[None]:
        """Hold an exclusive lock on the campaign so two runs never send it at once (freed on any exit)."""
        lock_dir = self.path.parent / f"{self.path.name}.locks"
        lock_dir.mkdir(exist_ok=True)
        lock = FileLock(lock_dir / f"{campaign_id}.lock", timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise CampaignError(f"campaign {campaign_id} is being sent by another process right now") from None
        try:
            yield
        finally:
            lock.release()

    def campaign(self, campaign_id: str) -> CampaignRecord | None:
        """The campaign `campaign_id`, or None if the ledger does not know it."""
        row = self._db.execute(statements()["campaign"], {"campaign_id": campaign_id}).fetchone()
        if row is None:
            return None
        values = list(row)
        values[5], values[6] = json.loads(values[5]), json.loads(values[6])
        return CampaignRecord(*values)

    def create_campaign(self, record: CampaignRecord, batches: Sequence[Batch], rejected: Sequence[Rejected]) -> None:
        """Write a campaign, all its planned batches and recipients, and its rejected rows, in one commit."""
        now = utc_now()
        sql = statements()
        campaign_id = record.campaign_id
        with self._transaction() as db:
            db.execute(sql["insert_campaign"], {
                "campaign_id": campaign_id, "kind": record.kind, "fingerprint": record.fingerprint,
                "customer_id": record.customer_id, "service_id": record.service_id,
                "message": json.dumps(record.message, ensure_ascii=False),
                "description": json.dumps(record.description, ensure_ascii=False), "now": now,
            })
            self._insert_batches(db, campaign_id, batches, now)
            db.executemany(sql["insert_rejected"], (
                {"campaign_id": campaign_id, "row_number": row.row_number, "raw_phone": row.raw_phone,
                 "address": row.address, "reason": row.reason, "detail": row.detail}
                for row in rejected
            ))

    @staticmethod
    def _insert_batches(db: sqlite3.Connection, campaign_id: str, batches: Sequence[Batch], now: str) -> None:
        sql = statements()
        db.executemany(sql["insert_batch"], (
            {"campaign_id": campaign_id, "batch_no": batch.batch_no, "request_id": batch.request_id,
             "recipient_count": len(batch.recipients), "now": now,
             "body_parameters": _json_or_none(batch.body_parameters),
             "header_parameters": _json_or_none(batch.header_parameters),
             "send_date_time": batch.send_at, "time_zones": _json_or_none(batch.time_zones or None)}
            for batch in batches
        ))
        db.executemany(sql["insert_recipient"], (
            {"campaign_id": campaign_id, "batch_no": batch.batch_no, "position": position,
             "address": r.address, "personalization": json.dumps(r.personalization, ensure_ascii=False),
             "parts": r.parts}
            for batch in batches for position, r in enumerate(batch.recipients)
        ))

    def split_batch(self, kind: str, campaign_id: str, batch: Batch, size: int, reason: str) -> list[Batch]:
        """Replace an unsent (refused) batch by batches of at most `size` recipients, in one commit.

        The new batches are numbered after the campaign's last batch and get their own deterministic
        RequestIds, so a run killed before this commit splits the same way again.
        """
        sql, now = statements(), utc_now()
        key = {"campaign_id": campaign_id, "batch_no": batch.batch_no}
        with self._transaction() as db:
            last = db.execute(sql["max_batch_no"], {"campaign_id": campaign_id}).fetchone()[0]
            parts = split_batch(kind, campaign_id, batch, size, last + 1)
            if db.execute(sql["delete_unsent_batch"], key).rowcount != 1:
                raise CampaignError(f"batch {batch.batch_no} of {campaign_id} is not an unsent batch: not split")
            db.execute(sql["delete_batch_recipients"], key)
            self._insert_batches(db, campaign_id, parts, now)
            db.execute(sql["insert_split"], {**key, "request_id": batch.request_id, "reason": reason, "now": now,
                                             "into_batches": json.dumps([part.batch_no for part in parts])})
        return parts

    def learned_max(self, base_url: str, customer_id: str) -> int | None:
        """The most recipients per call this connection was found to accept (None: not learned)."""
        row = self._db.execute(statements()["learned_max"], {"base_url": base_url, "customer_id": customer_id}).fetchone()
        return row[0] if row else None

    def learn_max(self, base_url: str, customer_id: str, max_recipients: int, detail: str) -> None:
        """Remember that the connection accepts at most `max_recipients` per call (only ever lowered)."""
        with self._transaction() as db:
            db.execute(statements()["learn_max"], {"base_url": base_url, "customer_id": customer_id,
                                                   "max_recipients": max_recipients, "detail": detail, "now": utc_now()})

    def has_sent(self, customer_id: str) -> bool:
        """True when any batch of any campaign of `customer_id` is confirmed sent in this ledger."""
        return self._db.execute(statements()["has_sent"], {"customer_id": customer_id}).fetchone() is not None

    def unsent_batches(self, campaign_id: str) -> list[LedgerBatch]:
        """The batches not yet confirmed sent, in order, exactly as planned (same RequestIds)."""
        sql = statements()
        rows = self._db.execute(sql["unsent_batches"], {"campaign_id": campaign_id}).fetchall()
        unsent = []
        for batch_no, request_id, status, body, header, first_attempt_at, send_at, zones in rows:
            recipients = tuple(
                PlannedRecipient(address, json.loads(personalization), parts)
                for _, address, personalization, parts in self._db.execute(
                    sql["batch_recipients"], {"campaign_id": campaign_id, "batch_no": batch_no}
                )
            )
            batch = Batch(batch_no, request_id, recipients, _tuple_or_none(body), _tuple_or_none(header),
                          send_at, _tuple_or_none(zones) or ())
            unsent.append(LedgerBatch(batch, status, first_attempt_at))
        return unsent

    def mark_in_flight(self, campaign_id: str, batch_no: int) -> None:
        """Record that the batch's call is about to be made (committed before the call)."""
        with self._transaction() as db:
            db.execute(statements()["mark_in_flight"], {"campaign_id": campaign_id, "batch_no": batch_no, "now": utc_now()})

    def mark_sent(self, campaign_id: str, batch: Batch, message_id: str | None, sent: Sequence[SentRecipient]) -> None:
        """Record a confirmed batch and its sent_messages rows, in one commit."""
        sql, now = statements(), utc_now()
        with self._transaction() as db:
            db.execute(sql["mark_sent"], {"campaign_id": campaign_id, "batch_no": batch.batch_no,
                                          "message_id": message_id, "now": now})
            db.executemany(sql["insert_sent_message"], (
                (campaign_id, batch.batch_no, batch.request_id, message_id, row.recipient_id, row.address, row.parts, now)
                for row in sent
            ))

    def mark_failed(self, campaign_id: str, batch_no: int, error: str) -> None:
        """Record that the service refused the batch (it was not sent)."""
        with self._transaction() as db:
            db.execute(statements()["mark_failed"], {"campaign_id": campaign_id, "batch_no": batch_no,
                                                     "error": error, "now": utc_now()})

    def status_counts(self, campaign_id: str) -> dict[str, tuple[int, int]]:
        """For each batch state: (batches, recipients)."""
        rows = self._db.execute(statements()["status_counts"], {"campaign_id": campaign_id}).fetchall()
        return {status: (batches, recipients) for status, batches, recipients in rows}

    def rejected_counts(self, campaign_id: str) -> dict[str, int]:
        """How many rows were left out for each reason."""
        return dict(self._db.execute(statements()["rejected_counts"], {"campaign_id": campaign_id}).fetchall())


def _migrate(connection: sqlite3.Connection) -> None:
    """Add the columns newer versions use to a ledger written by an older one."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(campaign_batches)")}
    if "send_date_time" not in columns:
        connection.executescript(statements()["migrate_batches"])


def _json_or_none(values: tuple[str, ...] | None) -> str | None:
    return None if values is None else json.dumps(list(values), ensure_ascii=False)


def _tuple_or_none(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))
