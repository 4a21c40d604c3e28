"""Status sections of the data going out: contact syncs and campaigns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from smartdialog_sync.state.location import hide_password

from .stores import duckdb_readonly, postgres_readonly, sqlite_readonly
from .timefmt import age_of, iso

if TYPE_CHECKING:
    from .options import StatusOptions


# --- contact sync ----------------------------------------------------------------------------------------


def contacts_status(options: StatusOptions) -> dict[str, Any]:
    """Per customer/group: the last run and its figures, open ops, rejections and field warnings, read
    read-only from the contact state wherever it is (a DuckDB file or the shared PostgreSQL)."""
    from smartdialog_sync.destinations.contacts.state import read_only_sql

    target = options.state.contact_state(options.contacts_state)
    if isinstance(target, str):
        return _postgres_contacts(target, read_only_sql("postgres"))
    import duckdb

    if not target.exists():
        return {"present": False, "location": str(target)}
    try:
        with duckdb_readonly(target) as db:
            groups = _read_contacts(lambda sql: _rows(db.execute(sql)), read_only_sql("duckdb"))
            return {"present": True, "location": str(target), "busy": False, "groups": groups}
    except duckdb.IOException:
        return {"present": True, "location": str(target), "busy": True, "groups": []}


def _postgres_contacts(url: str, sql: dict[str, str]) -> dict[str, Any]:
    location = hide_password(url)
    with postgres_readonly(url) as db:
        def execute(statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
            return _rows(db.exec_driver_sql(statement))

        if "sync_runs" not in {name for (name,) in execute(sql["tables"])[1]}:
            return {"present": False, "location": location}
        return {"present": True, "location": location, "busy": False, "groups": _read_contacts(execute, sql)}


def _rows(cursor: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a DuckDB cursor or a SQLAlchemy result."""
    if hasattr(cursor, "keys"):
        return list(cursor.keys()), [tuple(row) for row in cursor.fetchall()]
    return [column[0] for column in cursor.description], cursor.fetchall()


def _read_contacts(execute: Callable[[str], tuple[list[str], list[tuple[Any, ...]]]],
                   sql: dict[str, str]) -> list[dict[str, Any]]:
    tables = {name for (name,) in execute(sql["tables"])[1]}
    groups: dict[tuple[str, str], dict[str, Any]] = {}

    def group(customer: str, group_service: str) -> dict[str, Any]:
        return groups.setdefault((customer, group_service), {
            "customer": customer, "group_service": group_service, "last_run": None, "interrupted": False,
            "open_ops": {"planned": 0, "inflight": 0, "interrupted": 0}, "calls_left": 0, "contacts_known": 0,
            "rejected_rows": 0, "server_rejections": 0, "field_warnings": 0,
        })

    if "sync_runs" in tables:
        names, rows = execute(sql["status_last_runs"])
        for row in rows:
            run = dict(zip(names, row))
            entry = group(run.pop("customer"), run.pop("group_service"))
            for stamp in ("started_at", "finished_at"):
                run[stamp] = run[stamp].isoformat(timespec="seconds") if run[stamp] else None
            entry["last_run"] = run
    if "contact_ops" in tables:
        for customer, group_service, status, count in execute(sql["status_open_ops"])[1]:
            group(customer, group_service)["open_ops"][status] = int(count)
    counted = (({"server_rejections"}, "status_server_rejections", "server_rejections"),
               ({"contact_state"}, "status_known", "contacts_known"),
               ({"rejected_rows", "sync_runs"}, "status_rejected_rows", "rejected_rows"),
               ({"field_warnings", "sync_runs", "contact_state", "contact_ops"}, "status_field_warnings", "field_warnings"))
    for needed, statement, key in counted:
        if needed <= tables:
            for customer, group_service, count in execute(sql[statement])[1]:
                group(customer, group_service)[key] = int(count)
    for entry in groups.values():
        ops = entry["open_ops"]
        entry["calls_left"] = ops["planned"] + ops["interrupted"] + 2 * ops["inflight"]  # in-flight: read, then maybe redo
        run_status = (entry["last_run"] or {}).get("status")
        entry["interrupted"] = run_status in ("running", "failed") or bool(ops["inflight"] or ops["interrupted"])
    return [groups[key] for key in sorted(groups)]


