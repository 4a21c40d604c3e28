"""The open incidents, so that each alerts once: a SQLite file in the data dir or the shared state's PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from smartdialog_sync.receiver.payloads import now_us

from smartdialog_sync.sqlfiles import read_named_sql
from smartdialog_sync.state.engines import open_store
from smartdialog_sync.state.migration import StoreMigration

from .incidents import Incident

ROW_COLUMNS = ("kind", "subject", "message", "opened_at_us", "webhook_at_us", "email_at_us")


@dataclass(frozen=True)
class OpenIncident:
    """An incident in the store and when each channel took its alert (None: not yet)."""

    incident: Incident
    webhook_at_us: Optional[int]
    email_at_us: Optional[int]


class IncidentStore:
    """`alert_incidents` (sql/alert_incidents.sql) on SQLite or PostgreSQL, through SQLAlchemy."""

    def __init__(self, target: str | Path) -> None:
        self._sql = read_named_sql("alert_incidents.sql")
        self._engine = open_store(target, self._sql["schema"])

    def _run(self, db: Any, name: str, **params: Any) -> Any:
        import sqlalchemy as sa

        return db.execute(sa.text(self._sql[name]), params)

    def update(self, current: Iterable[Incident], in_scope: Callable[[str, str], bool]) -> list[OpenIncident]:
        """Resolve the open incidents `in_scope(kind, subject)` that are not `current`, open the `current` ones
        (all in scope) that are new, and return the open incidents in scope, in the order they opened.

        One read of the open incidents: a `current` one that another process opened meanwhile is left to it."""
        current_by_key = {incident.key: incident for incident in current}
        held: list[OpenIncident] = []
        with self._engine.begin() as db:
            for kind, subject, message, webhook_at, email_at in self._run(db, "list_open").all():
                if not in_scope(kind, subject):
                    continue
                if current_by_key.pop((kind, subject), None):  # still current: kept open with its first message
                    held.append(OpenIncident(Incident(kind, subject, message), webhook_at, email_at))
                else:
                    self._run(db, "resolve", kind=kind, subject=subject)
            for incident in current_by_key.values():
                opened = self._run(db, "open", kind=incident.kind, subject=incident.subject, message=incident.message,
                                   now=now_us()).rowcount
                if opened:
                    held.append(OpenIncident(incident, None, None))
        return held

    def rows(self) -> list[tuple[Any, ...]]:
        """Every open incident as stored (kind, subject, message, opened_at_us, webhook_at_us, email_at_us)."""
        with self._engine.connect() as db:
            return [tuple(row) for row in self._run(db, "list_rows").all()]

    def add_rows(self, rows: list[tuple[Any, ...]]) -> int:
        """Add open incidents as `rows` gives them (one open here already is kept as it is); return how many."""
        with self._engine.begin() as db:
            return sum(self._run(db, "copy", **dict(zip(ROW_COLUMNS, row))).rowcount for row in rows)

    def delivered(self, incident: Incident, channel: str) -> None:
        """Record that `channel` took the alert of `incident`."""
        with self._engine.begin() as db:
            self._run(db, f"delivered_{channel}", kind=incident.kind, subject=incident.subject, now=now_us())

    def close(self) -> None:
        """Release the connections."""
        self._engine.dispose()


def migrate_alerts(source: Path, target_url: str) -> StoreMigration:
    """`sdsync state migrate`: copy the data dir's open incidents into the shared state (idempotent)."""
    local, shared = IncidentStore(source), IncidentStore(target_url)
    try:
        rows = local.rows()
        added = shared.add_rows(rows)
    finally:
        local.close()
        shared.close()
    return StoreMigration("alert incidents", str(source), {"alert_incidents": added},
                          {"alert_incidents": len(rows) - added})
