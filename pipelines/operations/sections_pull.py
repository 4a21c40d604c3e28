"""Status sections of the data coming in: the limiter window, the journal and its webhooks, the pull pipelines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from smartdialog_sync.journal import read_only_queries
from smartdialog_sync.state.files import PIPELINES_DIR
from smartdialog_sync.state.location import hide_password

from .stores import (
    count_rows,
    disk_size,
    guarded,
    postgres_readonly,
    postgres_tables,
    sqlite_readonly,
    sqlite_tables,
)
from .timefmt import iso

if TYPE_CHECKING:
    from .options import StatusOptions


Execute = Callable[..., list[Any]]


# --- the limiter --------------------------------------------------------------------------------------


def limiter_status(options: StatusOptions) -> dict[str, Any]:
    """Calls in the current window per connection, and the age of each window's oldest slot."""
    from smartdialog_sync.api.limiter import read_window

    reading = read_window(options.state.limiter(options.limiter_url), options.window_s)
    if not reading.present:
        return {"present": False, "location": reading.location}
    connections = [
        {
            "connection": key,
            "this_connection": key == options.connection_key,
            "calls_in_window": calls,
            "limit": options.window_calls,
            "oldest_slot_age_s": round(reading.now - oldest, 3),
        }
        for key, calls, oldest in reading.connections
    ]
    return {"present": True, "location": reading.location, "window_s": options.window_s, "connections": connections}


# --- the journal and the webhooks -----------------------------------------------------------------------


def journal_status(options: StatusOptions) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Rows, rows not yet pulled (per pull mark), dead letters, size; and the saved webhook registrations."""
    location = options.state.journal(options.journal)
    if isinstance(location, str):
        import sqlalchemy

        with postgres_readonly(location) as db:
            execute: Execute = lambda statement, params=None: db.execute(sqlalchemy.text(statement), params or {}).all()  # noqa: E731
            section, webhooks = _read_journal(execute, postgres_tables(db), hide_password(location), options)
            section["size_bytes"] = int(execute(read_only_queries()["journal_size_postgres"])[0][0])
        return section, webhooks
    path = location
    if not path.exists():
        return {"present": False, "location": str(path)}, []
    with sqlite_readonly(path) as db:
        execute = lambda statement, params=None: db.execute(statement, params or {}).fetchall()  # noqa: E731
        section, webhooks = _read_journal(execute, sqlite_tables(db), str(path), options)
    section["size_bytes"] = disk_size(path)
    return section, webhooks


def _read_journal(execute: Execute, tables: set[str], location: str,
                  options: StatusOptions) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sql = read_only_queries()
    if not {"journal_inbound", "journal_dlr"} <= tables:
        return {"present": False, "location": location}, []
    dead = "journal_dead_letters" in tables
    section: dict[str, Any] = {
        "present": True,
        "location": location,
        "inbound": count_rows(execute, "journal_inbound"),
        "delivery_reports": count_rows(execute, "journal_dlr"),
        "dead_letters": int(execute(sql["journal_dead_letters_waiting"])[0][0]) if dead else 0,
        "not_pulled": _backlog(execute, tables, options.now),
    }
    webhooks = []
    if "journal_registrations" in tables:
        for customer, service, endpoint, pipeline_id, action_id, registered_us in execute(sql["journal_registrations"]):
            webhooks.append({"customer": customer, "service": service, "endpoint": endpoint, "pipeline_id": pipeline_id,
                             "action_id": action_id, "registered_at": iso(int(registered_us) / 1e6)})
    return section, webhooks


def _backlog(execute: Execute, tables: set[str], now: float) -> list[dict[str, Any]]:
    """Rows after each pipeline's pull mark (what it has loaded); all rows when no pull has marked any."""
    sql = read_only_queries()
    marks: dict[Optional[str], dict[str, Any]] = {}
    if "journal_pull_marks" in tables:
        for pipeline, table, seq, updated_us in execute(sql["journal_pull_marks"]):
            mark = marks.setdefault(pipeline, {"marked_at": None})
            mark[table] = int(seq)
            mark["marked_at"] = max(mark["marked_at"] or "", iso(int(updated_us) / 1e6))
    backlog = []
    for pipeline, mark in (marks or {None: {"marked_at": None}}).items():
        entry: dict[str, Any] = {"pipeline": pipeline, "marked_at": mark["marked_at"]}
        oldest = []
        for name, table in (("inbound", "inbound"), ("delivery_reports", "dlr")):
            rows, first_us = execute(sql[f"journal_{table}_after"], {"after": mark.get(table, 0)})[0]
            entry[name] = int(rows)
            if first_us is not None:
                oldest.append(int(first_us) / 1e6)
        entry["oldest_received_at"] = iso(min(oldest)) if oldest else None
        entry["oldest_age_s"] = round(now - min(oldest), 3) if oldest else None
        backlog.append(entry)
    return backlog


# --- the pull pipelines ----------------------------------------------------------------------------------


def pull_status(options: StatusOptions) -> list[dict[str, Any]]:
    """Each pull pipeline's last run (from dlt's local trace) and its pending load packages."""
    pipelines_dir = options.data_dir / PIPELINES_DIR
    if not pipelines_dir.is_dir():
        return []
    return [
        guarded(_pipeline_status, path, pipelines_dir,
                on_error=lambda error, path=path: {"pipeline": path.name, "error": error, "working_dir": str(path)})
        for path in sorted(pipelines_dir.iterdir()) if (path / "state.json").is_file()
    ]


def _pipeline_status(working_dir: Path, pipelines_dir: Path) -> dict[str, Any]:
    from smartdialog_sync.pipelines.pull_pipeline import PullResult

    state = json.loads((working_dir / "state.json").read_text())
    pending = sum(1 for folder in ("normalize/extracted", "load/normalized", "load/new")
                  if (working_dir / folder).is_dir() for _ in (working_dir / folder).iterdir())
    return {
        "pipeline": working_dir.name,
        "destination": str(state.get("destination_type") or "").removeprefix("dlt.destinations.") or None,
        "dataset": state.get("dataset_name"),
        "pending_packages": pending,
        "last_run": _last_run(working_dir),
        "info_command": PullResult(pipeline_name=working_dir.name, pipelines_dir=pipelines_dir).dlt_command("info"),
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
        "started_at": iso(trace.started_at.timestamp()),
        "finished_at": iso(trace.finished_at.timestamp()) if trace.finished_at else None,
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
