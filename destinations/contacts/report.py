"""What the contact sync shows: the plan (with the calls it needs and their time under the rate limit),
a progress bar with ETA and the limiter's waits, the run's figures and a sample of rejected rows."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from smartdialog_sync.api import RateLimit

from .planner import PlanSummary
from .state import ContactStateStore, Operation

REJECTED_SHOWN = 20


def seconds_under_limit(calls: int, limit: RateLimit) -> float:
    """Least time `calls` calls take under a sliding window of `limit` (an empty window to start with)."""
    if calls <= limit.calls:
        return 0.0
    return (calls - limit.calls) * limit.seconds / limit.calls


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def plan_table(plan: PlanSummary, to_reconcile: int, limit: RateLimit, title: str) -> Table:
    """The plan as a table: ops by kind, rows left alone, calls needed and their time under the limit."""
    calls = plan.operations + to_reconcile
    table = Table(title=escape(title), show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("CRM rows", plan.source_rows),
        ("creates", plan.creates),
        ("updates", plan.updates),
        ("deletes", plan.deletes),
        ("unchanged (no call)", plan.unchanged),
        ("rejected", plan.rejected),
        ("in-flight ops to reconcile (1 read each)", to_reconcile),
        ("API calls needed", calls),
    ):
        table.add_row(label, str(value))
    table.add_row(f"time under the rate limit {limit}", f"≥ {_duration(seconds_under_limit(calls, limit))}")
    return table


def rejected_table(store: ContactStateStore, run_id: int) -> Table | None:
    """The first rejected rows of a run with their source key and reason, or None when there are none."""
    rows = store.con.execute(
        "SELECT source_key, phone, reason FROM rejected_rows WHERE run_id = ? LIMIT ?", [run_id, REJECTED_SHOWN]
    ).fetchall()
    if not rows:
        return None
    table = Table(title=f"Rejected rows (first {REJECTED_SHOWN}; all in table rejected_rows, run {run_id})")
    for column in ("source key", "phone", "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if value is None else escape(str(value)) for value in row))
    return table


def run_table(record: dict[str, Any]) -> Table:
    """The figures of a finished run (a sync_runs row)."""
    table = Table(title=f"Sync run {record['run_id']}: {record['status']}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for name in ("creates", "updates", "deletes", "unchanged", "rejected", "reconciled", "applied", "calls",
                 "retries", "throttled", "waited_s", "duration_s"):
        value = record.get(name)
        table.add_row(name.replace("_s", " (s)"), f"{value:.1f}" if isinstance(value, float) else str(value))
    if record.get("error"):
        table.add_row("error", escape(str(record["error"])))
    return table


class ApplyProgress:
    """A rich progress bar over the ops, with ETA; limiter and Retry-After waits show in its description."""

    def __init__(self, console: Console, total: int) -> None:
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),  # phones and server reasons are data, not markup
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("applying", total=total)

    def __enter__(self) -> "ApplyProgress":
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def advance(self, op: Operation, result: str) -> None:
        """One op finished (`result` says how)."""
        self._progress.update(self._task, advance=1, description=f"{op.op} {op.phone}: {result}")

    def waiting(self, seconds: float, reason: str) -> None:
        """The client waits before its next call (the API client's on_wait hook)."""
        self._progress.update(self._task, description=f"waiting {seconds:.1f}s ({reason})")
