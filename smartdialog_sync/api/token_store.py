"""The OAuth2 token store: per connection, the rotating refresh token and the current access token.

Two backends, one interface. Locally a 0600 JSON file in the data dir (`oauth_tokens.json`), serialised
by a file lock beside it; with `state_url` a table in the shared PostgreSQL (`sql/oauth_tokens_postgres.sql`),
serialised by a row lock (`SELECT ... FOR UPDATE` on the connection's row, inserted first if missing).

`refreshing(key)` holds that lock from the read through the caller's token call to the write, so a
rotated refresh token is used exactly once by every process on every machine sharing the store; the
caller re-reads inside it and skips the call when another process has refreshed meanwhile. Nothing here
logs or shows a token: `Secret` hides them, `where` names the store with its password hidden.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Optional, Protocol

from ..errors import SdsyncError
from ..sqlfiles import read_named_sql
from ..state.location import hide_password
from ..state.migration import StateConflict, StoreMigration
from .config import ClientSettings, Secret

LOCK_WAIT_S = 120.0  # the longest a refresh waits for another process's (a token call has its own timeout)
SQL_FILE = "oauth_tokens_postgres.sql"
TABLE = "sdsync_oauth_tokens"
_FIELDS = ("refresh_token", "saved_at", "expires_at", "access_token", "access_issued_at", "access_expires_at")


class TokenStoreBusy(SdsyncError):
    """Another process held the connection's token lock for longer than LOCK_WAIT_S."""


@dataclass(frozen=True)
class StoredTokens:
    """A connection's stored tokens (epoch seconds; None: not stored, or the server did not say).

    `saved_at` / `expires_at` belong to the refresh token (their names predate the access token's).
    """

    refresh_token: Optional[Secret] = None
    saved_at: Optional[float] = None
    expires_at: Optional[float] = None
    access_token: Optional[Secret] = None
    access_issued_at: Optional[float] = None
    access_expires_at: Optional[float] = None

    @property
    def empty(self) -> bool:
        """True when neither token is stored."""
        return self.refresh_token is None and self.access_token is None

    def as_row(self) -> dict[str, Any]:
        """The plain values (tokens revealed), for the store's own writes only."""
        return {name: (value.reveal() if isinstance(value, Secret) else value)
                for name, value in ((n, getattr(self, n)) for n in _FIELDS)}

    @classmethod
    def from_row(cls, values: Any) -> "StoredTokens":
        """From a stored row or JSON entry (a bare string is a refresh token saved before dates were kept)."""
        if isinstance(values, str):
            values = {"refresh_token": values}
        if not isinstance(values, dict):
            return cls()
        known = {name: values.get(name) for name in _FIELDS}
        for name in ("refresh_token", "access_token"):
            known[name] = Secret(known[name]) if known[name] else None
        return cls(**known)


class Refresh(Protocol):
    """The locked span of one refresh: the tokens as stored when the lock was taken, and the write."""

    current: StoredTokens

    def save(self, tokens: StoredTokens) -> None:
        """Store `tokens` for the connection; written when the span ends without an error."""
        ...


class TokenStore(Protocol):
    """Where a connection's tokens live (see the module docstring)."""

    where: str

    def entry(self, key: str) -> Optional[StoredTokens]:
        """The connection's stored tokens without taking the lock; None when none are stored."""
        ...

    def refreshing(self, key: str) -> AbstractContextManager[Refresh]:
        """Hold the connection's lock from the read (`Refresh.current`) to the write (`Refresh.save`)."""
        ...

    def delete(self, key: str) -> bool:
        """Forget the connection's tokens; False when none were stored."""
        ...

    def close(self) -> None: ...


def open_token_store(settings: ClientSettings) -> TokenStore:
    """The token store of the settings' state: the shared PostgreSQL, else the file in the data dir."""
    target = settings.state.tokens()
    if isinstance(target, Path):
        return FileTokenStore(target)
    return PostgresTokenStore(target)


