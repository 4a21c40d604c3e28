"""One sliding-window rate limiter per connection, shared by every thread and process on the machine.

The window is a log of call timestamps in a SQLite table. Taking a slot is one short write
transaction (SQLite's write lock serialises processes), so the bound holds across processes: never
more than `calls` timestamps in any span of `seconds`.

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
from typing import Callable, Iterator, Optional

from .config import RateLimit

WaitCallback = Callable[[float, str], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_calls (connection TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS api_calls_by_connection ON api_calls (connection, at);
"""


@dataclass(frozen=True)
class Slot:
    """A taken place in the window, and how long it took to get it."""

    row: int
    waited: float


class SlidingWindowLimiter:
    """Blocks until a call fits in the window of the connection `key`."""

    def __init__(self, path: Path, key: str, limit: RateLimit, margin_s: float = 0.01) -> None:
        self.key = key
        self.limit = limit
        self.window_s = limit.seconds + margin_s
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def _try_take(self) -> tuple[Optional[int], float]:
        """Take a slot and return its row, or return how long to wait before a slot frees."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = time.time()
                self._db.execute(
                    "DELETE FROM api_calls WHERE connection = ? AND at <= ?", (self.key, now - self.window_s)
                )
                count, oldest = self._db.execute(
                    "SELECT count(*), min(at) FROM api_calls WHERE connection = ?", (self.key,)
                ).fetchone()
                if count < self.limit.calls:
                    row = self._db.execute("INSERT INTO api_calls VALUES (?, ?)", (self.key, now)).lastrowid
                    wait = 0.0
                else:
                    row, wait = None, max(oldest + self.window_s - now, 0.001)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return row, wait

    def acquire(self, on_wait: Optional[WaitCallback] = None) -> Slot:
        """Block until a slot is free and take it."""
        waited = 0.0
        row, wait = self._try_take()
        while row is None:
            if on_wait is not None:
                on_wait(wait, "rate limit")
            time.sleep(wait)
            waited += wait
            row, wait = self._try_take()
        return Slot(row, waited)

    def release(self, slot: Slot) -> None:
        """Stamp a finished call's slot with the time it finished (see the module docstring)."""
        with self._lock:
            self._db.execute("UPDATE api_calls SET at = max(at, ?) WHERE rowid = ?", (time.time(), slot.row))

    @contextmanager
    def slot(self, on_wait: Optional[WaitCallback] = None) -> Iterator[float]:
        """Hold a slot for one call; yields the seconds spent waiting for it."""
        taken = self.acquire(on_wait)
        try:
            yield taken.waited
        finally:
            self.release(taken)

    def close(self) -> None:
        """Close the window's database connection."""
        self._db.close()
