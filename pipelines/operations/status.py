"""`sdsync status`: one report of the local stores, read-only, costing no API call.

`collect_status` returns a JSON-ready dict with one section per store (each says `present: false` when
nothing was run yet) and `attention`: one line per thing an operator should act on.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from .stores import (
    count_rows,
    disk_size,
    hide_password,
    duckdb_readonly,
    is_postgres_url,
    postgres_readonly,
    postgres_tables,
    sqlite_path,
    sqlite_readonly,
    sqlite_tables,
    statements,
)

if TYPE_CHECKING:
    from smartdialog_sync.api import ClientSettings

LIMITER_FILE_NAME = "ratelimit.sqlite"  # smartdialog_sync.api.limiter.open_store
PIPELINES_DIR_NAME = "pipelines"  # smartdialog_sync.pipelines.pull_pipeline
JOURNAL_RESOURCES = {"inbound_messages": "inbound", "delivery_reports": "delivery_reports"}
REQUEST_ID_MEMORY_DAYS = 7  # how long SmartDialog remembers a RequestId

Execute = Callable[..., list[Any]]


@dataclass
class StatusOptions:
    """Where the stores are and what counts as needing attention."""

    data_dir: Path
    window_calls: int = 100
    window_s: float = 60.0
    limiter_url: Optional[str] = None
    connection_key: Optional[str] = None  # the window key of the configured connection, to label it
    journal: Optional[str] = None
    contacts_state: Optional[str] = None
    ledger: Optional[str] = None
    backlog_hours: float = 24.0
    campaign_hours: float = 24.0
    now: float = field(default_factory=time.time)

    @classmethod
    def from_settings(cls, settings: Optional[ClientSettings], data_dir: Path, **options: Any) -> "StatusOptions":
        """Options for the configured connection; without settings (no credentials), the defaults in `data_dir`."""
        if settings is None:
            return cls(data_dir=data_dir, **options)
        return cls(data_dir=settings.data_dir, window_calls=settings.rate_limit.calls,
                   window_s=settings.rate_limit.seconds, limiter_url=settings.limiter_url,
                   connection_key=settings.connection_key, **options)


def collect_status(options: StatusOptions) -> dict[str, Any]:
    """Read every store (read-only) and return the report, with its `attention` lines."""
    pulls = _guarded(pull_status, options, default=[])
    journal, webhooks = _guarded(journal_status, options, pulls, default=({"present": False}, []))
    report: dict[str, Any] = {
        "data_dir": str(options.data_dir),
        "generated_at": _iso(options.now),
        "limiter": _guarded(limiter_status, options, default={"present": False}),
        "journal": journal,
        "pulls": pulls,
        "contacts": _guarded(contacts_status, options, default={"present": False}),
        "campaigns": _guarded(campaigns_status, options, default={"present": False}),
        "webhooks": webhooks,
    }
    sections = (report["limiter"], report["journal"], report["contacts"], report["campaigns"])
    report["nothing_run_yet"] = not pulls and not any(section.get("present") for section in sections)
    report["attention"] = attention(report, options)
    return report


def _guarded(read: Callable[..., Any], *args: Any, default: Any) -> Any:
    """Run a section reader; a store that cannot be read becomes {"error": ...} instead of a crash."""
    try:
        return read(*args)
    except Exception as exc:  # a corrupt file, an unreachable database: reported, not raised
        error = {"present": True, "error": f"{type(exc).__name__}: {exc}".splitlines()[0]}
        if isinstance(default, tuple):
            return ({**default[0], **error}, [])
        return [error] if isinstance(default, list) else {**default, **error}


# --- the limiter --------------------------------------------------------------------------------------


def limiter_status(options: StatusOptions) -> dict[str, Any]:
    """Calls in the current window per connection, and the age of each window's oldest slot."""
    sql = statements()
    if options.limiter_url:
        import sqlalchemy

        location = hide_password(options.limiter_url)
        with postgres_readonly(options.limiter_url) as db:
            if "sdsync_api_calls" not in postgres_tables(db):
                return {"present": False, "location": location}
            now = float(db.execute(sqlalchemy.text(sql["postgres_now"])).scalar_one())
            rows = db.execute(sqlalchemy.text(sql["limiter_window_postgres"]), {"since": now - options.window_s}).all()
    else:
        path = options.data_dir / LIMITER_FILE_NAME
        location, now = str(path), options.now
        if not path.exists():
            return {"present": False, "location": location}
        with sqlite_readonly(path) as db:
            if "api_calls" not in sqlite_tables(db):
                return {"present": False, "location": location}
            rows = db.execute(sql["limiter_window_sqlite"], {"since": now - options.window_s}).fetchall()
    connections = [
        {
            "connection": key,
            "this_connection": key == options.connection_key,
            "calls_in_window": int(calls),
            "limit": options.window_calls,
            "oldest_slot_age_s": round(now - float(oldest), 3),
        }
        for key, calls, oldest in rows
    ]
    return {"present": True, "location": location, "window_s": options.window_s, "connections": connections}