def read_stored_tokens(settings: ClientSettings) -> tuple[str, Optional[StoredTokens]]:
    """Where the settings' tokens are kept, and this connection's stored tokens; read-only, creating nothing."""
    target = settings.state.tokens()
    if isinstance(target, Path):
        return str(target), FileTokenStore(target).entry(settings.connection_key)
    import sqlalchemy as sa

    from ..state.postgres import state_engine, unavailable

    sql, where = read_named_sql(SQL_FILE), f"PostgreSQL {hide_password(target)}"
    engine = state_engine(target, pool_size=1)
    try:
        with engine.connect() as db:
            db.exec_driver_sql("SET TRANSACTION READ ONLY")
            if not db.execute(sa.text(sql["table_exists"])).scalar():
                return where, None
            stored = _from_db(db.execute(sa.text(sql["select"]), {"connection": settings.connection_key}).first())
    except sa.exc.SQLAlchemyError as exc:
        raise unavailable(target, exc) from None
    finally:
        engine.dispose()
    return where, None if stored.empty else stored


# --- the local file -----------------------------------------------------------------------------------


class _FileRefresh:
    def __init__(self, current: StoredTokens) -> None:
        self.current = current
        self.saved: Optional[StoredTokens] = None

    def save(self, tokens: StoredTokens) -> None:
        self.saved = tokens


class FileTokenStore:
    """The tokens of every connection in one 0600 JSON file, keyed by the connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import FileLock, Timeout

        from ..datadir import private_data_dir

        private_data_dir(self.path.parent)
        try:
            with FileLock(self.path.with_suffix(".lock"), timeout=LOCK_WAIT_S):
                yield
        except Timeout:
            raise TokenStoreBusy(f"the token store {self.path} stayed locked for {LOCK_WAIT_S:g} s") from None

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def entry(self, key: str) -> Optional[StoredTokens]:
        stored = StoredTokens.from_row(self._read().get(key))
        return None if stored.empty else stored

    def keys(self) -> list[str]:
        """The connections with stored tokens."""
        return [key for key in self._read() if self.entry(key) is not None]

    @contextmanager
    def refreshing(self, key: str) -> Iterator[_FileRefresh]:
        with self._locked():
            span = _FileRefresh(StoredTokens.from_row(self._read().get(key)))
            yield span
            if span.saved is not None:
                data = self._read()
                data[key] = span.saved.as_row()
                self._write(data)

    def delete(self, key: str) -> bool:
        with self._locked():
            data = self._read()
            if data.pop(key, None) is None:
                return False
            self._write(data)
            return True

    def _write(self, data: dict[str, Any]) -> None:
        temp = self.path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)

    def close(self) -> None:
        pass


# --- the shared PostgreSQL ----------------------------------------------------------------------------


class _RowRefresh:
    def __init__(self, db: Any, sql: dict[str, str], key: str, current: StoredTokens) -> None:
        self.current = current
        self._db, self._sql, self._key = db, sql, key

    def save(self, tokens: StoredTokens) -> None:
        import sqlalchemy as sa

        self._db.execute(sa.text(self._sql["update"]), _params(self._key, tokens))


def _params(key: str, tokens: StoredTokens) -> dict[str, Any]:
    row = tokens.as_row()
    return {"connection": key, "refresh_token": row["refresh_token"], "refresh_saved_at": row["saved_at"],
            "refresh_expires_at": row["expires_at"], "access_token": row["access_token"],
            "access_issued_at": row["access_issued_at"], "access_expires_at": row["access_expires_at"]}


def _from_db(row: Any) -> StoredTokens:
    if row is None:
        return StoredTokens()
    return StoredTokens.from_row(dict(zip(_FIELDS, row)))


class PostgresTokenStore:
    """The tokens in the shared state's table `sdsync_oauth_tokens`, one row per connection."""

    def __init__(self, url: str) -> None:
        from ..state.postgres import ensure_schema, state_engine, unavailable

        self.url = url
        self.where = f"PostgreSQL {hide_password(url)}"
        self._sql = read_named_sql(SQL_FILE)
        self._engine = state_engine(url, pool_size=1)
        try:
            with self._engine.begin() as db:
                ensure_schema(db, self._sql["schema"])
        except Exception as exc:  # the driver's error: one line naming the database, password hidden
            self._engine.dispose()
            raise unavailable(url, exc) from None

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        import sqlalchemy as sa

        from ..state.postgres import unavailable

        try:
            with self._engine.begin() as db:
                yield db
        except sa.exc.OperationalError as exc:
            if "lock timeout" in str(exc.orig):
                raise TokenStoreBusy(f"the token row in {self.where} stayed locked for {LOCK_WAIT_S:g} s") from None
            raise unavailable(self.url, exc) from None
        except sa.exc.SQLAlchemyError as exc:
            raise unavailable(self.url, exc) from None

    def entry(self, key: str) -> Optional[StoredTokens]:
        import sqlalchemy as sa

        with self._transaction() as db:
            stored = _from_db(db.execute(sa.text(self._sql["select"]), {"connection": key}).first())
        return None if stored.empty else stored

    @contextmanager
    def refreshing(self, key: str) -> Iterator[_RowRefresh]:
        import sqlalchemy as sa

        with self._transaction() as db:
            db.execute(sa.text(self._sql["lock_timeout"]), {"timeout": f"{int(LOCK_WAIT_S * 1000)}ms"})
            db.execute(sa.text(self._sql["insert_missing"]), {"connection": key})
            row = db.execute(sa.text(self._sql["select_for_update"]), {"connection": key}).first()
            yield _RowRefresh(db, self._sql, key, _from_db(row))

    def delete(self, key: str) -> bool:
        import sqlalchemy as sa

        with self._transaction() as db:
            return bool(db.execute(sa.text(self._sql["delete"]), {"connection": key}).scalar())

    def close(self) -> None:
        self._engine.dispose()


