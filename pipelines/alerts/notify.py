"""The one hook every runner calls after a job: `notify(settings, outcome)` raises and alerts incidents.

An incident is new when its key (kind + subject) is not open in the state: then it is alerted once, on
each configured channel. It stays open (no second alert) until the subject's next good run, or until the
journal no longer shows it; it alerts again when it recurs after that. An alert that cannot be delivered is
logged (secrets masked) and tried again on the next call; nothing here ever fails the job.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Optional

from .delivery import AlertNotDelivered, post_webhook, send_email
from .incidents import (
    JOB_KINDS,
    JOURNAL_KINDS,
    Incident,
    JobOutcome,
    journal_incidents,
    outcome_incidents,
)
from .settings import AlertSettings, resolve_alert_settings
from .store import IncidentStore

if TYPE_CHECKING:
    from smartdialog_sync.api import ClientSettings

log = logging.getLogger(__name__)


@dataclass
class Notified:
    """What one `notify` call did: the alerts it delivered and the ones that could not be delivered."""

    delivered: list[Incident]
    undelivered: list[Incident]


def notify(settings: ClientSettings, outcome: Optional[JobOutcome] = None, *,
           alert_settings: Optional[AlertSettings] = None, journal: Optional[str] = None) -> Notified:
    """Raise the incidents of `outcome` (None: none, e.g. a dry run) and of the receiver's journal (`journal`, a
    path or URL; None: the state's), and alert each new one once. Settings are [alerts] unless `alert_settings`
    is given; nothing configured: no-op.

    Never raises: a store or channel that fails is logged as a warning, and the job's own result stands.
    """
    nothing = Notified([], [])
    try:
        chosen = alert_settings or resolve_alert_settings()
    except Exception as exc:  # a bad [alerts] section must not fail the job that ran
        log.warning("alerts are off: %s", exc)
        return nothing
    if not chosen.enabled:
        return nothing
    try:
        return _notify(settings, outcome, chosen, journal)
    except Exception as exc:  # the state cannot be read or written: the job's result stands
        log.warning("alerts not raised: %s", _first_line(exc, chosen))
        return nothing


@dataclass
class Watch:
    """What a job under `alerting` sets once it knows: its `outcome`, and its `subject` when only the job
    itself can name it (a pull learns its pipeline's name as it starts)."""

    subject: str
    outcome: Optional[JobOutcome] = None


@contextmanager
def alerting(settings: ClientSettings, job: str, subject: str = "", *, dry_run: bool = False,
             alert_settings: Optional[AlertSettings] = None) -> Iterator[Watch]:
    """Run a job's body, then `notify`: with `watch.outcome` when the body set it, a good run of
    `job watch.subject` when it did not, and a failed run when the body raised (the error is re-raised;
    a body that failed before any subject was known raises no alert). A dry run raises and resolves nothing."""
    watch = Watch(subject)
    if dry_run:
        yield watch
        return
    try:
        yield watch
    except Exception as exc:
        if watch.subject:
            failed = JobOutcome(job, watch.subject, error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            notify(settings, failed, alert_settings=alert_settings)
        raise
    notify(settings, watch.outcome or JobOutcome(job, watch.subject), alert_settings=alert_settings)


def _notify(settings: ClientSettings, outcome: Optional[JobOutcome], chosen: AlertSettings,
            journal_location: Optional[str] = None) -> Notified:
    from smartdialog_sync.pipelines.operations.options import StatusOptions
    from smartdialog_sync.pipelines.operations.sections_pull import journal_status

    journal, _ = journal_status(StatusOptions(data_dir=settings.data_dir, state_url=settings.state_url,
                                              journal=journal_location, backlog_hours=chosen.backlog_hours,
                                              now=time.time()))
    current = journal_incidents(journal, chosen.backlog_hours)
    if outcome is not None:
        current += outcome_incidents(outcome, chosen.rejected_share)

    def in_scope(kind: str, subject: str) -> bool:
        """The journal's incidents, and the job kinds of this outcome's subject (another subject's open
        incidents are left for its own runs to resolve or retry)."""
        return kind in JOURNAL_KINDS or (outcome is not None and kind in JOB_KINDS and subject == outcome.scope)

    store = IncidentStore(settings.state.alerts())
    try:
        result = Notified([], [])
        for entry in store.update(current, in_scope):
            _deliver(store, entry, chosen, result)
        return result
    finally:
        store.close()


def _deliver(store: IncidentStore, entry: Any, chosen: AlertSettings, result: Notified) -> None:
    channels = []
    if chosen.webhook_url is not None and entry.webhook_at_us is None:
        channels.append(("webhook", post_webhook))
    if chosen.email and entry.email_at_us is None:
        channels.append(("email", send_email))
    if not channels:
        return
    failed = False
    for channel, send in channels:
        try:
            send(entry.incident, chosen)
        except AlertNotDelivered as exc:
            log.warning("alert %s %s not delivered: %s", entry.incident.kind, entry.incident.subject, exc)
            failed = True
            continue
        store.delivered(entry.incident, channel)
    (result.undelivered if failed else result.delivered).append(entry.incident)


def _first_line(exc: BaseException, chosen: AlertSettings) -> str:
    return chosen.mask(f"{type(exc).__name__}: {exc}".splitlines()[0])
