"""Connections to the shared state's PostgreSQL: one engine factory for every store.

A URL without a password is fine: libpq (under psycopg) then reads `PGPASSWORD` or `~/.pgpass`. Sessions
ask the server for TCP keepalives, so a session whose machine vanished is ended (and its advisory locks
freed) within about half a minute rather than hours.
"""

from __future__ import annotations

from typing import Any

from smartdialog_sync.errors import SdsyncError

from .location import hide_password, postgres_url

KEEPALIVE_OPTIONS = "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
CONNECT_TIMEOUT_S = 10


class StateUnavailable(SdsyncError):
    """The shared state's database cannot be reached or used."""


def state_engine(url: str, *, pool_size: int = 2, **options: Any) -> Any:
    """A SQLAlchemy engine for the state database (psycopg 3), with keepalives and a connect timeout."""
    import sqlalchemy as sa

    parsed = sa.engine.make_url(postgres_url(url))
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(
        parsed, pool_size=pool_size, max_overflow=2, pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "options": KEEPALIVE_OPTIONS}, **options,
    )


def unavailable(url: str, exc: BaseException) -> StateUnavailable:
    """The one-line error for a state database that failed (password hidden)."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return StateUnavailable(f"cannot use the state database {hide_password(url)}: {detail[0] if detail else type(exc).__name__}")


def ensure_schema(connection: Any, ddl: str) -> None:
    """Run a store's `CREATE ... IF NOT EXISTS` script, serialised so that concurrent first runs never race."""
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('sdsync_state_schema'))")
    connection.exec_driver_sql(ddl)
