"""One runner at a time for a campaign or a contact group, on this machine or any machine sharing the state.

Shared state: a PostgreSQL session advisory lock, held on a connection of its own for the whole run, and
a lease row naming the holder (host, pid, since) with a heartbeat. The server frees the lock as soon as
the holder's session ends: a holder killed with SIGKILL closes its socket at once, and a machine that
vanished is found by TCP keepalives (see postgres.py). Local state: a file lock in `<data_dir>/locks/`,
freed by the kernel when its process dies, with the holder written beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from smartdialog_sync.errors import SdsyncError

from .location import StateLocation

HEARTBEAT_S = 10.0
WAIT_POLL_S = 1.0


class RunnerBusy(SdsyncError):
    """Another process (here or on another machine) is running the same campaign or contact group."""


@dataclass(frozen=True)
class Holder:
    """Who holds a runner lock."""

    host: str
    pid: int
    since: str

    @classmethod
    def me(cls) -> "Holder":
        """This process."""
        return cls(socket.gethostname(), os.getpid(), datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def describe(self) -> str:
        """`host pid N since T`."""
        return f"{self.host} pid {self.pid} since {self.since}"


def lock_key(name: str) -> int:
    """The 64-bit advisory lock key of a runner name (stable across machines and Python versions)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def runner_lock(state: StateLocation, name: str, what: str, wait: bool = False) -> Iterator[Holder]:
    """Hold the runner lock `name` for the block; `what` names it in the error ("campaign X").

    Raises RunnerBusy at once naming the holder, or with `wait` blocks until the holder is done.
    """
    target = state.runner_locks()
    locker = _PostgresLock(str(target), name) if state.shared else _FileLock(Path(target), name)
    me = Holder.me()
    while not locker.try_acquire(me):
        if not wait:
            holder = locker.holder()
            by = holder.describe() if holder else "another process"
            raise RunnerBusy(f"{what} is being run by {by}: try again when it is done, or pass --wait")
        time.sleep(WAIT_POLL_S)
    try:
        yield me
    finally:
        locker.release()


class _FileLock:
    """The local runner lock: a file lock in the data dir, its holder in a JSON file beside it."""

    def __init__(self, folder: Path, name: str) -> None:
        from filelock import FileLock

        folder.mkdir(parents=True, exist_ok=True)
        stem = hashlib.sha256(name.encode()).hexdigest()[:24]
        self._lock = FileLock(folder / f"{stem}.lock", timeout=0)
        self._holder_file = folder / f"{stem}.holder.json"

    def try_acquire(self, me: Holder) -> bool:
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout:
            return False
        self._holder_file.write_text(json.dumps(me.__dict__))
        return True

    def holder(self) -> Holder | None:
        try:
            return Holder(**json.loads(self._holder_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def release(self) -> None:
        self._holder_file.unlink(missing_ok=True)
        self._lock.release()


class _PostgresLock:
    """The shared runner lock: a session advisory lock and a lease row with a heartbeat."""

    def __init__(self, url: str, name: str) -> None:
        from .postgres import ensure_schema, state_engine, unavailable

        self._url, self._name, self._key = url, name, lock_key(name)
        self._engine = state_engine(url, pool_size=1)
        self._conn: Any = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        try:
            with self._engine.begin() as db:
                ensure_schema(db, _LEASE_SCHEMA)
        except Exception as exc:  # the driver's error: one line naming the database
            self._engine.dispose()
            raise unavailable(url, exc) from None

    def try_acquire(self, me: Holder) -> bool:
        conn = self._engine.connect()
        got = conn.exec_driver_sql("SELECT pg_try_advisory_lock(%(key)s)", {"key": self._key}).scalar()
        conn.commit()
        if not got:
            conn.close()
            return False
        conn.exec_driver_sql(
            "INSERT INTO sdsync_runner_leases (name, host, pid, since, heartbeat_at) "
            "VALUES (%(name)s, %(host)s, %(pid)s, %(since)s, now()) ON CONFLICT (name) DO UPDATE SET "
            "host = excluded.host, pid = excluded.pid, since = excluded.since, heartbeat_at = now()",
            {"name": self._name, "host": me.host, "pid": me.pid, "since": me.since},
        )
        conn.commit()
        self._conn = conn
        self._beat = threading.Thread(target=self._heartbeat, name="runner-lock-heartbeat", daemon=True)
        self._beat.start()
        return True

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                with self._engine.begin() as db:
                    db.exec_driver_sql("UPDATE sdsync_runner_leases SET heartbeat_at = now() WHERE name = %(name)s",
                                       {"name": self._name})
            except Exception:  # a missed beat only ages the lease; the advisory lock is what excludes
                continue

    def holder(self) -> Holder | None:
        with self._engine.connect() as db:
            row = db.exec_driver_sql("SELECT host, pid, since FROM sdsync_runner_leases WHERE name = %(name)s",
                                     {"name": self._name}).first()
        return Holder(row[0], int(row[1]), row[2]) if row else None

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        try:
            if self._conn is not None:
                self._conn.exec_driver_sql("DELETE FROM sdsync_runner_leases WHERE name = %(name)s", {"name": self._name})
                self._conn.exec_driver_sql("SELECT pg_advisory_unlock(%(key)s)", {"key": self._key})
                self._conn.commit()
                self._conn.close()
        finally:
            self._engine.dispose()


_LEASE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sdsync_runner_leases (name TEXT PRIMARY KEY, host TEXT NOT NULL, "
    "pid INTEGER NOT NULL, since TEXT NOT NULL, heartbeat_at TIMESTAMPTZ NOT NULL)"
)
