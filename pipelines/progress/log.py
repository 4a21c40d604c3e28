"""Job progress as plain log lines: the one adapter Dagster and the declared-sync runner use for every job kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smartdialog_sync.destinations.campaigns.run import CampaignProgress
from smartdialog_sync.destinations.contacts.state import Operation
from smartdialog_sync.destinations.contacts.sync import SyncProgress, SyncResult

from ..pull_pipeline import PullProgress


class LogProgress(SyncProgress, CampaignProgress, PullProgress):
    """Progress as plain lines on `log`: what a job says (`info`), its plan, and per job every `every` ops
    applied and its end (contacts) or its steps (pull). It never asks: a campaign's confirmation is taken as
    given (the definition or the launch is it)."""

    def __init__(self, log: Callable[[str], None], every: int = 500) -> None:
        self.log = log
        self.every = every
        self.count = 0

    def info(self, text: str) -> None:
        self.log(text)

    def planned(self, report: Any) -> None:
        """A contact sync's `SyncPlan` or a campaign's `PlanReport`: both say themselves as `log_lines()`."""
        for line in report.log_lines():
            self.log(line)

    # contacts

    def applied(self, op: Operation, result: str) -> None:
        self.count += 1
        if self.count % self.every == 0:
            self.log(f"{self.count} ops applied")

    def finished(self, result: SyncResult) -> None:
        figures = ", ".join(f"{name} {result.record.get(name)}" for name in
                            ("creates", "updates", "deletes", "unchanged", "rejected", "applied", "calls"))
        self.log(f"run {result.run_id} {result.status}: {figures}")

    # pull

    def step(self, name: str) -> None:
        self.log(f"pull: {name}")
