"""The console adapter of a campaign run (`sdsync send`, `send-whatsapp`, `sdsync run` of a campaign): the plan
printed with its schedule as a table, the confirmation asked on the terminal and a bar while batches are sent."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from smartdialog_sync.destinations.campaigns.report import PlanReport
from smartdialog_sync.destinations.campaigns.run import CampaignProgress
from smartdialog_sync.errors import UsageError

from ..runtime import console, stdout


class ConsoleCampaignProgress(CampaignProgress):
    """Prints the plan and notes, asks for confirmation unless `yes`, draws a bar while batches are sent."""

    def __init__(self, yes: bool) -> None:
        self.yes = yes
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=console)
        self.task: TaskID | None = None

    def info(self, text: str) -> None:
        console.print(text, markup=False, highlight=False)

    def planned(self, report: PlanReport) -> None:
        first, *rest = report.lines()
        stdout.print(first, style="bold", markup=False, highlight=False)
        for line in rest:
            stdout.print(line, markup=False, highlight=False)
        if report.schedule:
            table = Table("UTC", "local time (zones)", "recipients", "calls", "SMS parts", title="Scheduled sends")
            for row in report.schedule:
                when = (row.send_at or "at once") + (" (passed: at once)" if row.passed else "")
                table.add_row(when, "\n".join(row.local_times), f"{row.recipients:,}", f"{row.calls:,}",
                              "" if row.parts is None else f"{row.parts:,}")
            stdout.print(table)

    def confirm(self, question: str) -> bool:
        """Ask on the terminal (yes without asking with --yes); without an answer (no stdin) exit 2."""
        if self.yes:
            return True
        try:
            return typer.confirm(question, default=False, err=True)
        except typer.Abort:
            raise UsageError("not confirmed (no input); pass --yes to send without asking") from None

    def sending(self, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task("sending", total=total)

    def waiting(self, seconds: float, reason: str) -> None:
        if self.task is not None:
            self.bar.update(self.task, description=f"sending (waiting {seconds:.1f}s: {reason})")

    def sent(self, recipients: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, advance=recipients, description="sending")


@contextmanager
def campaign_progress(yes: bool) -> Iterator[ConsoleCampaignProgress]:
    """The console progress of one campaign run; its bar is stopped when the run ends, however it ends."""
    progress = ConsoleCampaignProgress(yes)
    try:
        yield progress
    finally:
        progress.bar.stop()