# --- the journal and the webhooks -----------------------------------------------------------------------


def journal_status(options: StatusOptions, pulls: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Rows, rows not yet pulled (per pull pipeline), dead letters, size; and the saved webhook registrations."""
    location = options.journal or str(options.data_dir / "journal.sqlite")
    if is_postgres_url(location):
        import sqlalchemy

        with postgres_readonly(location) as db:
            execute: Execute = lambda statement, params=None: db.execute(sqlalchemy.text(statement), params or {}).all()  # noqa: E731
            section, webhooks = _read_journal(execute, postgres_tables(db), hide_password(location), options, pulls)
            section["size_bytes"] = int(execute(statements()["journal_size_postgres"])[0][0])
        return section, webhooks
    path = sqlite_path(location)
    if not path.exists():
        return {"present": False, "location": str(path)}, []
    with sqlite_readonly(path) as db:
        execute = lambda statement, params=None: db.execute(statement, params or {}).fetchall()  # noqa: E731
        section, webhooks = _read_journal(execute, sqlite_tables(db), str(path), options, pulls)
    section["size_bytes"] = disk_size(path)
    return section, webhooks


def _read_journal(execute: Execute, tables: set[str], location: str, options: StatusOptions,
                  pulls: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sql = statements()
    if "journal_inbound" not in tables:
        return {"present": False, "location": location}, []
    section: dict[str, Any] = {
        "present": True,
        "location": location,
        "inbound": count_rows(execute, "journal_inbound"),
        "delivery_reports": count_rows(execute, "journal_dlr") if "journal_dlr" in tables else 0,
        "dead_letters": {table: count_rows(execute, table) for table in sorted(tables) if "dead" in table},
    }
    readers = [pull for pull in pulls if pull.get("journal_cursor")]
    backlog = []
    for pull in readers or [{"pipeline": None, "journal_cursor": {}}]:
        entry: dict[str, Any] = {"pipeline": pull["pipeline"]}
        oldest = []
        for name, statement, table in (("inbound", "journal_inbound_after", "journal_inbound"),
                                       ("delivery_reports", "journal_dlr_after", "journal_dlr")):
            if table not in tables:
                entry[name] = 0
                continue
            rows, first_us = execute(sql[statement], {"after": int(pull["journal_cursor"].get(name) or 0)})[0]
            entry[name] = int(rows)
            if first_us is not None:
                oldest.append(int(first_us) / 1e6)
        entry["oldest_received_at"] = _iso(min(oldest)) if oldest else None
        entry["oldest_age_s"] = round(options.now - min(oldest), 3) if oldest else None
        backlog.append(entry)
    section["not_pulled"] = backlog
    webhooks = []
    if "journal_registrations" in tables:
        for customer, service, endpoint, pipeline_id, action_id, registered_us in execute(sql["journal_registrations"]):
            webhooks.append({"customer": customer, "service": service, "endpoint": endpoint, "pipeline_id": pipeline_id,
                             "action_id": action_id, "registered_at": _iso(int(registered_us) / 1e6)})
    return section, webhooks


# --- the pull pipelines ----------------------------------------------------------------------------------


def pull_status(options: StatusOptions) -> list[dict[str, Any]]:
    """Each pull pipeline's last run (from dlt's local trace), its journal cursors and pending packages."""
    pipelines_dir = options.data_dir / PIPELINES_DIR_NAME
    if not pipelines_dir.is_dir():
        return []
    return [_guarded(_pipeline_status, path, pipelines_dir, default={"pipeline": path.name})
            for path in sorted(pipelines_dir.iterdir()) if (path / "state.json").is_file()]


def _pipeline_status(working_dir: Path, pipelines_dir: Path) -> dict[str, Any]:
    state = json.loads((working_dir / "state.json").read_text())
    cursors: dict[str, int] = {}
    for source in (state.get("sources") or {}).values():
        for resource, name in JOURNAL_RESOURCES.items():
            incremental = ((source.get("resources") or {}).get(resource) or {}).get("incremental") or {}
            for cursor in incremental.values():
                cursors[name] = cursor.get("last_value") or 0
    pending = sum(1 for folder in ("normalize/extracted", "load/normalized", "load/new")
                  if (working_dir / folder).is_dir() for _ in (working_dir / folder).iterdir())
    return {
        "pipeline": working_dir.name,
        "destination": str(state.get("destination_type") or "").removeprefix("dlt.destinations.") or None,
        "dataset": state.get("dataset_name"),
        "journal_cursor": cursors,
        "pending_packages": pending,
        "last_run": _last_run(working_dir),
        "info_command": _info_command(working_dir.name, pipelines_dir),
    }


def _last_run(working_dir: Path) -> Optional[dict[str, Any]]:
    from dlt.pipeline.trace import load_trace

    trace = load_trace(str(working_dir))
    if trace is None:
        return None
    rows: dict[str, int] = {}
    failed = next((step for step in trace.steps if step.step_exception), None)
    for step in trace.steps:
        for table, count in (getattr(step.step_info, "row_counts", None) or {}).items():
            if not table.startswith("_dlt"):
                rows[table] = rows.get(table, 0) + count
    return {
        "started_at": _iso(trace.started_at.timestamp()),
        "finished_at": _iso(trace.finished_at.timestamp()) if trace.finished_at else None,
        "outcome": "failed" if failed else "completed",
        "failed_step": failed.step if failed else None,
        "error": _root_cause(failed) if failed else None,
        "rows": dict(sorted(rows.items())),
    }


def _root_cause(step: Any) -> str:
    """The first line of the first exception in the step's chain that is not dlt's own wrapper."""
    traces = step.exception_traces or []
    chosen = next((t for t in traces if not str(t.get("exception_type", "")).startswith("dlt.")), None)
    text = (chosen or (traces[-1] if traces else {})).get("message") or str(step.step_exception)
    return (text.strip().splitlines() or [""])[0]


def _info_command(name: str, pipelines_dir: Path) -> str:
    from dlt.common.pipeline import get_dlt_pipelines_dir

    option = ""
    if pipelines_dir.resolve() != Path(get_dlt_pipelines_dir()).resolve():
        option = f" --pipelines-dir {shlex.quote(str(pipelines_dir))}"
    return f"dlt pipeline{option} {shlex.quote(name)} info"


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
                run[stamp] = run[stamp].isoformat() if run[stamp] else None
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
    """Per campaign: batches and recipients sent / in flight / unsent, and the oldest in-flight batch's age."""
    path = sqlite_path(options.ledger) if options.ledger else options.data_dir / "campaigns.sqlite"
    if not path.exists():
        return {"present": False, "location": str(path)}
    sql = statements()
    with sqlite_readonly(path) as db:
        tables = sqlite_tables(db)
        if "campaigns" not in tables:
            return {"present": False, "location": str(path)}
        campaigns = {
            campaign_id: {"campaign_id": campaign_id, "kind": kind, "customer": customer, "service": service,
                          "created_at": created_at, "age_s": _age_of(options.now, created_at),
                          "batches": {}, "oldest_in_flight_at": None, "oldest_in_flight_age_s": None}
            for campaign_id, kind, customer, service, created_at in db.execute(sql["campaigns"])
        }
        batch_rows = db.execute(sql["campaign_batches"]).fetchall() if "campaign_batches" in tables else []
    for campaign_id, status, batches, recipients, in_flight_since in batch_rows:
        entry = campaigns.get(campaign_id)
        if entry is None:
            continue
        entry["batches"][status] = {"batches": int(batches), "recipients": int(recipients)}
        if in_flight_since:
            entry["oldest_in_flight_at"] = in_flight_since
            entry["oldest_in_flight_age_s"] = _age_of(options.now, in_flight_since)
    for entry in campaigns.values():
        totals = {"sent": [0, 0], "in_flight": [0, 0], "unsent": [0, 0]}
        for status, figures in entry["batches"].items():
            bucket = totals[status if status in ("sent", "in_flight") else "unsent"]
            bucket[0] += figures["batches"]
            bucket[1] += figures["recipients"]
        entry.update({name: {"batches": b, "recipients": r} for name, (b, r) in totals.items()})
    return {"present": True, "location": str(path), "campaigns": list(campaigns.values())}


