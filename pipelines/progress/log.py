"""The one log adapter of job progress: plain lines to a log function (Dagster's `context.log.info`, the
declared-sync runner's log), for every job kind."""

from __future__ import annotations

from typing import Callable

from smartdialog_sync.destinations.campaigns.report import PlanReport
from smartdialog_sync.destinations.campaigns.run import CampaignProgress


class LogProgress(CampaignProgress):
    """A job's progress as plain lines to `log`; it never asks (a confirmation is taken as given)."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log

    def info(self, text: str) -> None:
        self.log(text)

    # Campaigns (destinations/campaigns/run.py: CampaignProgress)

    def planned(self, report: PlanReport) -> None:
        for line in report.lines() + report.schedule_lines():
            self.log(line)
