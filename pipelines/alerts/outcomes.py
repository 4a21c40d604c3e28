"""Each job's result as the `JobOutcome` alerts take (the runner calls these, then `notify`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .incidents import JobOutcome
from .notify import alerting

if TYPE_CHECKING:
    from smartdialog_sync.destinations.campaigns.run import CampaignResult
    from smartdialog_sync.destinations.contacts.sync import SyncResult
    from smartdialog_sync.pipelines.pull_pipeline import PullResult

    from smartdialog_sync.api import ClientSettings


def contacts_subject(customer: str, group_service: str) -> str:
    """The subject of a contact sync: `CUSTOMER/GROUP_SERVICE`."""
    return f"{customer}/{group_service}"


def contact_sync_outcome(customer: str, group_service: str, result: SyncResult) -> JobOutcome:
    """A contact sync's outcome: its CRM rows and the rows refused before any call."""
    record = result.record
    return JobOutcome("contacts", contacts_subject(customer, group_service),
                      error=result.error if result.status == "failed" else None,
                      rows=int(record.get("source_rows") or 0), rejected=int(record.get("rejected") or 0))


def campaign_outcome(result: CampaignResult) -> JobOutcome:
    """A campaign run's outcome: the rows it planned (when planned now) and the batches not confirmed sent."""
    rejected = sum(result.plan.rejected.values()) if result.plan else 0
    recipients = result.plan.figures.recipients if result.plan else 0
    unsent = sum(batches for state, (batches, _) in result.ledger_counts.items() if state != "sent")
    return JobOutcome("campaign", result.campaign_id, rows=recipients + rejected, rejected=rejected,
                      unsent_batches=unsent)


def alerted_pull(settings: ClientSettings, run: Callable[[], PullResult]) -> PullResult:
    """Run a pull (`run`) under `alerting`, its subject the pipeline's name, which only the pull knows: a
    failed pull alerts under the name its `PullFailed` carries and re-raises; an error before the pull has a
    pipeline (bad options) raises without an alert."""
    from smartdialog_sync.pipelines.pull_pipeline import PullFailed

    with alerting(settings, "pull") as watch:
        try:
            result = run()
        except PullFailed as exc:
            watch.subject = exc.pipeline_name
            raise
        watch.subject = result.pipeline_name
    return result
