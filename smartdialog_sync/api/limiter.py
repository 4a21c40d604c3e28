"""One sliding-window rate limiter per connection, shared by every thread and process that uses it.

The window is a log of call timestamps in a database table. Taking a slot is one short write
transaction that the database serialises, so the bound holds across processes: never more than
`calls` timestamps in any span of `seconds`. The default store is a SQLite file in the data dir
(every process on one machine); a PostgreSQL store shares the window across machines and takes its
clock from the database server, so the machines' clocks need not agree.

The service counts a call when it arrives, some time after the slot was taken here. So when the call
has finished, its slot is stamped again with the finishing time, which is never earlier than when the
service counted it: a new slot only frees a full window after that, whatever the network delays were.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Protocol

import sqlalchemy as sa

from ..errors import SdsyncError
from ..state.location import hide_password
from .config import RateLimit

WaitCallback = Callable[[float, str], None]


@dataclass(frozen=True)
class Slot:
    """A taken place in the window, and how long it took to get it."""

    row: int
    waited: float


class WindowStore(Protocol):
    """Where a sliding window's call log lives."""

    def try_take(self, key: str, calls: int, window_s: float) -> tuple[Optional[int], float]:
        """Take a slot and return (its row, 0), or (None, seconds until one frees)."""
        ...

    def release(self, row: int) -> None:
        """Stamp the slot with the current time: its call has finished."""
        ...

    def close(self) -> None: ...


class SQLiteWindowStore:
    """The window in a SQLite file: shared by every process on this machine."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS api_calls (connection TEXT NOT NULL, at REAL NOT NULL);"
            "CREATE INDEX IF NOT EXISTS api_calls_by_connection ON api_calls (connection, at);"
        )
        self._lock = threading.Lock()

    def try_take(self, key: str, calls: int, window_s: float) -> tuple[Optional[int], float]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = time.time()
                self._db.execute("DELETE FROM api_calls WHERE connection = ? AND at <= ?", (key, now - window_s))
                count, oldest = self._db.execute(
                    "SELECT count(*), min(at) FROM api_calls WHERE connection = ?", (key,)
                ).fetchone()
                if count < calls:
                    row = self._db.execute("INSERT INTO api_calls VALUES (?, ?)", (key, now)).lastrowid
                    taken: tuple[Optional[int], float] = (row, 0.0)
                else:
                    taken = (None, max(oldest + window_s - now, 0.001))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return taken

    def release(self, row: int) -> None:
        with self._lock:
            self._db.execute("UPDATE api_calls SET at = max(at, ?) WHERE rowid = ?", (time.time(), row))

    def close(self) -> None:
        self._db.close()


_PG_NOW = "extract(epoch from clock_timestamp())"


class PostgresWindowStore:
    """The window in a PostgreSQL table: shared by every machine that uses the same database."""

    def __init__(self, url: str) -> None:
        try:
            self._engine = sa.create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=True)
            self._create_table()
        except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise SdsyncError(f"cannot open the limiter store at {hide_password(url)}: {detail}") from None

    def _create_table(self) -> None:
        with self._engine.begin() as db:
            db.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('sdsync_api_calls_schema'))"))
            db.execute(sa.text(
                "CREATE TABLE IF NOT EXISTS sdsync_api_calls "
                "(id BIGSERIAL PRIMARY KEY, connection TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)"
            ))
            db.execute(sa.text(
                "CREATE INDEX IF NOT EXISTS sdsync_api_calls_by_connection ON sdsync_api_calls (connection, at)"
            ))

    def try_take(self, key: str, calls: int, window_s: float) -> tuple[Optional[int], float]:
        with self._engine.begin() as db:
            db.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
            db.execute(
                sa.text(f"DELETE FROM sdsync_api_calls WHERE connection = :key AND at <= {_PG_NOW} - :window"),
                {"key": key, "window": window_s},
            )
            count, oldest, now = db.execute(
                sa.text(f"SELECT count(*), min(at), {_PG_NOW} FROM sdsync_api_calls WHERE connection = :key"),
                {"key": key},
            ).one()
            if count < calls:
                row = db.execute(
                    sa.text(f"INSERT INTO sdsync_api_calls (connection, at) VALUES (:key, {_PG_NOW}) RETURNING id"),
                    {"key": key},
                ).scalar_one()
                return row, 0.0
            return None, max(float(oldest) + window_s - float(now), 0.001)

    def release(self, row: int) -> None:
        with self._engine.begin() as db:
            db.execute(
                sa.text(f"UPDATE sdsync_api_calls SET at = greatest(at, {_PG_NOW}) WHERE id = :row"), {"row": row}
            )

    def close(self) -> None:
        self._engine.dispose()


def open_store(data_dir: Path, url: Optional[str]) -> WindowStore:
    """The PostgreSQL store for a postgresql:// URL, else the SQLite file in the data dir."""
    if url:
        return PostgresWindowStore(url)
    return SQLiteWindowStore(data_dir / "ratelimit.sqlite")


class SlidingWindowLimiter:
    """Blocks until a call fits in the window of the connection `key`."""

    def __init__(self, store: WindowStore, key: str, limit: RateLimit, margin_s: float = 0.01) -> None:
        self.store = store
        self.key = key
        self.limit = limit
        self.window_s = limit.seconds + margin_s

    def acquire(self, on_wait: Optional[WaitCallback] = None) -> Slot:
        """Block until a slot is free and take it."""
        waited = 0.0
        row, wait = self.store.try_take(self.key, self.limit.calls, self.window_s)
        while row is None:
            if on_wait is not None:
                on_wait(wait, "rate limit")
            time.sleep(wait)
            waited += wait
            row, wait = self.store.try_take(self.key, self.limit.calls, self.window_s)
        return Slot(row, waited)

    def release(self, slot: Slot) -> None:
        """Stamp a finished call's slot with the time it finished (see the module docstring)."""
        self.store.release(slot.row)

    @contextmanager
    def slot(self, on_wait: Optional[WaitCallback] = None) -> Iterator[float]:
        """Hold a slot for one call; yields the seconds spent waiting for it."""
        taken = self.acquire(on_wait)
        try:
            yield taken.waited
        finally:
            self.release(taken)

    def close(self) -> None:
        """Close the window's store."""
        self.store.close()
