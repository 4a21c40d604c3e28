"""What is wrong after a job: incidents, each keyed by its kind and subject so that it alerts once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

# the kinds a job's outcome can raise; each is resolved for its subject by the subject's next good run
RUN_FAILED = "run_failed"
REJECTED_ROWS = "rejected_rows"
UNSENT_BATCHES = "unsent_batches"
JOB_KINDS = (RUN_FAILED, REJECTED_ROWS, UNSENT_BATCHES)
# the kinds read from the receiver's journal (as `sdsync status` sees it); resolved once they are gone
DEAD_LETTERS = "dead_letters"
JOURNAL_BACKLOG = "journal_backlog"
JOURNAL_KINDS = (DEAD_LETTERS, JOURNAL_BACKLOG)


@dataclass(frozen=True)
class Incident:
    """One thing an operator should act on: `kind` + `subject` identify it, `message` says what and what to do."""

    kind: str
    subject: str
    message: str

    @property
    def key(self) -> tuple[str, str]:
        """What deduplicates it."""
        return self.kind, self.subject


@dataclass(frozen=True)
class JobOutcome:
    """How one run of a job ended, as alerts need it.

    `job` is contacts, campaign or pull; `subject` names what it ran on (`CUSTOMER/GROUP`, the campaign id,
    the pull pipeline). `error` is set when the run failed; `rows`/`rejected` count the rows it read and
    refused; `unsent_batches` the campaign batches not confirmed sent after it.
    """

    job: str
    subject: str
    error: Optional[str] = None
    rows: int = 0
    rejected: int = 0
    unsent_batches: int = 0

    @property
    def scope(self) -> str:
        """The incident subject of this job: `JOB SUBJECT`, e.g. `campaign spring-sale`."""
        return f"{self.job} {self.subject}"


def outcome_incidents(outcome: JobOutcome, rejected_share: float) -> list[Incident]:
    """The incidents one run's outcome raises (none for a good run)."""
    incidents = []
    if outcome.error:
        incidents.append(Incident(RUN_FAILED, outcome.scope, f"{outcome.scope}: the run failed: {outcome.error}"))
    if outcome.rows and outcome.rejected / outcome.rows > rejected_share:
        incidents.append(Incident(
            REJECTED_ROWS, outcome.scope,
            f"{outcome.scope}: {outcome.rejected:,} of {outcome.rows:,} rows rejected "
            f"({outcome.rejected / outcome.rows:.0%}, more than {rejected_share:.0%})"))
    if outcome.unsent_batches:
        incidents.append(Incident(
            UNSENT_BATCHES, outcome.scope,
            f"{outcome.scope}: {outcome.unsent_batches} batch(es) not confirmed sent: rerun the same `sdsync send`"))
    return incidents


def journal_incidents(journal: dict[str, Any], backlog_hours: float) -> list[Incident]:
    """Dead letters and rows waiting too long for a pull, from `sdsync status`'s journal section."""
    if not journal.get("present") or journal.get("error"):
        return []
    incidents = []
    if journal.get("dead_letters"):
        incidents.append(Incident(DEAD_LETTERS, "journal", f"journal: {journal['dead_letters']} dead letter(s) waiting: "
                                  "see `sdsync journal dead-letters` (--replay once fixed, or --discard)"))
    for entry in journal.get("not_pulled") or []:
        age = entry.get("oldest_age_s")
        if age is not None and age > backlog_hours * 3600:
            pipeline = entry.get("pipeline") or "any pull"
            rows = entry["inbound"] + entry["delivery_reports"]
            incidents.append(Incident(JOURNAL_BACKLOG, f"journal {pipeline}",
                                      f"journal: {rows} row(s) waiting more than {backlog_hours:g} h for {pipeline}: "
                                      "run its `sdsync pull`"))
    return incidents
