"""What `sdsync contacts sync` shows: the plan (with the calls it needs and their time under the rate limit,
the values normalised and the fields left out), a progress bar with ETA and the limiter's waits, the run's
figures and samples of the rejected rows and of the field warnings (`ConsoleSyncProgress`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from smartdialog_sync.destinations.contacts.planner import (
    PlanSummary,
    SyncPlan,
    seconds_under_limit,
)
from smartdialog_sync.destinations.contacts.state import Operation
from smartdialog_sync.destinations.contacts.sync import (
    SAMPLE_ROWS,
    SyncProgress,
    SyncResult,
)

from smartdialog_sync.api import RateLimit


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def plan_table(plan: PlanSummary, to_reconcile: int, limit: RateLimit, title: str) -> Table:
    """The plan as a table: ops by kind, rows left alone, calls needed and their time under the limit."""
    calls = plan.operations + to_reconcile
    table = Table(title=escape(title), show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("mode", Text(plan.mode_words, justify="left"))
    for label, value in (
        ("CRM rows", plan.source_rows),
        ("creates", plan.creates),
        ("updates", plan.updates),
        ("deletes", plan.deletes),
        ("unchanged (no call)", plan.unchanged),
        ("rejected", plan.rejected),
        *((label, count) for label, count in (
            ("not updated: the contact exists (create-only)", plan.not_updated),
            ("no contact: reported, not created (update-only; rows with reason no_contact)", plan.no_contact),
            ("of the updates, contacts the state does not know (no_contact if missing)", plan.unknown_updates),
        ) if count),
        ("in-flight ops to reconcile (1 read each)", to_reconcile),
        ("API calls needed", calls),
    ):
        table.add_row(label, str(value))
    for label, counts in (("normalised", plan.normalised), ("left out (field warning)", plan.left_out)):
        for name, count in counts.items():
            table.add_row(f"{name} {label}", str(count))
    for column, hint in plan.unmapped.items():
        table.add_row(Text(f"column {column} (not sent)"), Text(hint, justify="left"))
    table.add_row(f"time under the rate limit {limit}", f"≥ {_duration(seconds_under_limit(calls, limit))}")
    return table


def _sample_table(title: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Table | None:
    """A table of CRM values (never read as markup), or None when there are no rows."""
    if not rows:
        return None
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text("" if value is None else str(value)) for value in row))
    return table


def rejected_table(result: SyncResult) -> Table | None:
    """The first rejected rows of a run with their source key and reason, or None when there are none."""
    return _sample_table(f"Rejected rows (first {SAMPLE_ROWS}; all in table rejected_rows, run {result.run_id})",
                         ("source key", "phone", "reason"), result.rejected)


def warnings_table(result: SyncResult) -> Table | None:
    """The first field warnings of a run (fields left out of a synced contact), or None when there are none."""
    return _sample_table(
        f"Fields left out of synced contacts (first {SAMPLE_ROWS}; all in table field_warnings, run {result.run_id})",
        ("source key", "field", "value", "reason"), result.field_warnings)


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
        table.add_row("error", Text(str(record["error"])))
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

    def __enter__(self) -> ApplyProgress:
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


class ConsoleSyncProgress(SyncProgress):
    """The CLI's view of a run: info, the plan and a progress bar on `console` (stderr), results on `out`
    (a dry run's plan is its result)."""

    def __init__(self, console: Console, out: Console, limit: RateLimit, dry_run: bool = False,
                 confirm: Callable[[int], bool] | None = None) -> None:
        self.console = console
        self.out = out
        self.limit = limit
        self.dry_run = dry_run
        self.confirm = confirm
        self.bar: ApplyProgress | None = None

    def info(self, text: str) -> None:
        self.console.print(Text(text, style="dim"))

    def planned(self, report: SyncPlan) -> None:
        (self.out if self.dry_run else self.console).print(
            plan_table(report.summary, report.to_reconcile, self.limit, report.title))

    def confirm_deletes(self, count: int) -> bool:
        return self.confirm(count) if self.confirm else False

    def applying(self, total: int) -> None:
        self.bar = ApplyProgress(self.console, total).__enter__()

    def applied(self, op: Operation, result: str) -> None:
        if self.bar:
            self.bar.advance(op, result)

    def waiting(self, seconds: float, reason: str) -> None:
        if self.bar:
            self.bar.waiting(seconds, reason)

    def apply_ended(self) -> None:
        if self.bar:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def finished(self, result: SyncResult) -> None:
        if result.status != "dry-run":
            self.out.print(run_table(result.record))
        for table in (rejected_table(result), warnings_table(result)):
            if table is not None:
                self.out.print(table)
        if result.status == "dry-run":
            self.out.print(f"Planned operations stored in table planned_ops (run_id {result.run_id}) of "
                           f"{result.state_location}; nothing was sent.", markup=False)
        if result.ops_left:
            self.out.print(f"--max-calls reached: {result.ops_left} operations left for the next run.")