# --- what needs attention --------------------------------------------------------------------------------


def attention(report: dict[str, Any], options: StatusOptions) -> list[str]:
    """One line per thing to act on; empty when all is well."""
    lines: list[str] = []
    for name in ("limiter", "journal", "contacts", "campaigns"):
        if report[name].get("error"):
            lines.append(f"{name}: cannot read the store: {report[name]['error']}")
    lines += _journal_attention(report["journal"], options)
    for pull in report["pulls"]:
        if pull.get("error"):
            lines.append(f"pull: cannot read a pipeline's state: {pull['error']}")
        elif (pull.get("last_run") or {}).get("outcome") == "failed":
            run = pull["last_run"]
            lines.append(f"pull {pull['pipeline']}: the last run failed at step {run['failed_step']}: {run['error']}"
                         f" (see `{pull['info_command']}`)")
    for entry in report["contacts"].get("groups") or []:
        if entry["interrupted"]:
            ops = entry["open_ops"]
            run = entry["last_run"] or {}
            lines.append(
                f"contacts {entry['customer']}/{entry['group_service']}: run {run.get('run_id')} was interrupted "
                f"({run.get('status')}; {ops['inflight']} ops in flight, {ops['interrupted']} interrupted, "
                f"{ops['planned']} planned): run the same `sdsync contacts sync` again to finish it"
            )
    for entry in report["campaigns"].get("campaigns") or []:
        lines += _campaign_attention(entry, options)
    return lines


