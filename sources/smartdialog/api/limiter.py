"""One sliding-window rate limiter per connection, shared by every thread and process on the machine.

The window is a log of call timestamps in a SQLite table. Taking a slot is one short write
transaction (SQLite's write lock serialises processes), so the bound holds across processes: never
more than `calls` timestamps in any span of `seconds`. A small margin absorbs the difference between
when a call leaves here and when the service counts it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from .config import RateLimit

WaitCallback = Callable[[float, str], None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_calls (connection TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS api_calls_by_connection ON api_calls (connection, at);
"""


class SlidingWindowLimiter:
    """Blocks until a call fits in the window of the connection `key`."""

    def __init__(self, path: Path, key: str, limit: RateLimit, margin_s: Optional[float] = None) -> None:
        self.key = key
        self.limit = limit
        self.window_s = limit.seconds + (min(0.5, limit.seconds * 0.01) if margin_s is None else margin_s)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def _try_take(self) -> float:
        """Take a slot and return 0, or return how long to wait before a slot frees."""
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
                    self._db.execute("INSERT INTO api_calls VALUES (?, ?)", (self.key, now))
                    wait = 0.0
                else:
                    wait = max(oldest + self.window_s - now, 0.001)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return wait

    def acquire(self, on_wait: Optional[WaitCallback] = None) -> float:
        """Block until a slot is free and take it; return the seconds spent waiting."""
        waited = 0.0
        while (wait := self._try_take()) > 0:
            if on_wait is not None:
                on_wait(wait, "rate limit")
            time.sleep(wait)
            waited += wait
        return waited

    def close(self) -> None:
        """Close the window's database connection."""
        self._db.close()
