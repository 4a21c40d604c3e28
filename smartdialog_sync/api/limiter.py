"""One sliding-window rate limiter per connection, shared by every thread and process that uses it.

The window is a log of call timestamps in a database table. Taking a slot is one short write
transaction that the database serialises, so the bound holds across processes: never more than
`calls` timestamps in any span of `seconds`. Where the window lives comes from the state
(`StateLocation.limiter`): `limiter_url` when set, else the shared state's PostgreSQL, else one SQLite
file per user in the cache dir (every data dir and process of one user on this machine). A PostgreSQL
store shares the window across machines and takes its clock from the database server, so the
machines' clocks need not agree.

The service counts a call when it arrives, some time after the slot was taken here. So when the call
has finished, its slot is stamped again with the finishing time, which is never earlier than when the
service counted it: a new slot only frees a full window after that, whatever the network delays were.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Protocol, Union

import sqlalchemy as sa

from ..errors import SdsyncError
from ..sqlfiles import read_named_sql
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
    """The window in a SQLite file: shared by every process of this user on this machine."""

    def __init__(self, path: Path) -> None:
        self._sql = read_named_sql("limiter_sqlite.sql")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(self._sql["schema"])
        self._lock = threading.Lock()

    def try_take(self, key: str, calls: int, window_s: float) -> tuple[Optional[int], float]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = time.time()
                self._db.execute(self._sql["expire"], {"key": key, "now": now, "window": window_s})
                count, oldest = self._db.execute(self._sql["count"], {"key": key}).fetchone()
                if count < calls:
                    row = self._db.execute(self._sql["take"], {"key": key, "now": now}).lastrowid
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
            self._db.execute(self._sql["release"], {"now": time.time(), "row": row})

    def close(self) -> None:
        self._db.close()


class PostgresWindowStore:
    """The window in a PostgreSQL table: shared by every machine that uses the same database."""

    def __init__(self, url: str) -> None:
        from ..state.postgres import ensure_schema, state_engine

        self._sql = read_named_sql("limiter_postgres.sql")
        try:
            self._engine = state_engine(url, pool_size=1)
            with self._engine.begin() as db:
                ensure_schema(db, self._sql["schema"])
        except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:
            detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise SdsyncError(f"cannot open the limiter store at {hide_password(url)}: {detail}") from None

    def try_take(self, key: str, calls: int, window_s: float) -> tuple[Optional[int], float]:
        with self._engine.begin() as db:
            db.execute(sa.text(self._sql["lock"]), {"key": key})
            db.execute(sa.text(self._sql["expire"]), {"key": key, "window": window_s})
            count, oldest, now = db.execute(sa.text(self._sql["count"]), {"key": key}).one()
            if count < calls:
                return db.execute(sa.text(self._sql["take"]), {"key": key}).scalar_one(), 0.0
            return None, max(float(oldest) + window_s - float(now), 0.001)

    def release(self, row: int) -> None:
        with self._engine.begin() as db:
            db.execute(sa.text(self._sql["release"]), {"row": row})

    def close(self) -> None:
        self._engine.dispose()


def open_store(target: Union[str, Path]) -> WindowStore:
    """The window store at `target` (from `StateLocation.limiter`): a PostgreSQL URL, or a SQLite file."""
    if isinstance(target, Path):
        return SQLiteWindowStore(target)
    return PostgresWindowStore(target)


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


@dataclass(frozen=True)
class WindowReading:
    """What `sdsync status` shows of a window store: each connection's (key, calls in the window, oldest slot)."""

    location: str
    present: bool
    now: float = 0.0
    connections: tuple[tuple[str, int, float], ...] = ()


def read_window(target: Union[str, Path], window_s: float) -> WindowReading:
    """The calls inside the last `window_s` per connection, read-only: a missing store is created nowhere."""
    if isinstance(target, Path):
        return _read_sqlite_window(target, window_s)
    sql = read_named_sql("limiter_postgres.sql")
    location = hide_password(target)
    from ..state.postgres import state_engine

    engine = state_engine(target, pool_size=1)
    try:
        with engine.connect() as db:
            db.exec_driver_sql("SET TRANSACTION READ ONLY")
            if not db.execute(sa.text(sql["table_exists"])).scalar():
                return WindowReading(location, False)
            now = float(db.execute(sa.text(sql["now"])).scalar_one())
            rows = db.execute(sa.text(sql["window"]), {"since": now - window_s}).all()
    finally:
        engine.dispose()
    return WindowReading(location, True, now, tuple((str(k), int(n), float(o)) for k, n, o in rows))


def _read_sqlite_window(path: Path, window_s: float) -> WindowReading:
    from urllib.parse import quote

    sql = read_named_sql("limiter_sqlite.sql")
    if not path.exists():
        return WindowReading(str(path), False)
    immutable = not Path(f"{path}-wal").exists()  # no writer since the last clean close: read without side files
    uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if immutable else "")
    now = time.time()
    with closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
        if not db.execute(sql["table_exists"]).fetchone()[0]:
            return WindowReading(str(path), False)
        rows = db.execute(sql["window"], {"since": now - window_s}).fetchall()
    return WindowReading(str(path), True, now, tuple((str(k), int(n), float(o)) for k, n, o in rows))
