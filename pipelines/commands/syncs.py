"""`sdsync syncs list|check` and `sdsync run NAME`: the syncs declared in `[syncs.NAME]` of the dlt config."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import typer

from smartdialog_sync.errors import UsageError
from smartdialog_sync.progress import Progress

from ..runtime import Overrides, console, open_client, settings_from, state_from, stdout

app = typer.Typer(help="The syncs declared in [syncs.NAME] of .dlt/config.toml: list and check them.",
                  no_args_is_help=True)


@app.command("list", short_help="Each declared sync, its last run and next scheduled time.")
def list_syncs(ctx: typer.Context) -> None:
    """Show every declared sync with its schedule, next scheduled time (UTC) and last recorded run."""
    from rich.markup import escape
    from rich.table import Table

    from ..syncs.definitions import read_definitions
    from ..syncs.runs import open_sync_runs
    from ..syncs.schedule import next_time

    definitions = read_definitions()
    if not definitions:
        stdout.print("No syncs declared: add [syncs.NAME] tables to .dlt/config.toml (see the README).")
        return
    with open_sync_runs(state_from(ctx)) as runs:
        last = runs.last_runs()
    table = Table("sync", "kind", "schedule", "next run (UTC)", "last run (UTC)", "outcome", title="Declared syncs")
    for definition in definitions:
        schedule = f"{definition.schedule} ({definition.timezone})" if definition.schedule else "by hand"
        upcoming = f"{next_time(definition.schedule, definition.timezone):%Y-%m-%d %H:%M}" if definition.schedule else "-"
        record = last.get(definition.name)
        started = record.started_at[:16].replace("T", " ") if record else "never"
        outcome = _outcome(record.status, record.summary, record.run_key) if record else ""
        table.add_row(*(escape(cell) for cell in (definition.name, definition.kind, schedule, upcoming, started, outcome)))
    stdout.print(table)


def _outcome(status: str, summary: str | None, run_key: str | None) -> str:
    """A run's outcome for the table; a run with no outcome yet is running, or was killed (the next run resumes)."""
    if status == "running":
        return "running (or killed)" + (f": {run_key}" if run_key else "")
    return f"{status}: {summary}" if summary else status


@app.command("check", short_help="Validate every declared sync (exit 2 naming the key).")
def check(
    ctx: typer.Context,
    offline: bool = typer.Option(False, "--offline", help="Only check the config; do not ask the service whether "
                                                          "the customers and (group) services exist."),
) -> None:
    """Validate every declared sync: unknown keys, missing fields, bad cron, and (online) unknown customers
    or services. Every problem is named as `[syncs.NAME] KEY`; any problem exits 2."""
    from ..syncs.checks import online_problems
    from ..syncs.definitions import check_definitions

    definitions, problems = check_definitions()
    if not offline and definitions:
        with open_client(ctx) as api:
            problems += online_problems(definitions, api)
    if problems:
        raise UsageError("; ".join(problems))
    stdout.print(f"{len(definitions)} declared sync(s) valid" + (" (config only)" if offline else ""), markup=False)


def run(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The sync's NAME in [syncs.NAME]."),
    date: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD",
        help="Run as scheduled on this date (a campaign's id is NAME-DATE: rerun a day to resume it); default today."),
) -> None:
    """Run one declared sync now and record its outcome (`sdsync syncs list` shows it).

    A contact sync in mirror mode deletes without asking: its definition declares it. A recurring
    campaign sends once per recipient and day; rerunning the same day resumes it.
    """
    from ..progress.campaign import campaign_progress
    from ..progress.log import LogProgress
    from ..syncs.definitions import declared_sync
    from ..syncs.runner import run_declared_sync

    definition = declared_sync(name)  # exit 2 for a bad or unknown definition, before any settings are read
    scheduled_for = _scheduled_for(date, definition.timezone)
    overrides = ctx.find_object(Overrides)
    values = dict(overrides.values) if overrides else {}
    with campaign_progress(yes=True) as bar:  # the bar of `sdsync send`; the definition is the confirmation
        progress: Progress = bar
        if definition.kind == "contacts":
            from ..progress.contacts import ConsoleSyncProgress

            progress = ConsoleSyncProgress(console, stdout, settings_from(ctx).rate_limit)
        elif definition.kind == "pull":
            progress = LogProgress(lambda line: console.print(line, markup=False, highlight=False))
        outcome = run_declared_sync(name, values, scheduled_for, progress)
    outcome.raise_for_failure()
    stdout.print(f"{outcome.name}: {outcome.status}: {outcome.summary}", markup=False, highlight=False, soft_wrap=True)


def _scheduled_for(date: str | None, zone: str) -> datetime | None:
    """Midday of `date` in the sync's time zone (None: now)."""
    if date is None:
        return None
    try:
        day = datetime.strptime(date, "%Y-%m-%d")
    except ValueError:
        raise UsageError(f"--date {date!r} must be a date, YYYY-MM-DD") from None
    return day.replace(hour=12, tzinfo=ZoneInfo(zone))
