"""Job progress as plain log lines: the one adapter Dagster and the declared-sync runner use for every job kind."""

from __future__ import annotations

from collections.abc import Callable

from smartdialog_sync.destinations.contacts.planner import PlanSummary
from smartdialog_sync.destinations.contacts.state import Operation
from smartdialog_sync.destinations.contacts.sync import SyncProgress, SyncResult

from ..pull_pipeline import PullProgress


class LogProgress(SyncProgress, PullProgress):
    """Progress as plain lines on `log`: what a job says (`info`), and per job its plan, every `every` ops
    applied and its end (contacts) or its steps (pull)."""

    def __init__(self, log: Callable[[str], None], every: int = 500) -> None:
        self.log = log
        self.every = every
        self.count = 0

    def info(self, text: str) -> None:
        self.log(text)

    # contacts

    def planned(self, plan: PlanSummary, to_reconcile: int, title: str) -> None:
        self.log(f"{title}: {plan.describe()}; {to_reconcile} in-flight ops to read back")

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
