"""What `sdsync pull` shows while it runs: a spinner naming the step, the rows extracted so far and the limiter's waits."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ..pull_pipeline import PullProgress


class ConsolePullProgress(PullProgress):
    """The pull's progress as a transient spinner on `console` (use as a context manager around the pull)."""

    def __init__(self, console: Console) -> None:
        columns = (SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn())
        self._bar = Progress(*columns, console=console, transient=True)
        self._task = self._bar.add_task("starting")
        self._step = "starting"
        self._extracted: Counter[str] = Counter()

    def __enter__(self) -> ConsolePullProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._bar.stop()

    def step(self, name: str) -> None:
        self._step = name
        self._bar.update(self._task, description=name)

    def rows(self, resource: str, count: int) -> None:
        self._extracted[resource] += count
        summary = ", ".join(f"{name} {rows:,}" for name, rows in self._extracted.items())
        self._bar.update(self._task, description=f"extract: {summary}")

    def waiting(self, seconds: float, reason: str) -> None:
        if seconds >= 1:
            self._bar.update(self._task, description=f"{self._step}: waiting {seconds:.0f} s ({reason})")
