"""Status sections of the data going out: contact syncs and campaigns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .stores import duckdb_readonly, postgres_readonly, sqlite_readonly, statements
from .timefmt import age_of, iso

if TYPE_CHECKING:
    from .status import StatusOptions


# --- contact sync ----------------------------------------------------------------------------------------


def contacts_status(options: StatusOptions) -> dict[str, Any]:
    """Per customer/group: the last run and its figures, open ops, rejections and field warnings."""
    import duckdb

    from smartdialog_sync.destinations.contacts.state import state_path

    path = state_path(options.contacts_state, options.data_dir)
    if not path.exists():
        return {"present": False, "location": str(path)}
    try:
        with duckdb_readonly(path) as db:
            return {"present": True, "location": str(path), "busy": False, "groups": _read_contacts(db)}
    except duckdb.IOException:
        return {"present": True, "location": str(path), "busy": True, "groups": []}


def _read_contacts(db: Any) -> list[dict[str, Any]]:
    sql = statements()
    tables = {name for (name,) in db.execute(sql["duckdb_tables"]).fetchall()}
    groups: dict[tuple[str, str], dict[str, Any]] = {}

    def group(customer: str, group_service: str) -> dict[str, Any]:
        return groups.setdefault((customer, group_service), {
            "customer": customer, "group_service": group_service, "last_run": None, "interrupted": False,
            "open_ops": {"planned": 0, "inflight": 0, "interrupted": 0}, "calls_left": 0, "contacts_known": 0,
            "rejected_rows": 0, "server_rejections": 0, "field_warnings": 0,
        })

    if "sync_runs" in tables:
        cursor = db.execute(sql["contacts_last_runs"])
        names = [column[0] for column in cursor.description]
        for row in cursor.fetchall():
            run = dict(zip(names, row))
            entry = group(run.pop("customer"), run.pop("group_service"))
            for stamp in ("started_at", "finished_at"):
                run[stamp] = run[stamp].isoformat(timespec="seconds") if run[stamp] else None
            entry["last_run"] = run
    if "contact_ops" in tables:
        for customer, group_service, status, count in db.execute(sql["contacts_open_ops"]).fetchall():
            group(customer, group_service)["open_ops"][status] = int(count)
    counted = (({"server_rejections"}, "contacts_server_rejections", "server_rejections"),
               ({"contact_state"}, "contacts_known", "contacts_known"),
               ({"rejected_rows", "sync_runs"}, "contacts_rejected_rows", "rejected_rows"))
    for needed, statement, key in counted:
        if needed <= tables:
            for customer, group_service, count in db.execute(sql[statement]).fetchall():
                group(customer, group_service)[key] = int(count)
    for table in sorted(name for name in tables if "warning" in name):
        _count_warnings(db, table, group, groups)
    for entry in groups.values():
        ops = entry["open_ops"]
        entry["calls_left"] = ops["planned"] + ops["interrupted"] + 2 * ops["inflight"]  # in-flight: read, then maybe redo
        run_status = (entry["last_run"] or {}).get("status")
        entry["interrupted"] = run_status in ("running", "failed") or bool(ops["inflight"] or ops["interrupted"])
    return [groups[key] for key in sorted(groups)]


def _count_warnings(db: Any, table: str, group: Callable[[str, str], dict[str, Any]],
                    groups: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Field warnings per group (of the group's last run when the table has run_id), from any *warning* table."""
    quoted = '"' + table.replace('"', '""') + '"'
    columns = {column[0] for column in db.execute(f"SELECT * FROM {quoted} LIMIT 0").description}
    if not {"customer", "group_service"} <= columns:
        return
    for customer, group_service, run_id, count in db.execute(
        f"SELECT customer, group_service, {'run_id' if 'run_id' in columns else 'NULL'}, count(*) FROM {quoted} GROUP BY ALL"
    ).fetchall():
        entry = groups.get((customer, group_service)) or group(customer, group_service)
        last_run = (entry["last_run"] or {}).get("run_id")
        if run_id is None or run_id == last_run:
            entry["field_warnings"] += int(count)


# --- campaigns -------------------------------------------------------------------------------------------


def campaigns_status(options: StatusOptions) -> dict[str, Any]:
    """Per campaign: batches and recipients sent / in flight / unsent, and the oldest in-flight batch's age.

    Reads the configured ledger (--ledger, else the state's, else <data_dir>/campaigns.sqlite) read-only.
    """
    from smartdialog_sync.destinations.campaigns.ledger import describe, dialect_of
    from smartdialog_sync.destinations.campaigns.ledger import statements as ledger_statements
    from smartdialog_sync.state.location import StateLocation

    target = StateLocation(options.data_dir, options.state_url).ledger(options.ledger)
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