# --- campaigns -------------------------------------------------------------------------------------------


def campaigns_status(options: StatusOptions) -> dict[str, Any]:
    """Per campaign: batches and recipients sent / in flight / unsent, and the oldest in-flight batch's age.

    Reads the configured ledger (--ledger, else the state's, else <data_dir>/campaigns.sqlite) read-only.
    """
    from smartdialog_sync.destinations.campaigns.ledger import describe, dialect_of
    from smartdialog_sync.destinations.campaigns.ledger import (
        statements as ledger_statements,
    )

    target = options.state.ledger(options.ledger)
    location, sql = describe(target), ledger_statements(dialect_of(target))
    if isinstance(target, Path):
        if not target.exists():
            return {"present": False, "location": location}
        with sqlite_readonly(target) as db:
            return _read_campaigns(options, location, sql, lambda name, params=None: db.execute(sql[name], params or {}).fetchall(),
                                   lambda: _sqlite_has_send_time(db))
    import sqlalchemy

    with postgres_readonly(target) as db:
        return _read_campaigns(options, location, sql,
                               lambda name, params=None: db.execute(sqlalchemy.text(sql[name]), params or {}).fetchall(),
                               lambda: True)


def _sqlite_has_send_time(db: Any) -> bool:
    """A ledger written before scheduled sends has no send_date_time column (it is added on its next open)."""
    return "send_date_time" in {row[1] for row in db.execute("PRAGMA table_info(campaign_batches)")}


def _read_campaigns(options: StatusOptions, location: str, sql: dict[str, str], rows: Callable[..., list[Any]],
                    has_send_time: Callable[[], bool]) -> dict[str, Any]:
    tables = {name for (name,) in rows("tables")}
    if "campaigns" not in tables:
        return {"present": False, "location": location}
    campaigns = {
        campaign_id: {"campaign_id": campaign_id, "kind": kind, "customer": customer, "service": service,
                      "created_at": created_at, "age_s": age_of(options.now, created_at),
                      "batches": {}, "oldest_in_flight_at": None, "oldest_in_flight_age_s": None}
        for campaign_id, kind, customer, service, created_at in rows("read_campaigns")
    }
    batch_rows = rows("read_batch_states") if "campaign_batches" in tables else []
    scheduled = {
        campaign_id: {"batches": int(batches), "recipients": int(recipients), "first_at": first_at}
        for campaign_id, batches, recipients, first_at in rows("read_scheduled", {"now": iso(options.now)})
    } if "campaign_batches" in tables and has_send_time() else {}
    for campaign_id, status, batches, recipients, in_flight_since in batch_rows:
        entry = campaigns.get(campaign_id)
        if entry is None:
            continue
        entry["batches"][status] = {"batches": int(batches), "recipients": int(recipients)}
        if in_flight_since:
            entry["oldest_in_flight_at"] = in_flight_since
            entry["oldest_in_flight_age_s"] = age_of(options.now, in_flight_since)
    for campaign_id, entry in campaigns.items():
        totals = {"sent": [0, 0], "in_flight": [0, 0], "unsent": [0, 0]}
        for status, figures in entry["batches"].items():
            bucket = totals[status if status in ("sent", "in_flight") else "unsent"]
            bucket[0] += figures["batches"]
            bucket[1] += figures["recipients"]
        entry.update({name: {"batches": b, "recipients": r} for name, (b, r) in totals.items()})
        entry["scheduled_at_service"] = scheduled.get(campaign_id)
    return {"present": True, "location": location, "campaigns": list(campaigns.values())}
