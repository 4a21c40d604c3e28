"""Alerts: one webhook (Slack-compatible) and/or email per incident of a job or the receiver's journal.

Runners call `notify(settings, outcome)` after a job (or wrap it in `alerting(...)`); `outcomes` turns each
job's result into the `JobOutcome` it takes.
"""

from .incidents import Incident, JobOutcome
from .notify import Notified, alerting, notify

__all__ = ["Incident", "JobOutcome", "Notified", "alerting", "notify"]