def _journal_attention(journal: dict[str, Any], options: StatusOptions) -> list[str]:
    lines = []
    for table, count in (journal.get("dead_letters") or {}).items():
        if count:
            lines.append(f"journal: {count} dead letter(s) in {table}")
    for entry in journal.get("not_pulled") or []:
        age = entry.get("oldest_age_s")
        if age is not None and age > options.backlog_hours * 3600:
            who = f"pipeline {entry['pipeline']}" if entry["pipeline"] else "any pull (none has run)"
            lines.append(f"journal: {entry['inbound'] + entry['delivery_reports']} row(s) not yet pulled by {who}, "
                         f"the oldest for {human_age(age)} (more than {options.backlog_hours:g} h): run `sdsync pull`")
    return lines


def _campaign_attention(entry: dict[str, Any], options: StatusOptions) -> list[str]:
    lines = []
    unsent = entry["unsent"]["batches"] + entry["in_flight"]["batches"]
    if unsent and (entry["age_s"] or 0) > options.campaign_hours * 3600:
        lines.append(f"campaign {entry['campaign_id']}: {unsent} batch(es) not confirmed sent, created "
                     f"{human_age(entry['age_s'])} ago: rerun the same `sdsync send` to finish it")
    in_flight_age = entry.get("oldest_in_flight_age_s")
    if in_flight_age is not None and in_flight_age > REQUEST_ID_MEMORY_DAYS * 86400:
        lines.append(f"campaign {entry['campaign_id']}: a batch has been in flight for {human_age(in_flight_age)}: "
                     f"SmartDialog remembers RequestIds for {REQUEST_ID_MEMORY_DAYS} days, so a resend may duplicate it")
    return lines


# --- helpers ---------------------------------------------------------------------------------------------


def human_age(seconds: float) -> str:
    """A duration for people: 42 s, 5 min, 3.5 h, 2.1 d."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def _age_of(now: float, iso_text: Optional[str]) -> Optional[float]:
    if not iso_text:
        return None
    stamp = datetime.fromisoformat(iso_text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return round(now - stamp.timestamp(), 3)