def migrate_tokens(source: Path, target_url: str) -> StoreMigration:
    """Copy the local token file into the shared state's table (idempotent; see state/migration.py).

    A connection whose row already holds equal tokens is skipped; one holding different tokens stops the
    copy with StateConflict naming it, before anything is written.
    """
    import sqlalchemy as sa

    local = FileTokenStore(source)
    wanted = {key: entry for key in local.keys() if (entry := local.entry(key)) is not None}
    already = 0
    store = PostgresTokenStore(target_url)
    try:
        with store._transaction() as db:
            if wanted:
                db.execute(sa.text(store._sql["lock_table"]))
            to_copy = []
            for key, tokens in wanted.items():
                there = _from_db(db.execute(sa.text(store._sql["select"]), {"connection": key}).first())
                if there.empty:
                    to_copy.append(key)
                elif there != tokens:
                    raise StateConflict(f"token store: connection {key} already has different tokens in {store.where}:"
                                        f" nothing of {source} was copied (sign in again there with `sdsync auth login`,"
                                        f" or `sdsync auth logout` it first)")
                else:
                    already += 1
            for key in to_copy:
                db.execute(sa.text(store._sql["insert_copy"]), _params(key, wanted[key]))
            copied = len(to_copy)
    finally:
        store.close()
    return StoreMigration("token store", str(source), {TABLE: copied}, {TABLE: already})


def with_access(previous: StoredTokens, body: dict[str, Any], asked_at: float) -> StoredTokens:
    """The tokens after a token endpoint's answer `body` to a request sent at `asked_at`.

    A rotated refresh token replaces the previous one (which the service no longer accepts); without one
    in the answer the previous refresh token stays. The access token's lifetime counts from the request,
    so it is never thought to last longer than it does.
    """
    lifetime = body.get("expires_in")
    tokens = replace(previous, access_token=Secret(body["access_token"]), access_issued_at=asked_at,
                     access_expires_at=asked_at + float(3600 if lifetime is None else lifetime))
    if body.get("refresh_token"):
        now = time.time()
        refresh_lifetime = body.get("refresh_token_expires_in")
        tokens = replace(tokens, refresh_token=Secret(body["refresh_token"]), saved_at=now,
                         expires_at=now + float(refresh_lifetime) if refresh_lifetime else None)
    return tokens
