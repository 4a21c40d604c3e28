"""The exactly-once executor: sends a campaign's unsent batches, recording each state before each call.

For every batch: commit `in_flight` → call with the batch's fixed RequestId → commit `sent` with the
message id and the recipients' ids (one transaction with the sent_messages rows), or `failed` when the
service refused it. A batch whose outcome is unknown (429/5xx after the client's retries, a dropped
connection) stays `in_flight` and the run stops; the next run repeats it with the SAME RequestId, and
the service's duplicate answer (409, or a 400 naming the duplicate, or a 200 with the original) is
recorded as sent. A batch never gets a new RequestId.

A batch the service refuses for its size (a 400 naming `Recipients` and a maximum) was not sent: it
is replaced in the ledger by smaller batches, each with its own RequestId, committed before any of
them is sent; the maximum is remembered for the connection and every later batch is cut to it.
A scheduled batch whose time has passed goes out at once (or after the quiet hours, see schedule.py).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from smartdialog_sync.api import SmartDialogClient, errors, models

from .arms import Arms
from .batches import Batch
from .errors import CampaignError
from .ledger import CampaignRecord, Ledger, LedgerBatch
from .results import duplicate_of, recipient_limit, sent_recipients
from .schedule import Due, QuietHours, Timing, due
from .settle import settle_command

REQUEST_ID_MEMORY = timedelta(days=7)  # how long the service remembers a RequestId
STALE_IN_FLIGHT = REQUEST_ID_MEMORY - timedelta(hours=12)
REFUSED_AS_IS = (400, 413, 422)  # validation refusals: the same request gets the same answer (401/403/404 can be fixed)


@dataclass
class RunOutcome:
    """What one run did."""

    sent_batches: int = 0
    sent_recipients: int = 0
    duplicates: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    splits: int = 0
    notes: list[str] = field(default_factory=list)
    stopped: str | None = None
    refused_as_is: bool = False  # stopped by a refusal of the request itself (400/422): a rerun gets it again


def build_request(record: CampaignRecord, arms: Arms, batch: Batch, timing: Due | None = None) -> dict[str, Any]:
    """The request fields of one batch: the campaign's shared fields (with its variant's content or template),
    the batch's recipients, RequestId and time. `arms`: the campaign's, parsed once.

    A plain mapping of the request model's fields: the client validates it into SendMessageRequest or
    WhatsAppTemplateSendRequest once (building the models here too would double the work per call).
    """
    request: dict[str, Any] = {**record.message, "request_id": batch.request_id}
    if batch.variant is not None:
        request.update(arms.fields_of(batch.variant))
    if timing is not None and timing.send_at is not None:
        request["send_date_time"] = timing.send_at
    elif batch.send_at is not None:
        request.pop("send_date_time", None)  # its time passed: at once
    if record.kind == "sms":
        request["recipients"] = [
            {"address": r.address, "personalization": r.personalization} if r.personalization else {"address": r.address}
            for r in batch.recipients
        ]
        return request
    request["recipients"] = [{"address": r.address} for r in batch.recipients]
    if request.get("buttons"):
        request["buttons"] = [{"type": kind, "data": data} for kind, data in request["buttons"]]
    if batch.body_parameters is not None:
        request["body_parameters"] = list(batch.body_parameters)
    if batch.header_parameters is not None:
        request["header_parameters"] = list(batch.header_parameters)
    return request


def timing_of(record: CampaignRecord) -> Timing:
    """The timing a campaign was planned with (quiet hours apply again at send time)."""
    described = record.description.get("timing") or {}
    quiet = described.get("quiet_hours")
    return Timing(quiet_hours=QuietHours.parse(quiet) if quiet else None)


def check_not_stale(campaign_id: str, batches: Sequence[LedgerBatch], now: datetime | None = None) -> None:
    """Refuse to repeat in-flight batches first tried so long ago that the service forgot their RequestId."""
    now = now or datetime.now(timezone.utc)
    stale = [
        item.batch.batch_no for item in batches
        if item.status == "in_flight" and item.first_attempt_at
        and now - datetime.fromisoformat(item.first_attempt_at) > STALE_IN_FLIGHT
    ]
    if stale:
        raise CampaignError(
            f"batch(es) {', '.join(map(str, stale))} have been in flight for almost 7 days: the service may have "
            "forgotten their RequestIds, so repeating them could send twice. Check what was delivered, then "
            f"settle them: `{settle_command(campaign_id)}`"
        )


class CampaignSender:
    """Sends the unsent batches of one campaign through one client, `workers` calls at a time."""

    def __init__(
        self,
        api: SmartDialogClient,
        ledger: Ledger,
        record: CampaignRecord,
        workers: int = 1,
        on_batch_done: Callable[[Batch], None] | None = None,
        *,
        base_url: str = "",
        max_recipients: int = 1000,
        quiet_hours: QuietHours | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> None:
        self.api = api
        self.ledger = ledger
        self.record = record
        self._arms = Arms.from_description(record.description)  # parsed once, not per batch
        self.workers = max(1, workers)
        self.on_batch_done = on_batch_done
        self.base_url = base_url
        self.max_recipients = max_recipients
        self.quiet_hours = quiet_hours
        self.on_note = on_note
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.outcome = RunOutcome()

    def run(self, batches: Sequence[LedgerBatch]) -> RunOutcome:
        """Send `batches` (from `ledger.unsent_batches`) until done or until a batch stops the run."""
        check_not_stale(self.record.campaign_id, batches)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="campaign-send") as pool:
            futures = [pool.submit(self._send_batch, item.batch, item.status == "in_flight") for item in batches]
            try:
                for future in futures:
                    future.result()
            except BaseException:  # Ctrl-C or a bug: let the calls under way finish, start no more
                self._stop.set()
                raise
        return self.outcome

    def _call(self, batch: Batch, timing: Due) -> models.SendResult:
        request = build_request(self.record, self._arms, batch, timing)
        if self.record.kind == "sms":
            return self.api.send_message(self.record.customer_id, self.record.service_id, request)
        return self.api.send_whatsapp_template_message(self.record.customer_id, self.record.service_id, request)

    def _send_batch(self, batch: Batch, maybe_sent: bool = False) -> None:
        """Send one batch; `maybe_sent`: an earlier attempt's outcome is unknown, so it is repeated whole."""
        if self._stop.is_set():
            return
        campaign_id = self.record.campaign_id
        if len(batch.recipients) > self.max_recipients and not maybe_sent:
            limit = self.max_recipients
            self._split_and_send(batch, limit, f"the connection takes at most {limit} recipients per call")
            return
        with self._lock:
            self.ledger.mark_in_flight(campaign_id, batch.batch_no)
        try:
            result = self._call_in_time(batch)
        except (errors.RateLimited, errors.ServerError, errors.OutcomeUnknown, errors.TransportError) as exc:
            self._halt(f"batch {batch.batch_no} left in flight: {exc}")
            return
        except errors.ApiError as exc:
            self._answered_with_error(batch, exc)
            return
        except errors.RequestInvalid as exc:
            self._refused(batch, str(exc), as_is=True)
            return
        self._record_sent(batch, result.message_id, result)

    def _answered_with_error(self, batch: Batch, exc: errors.ApiError) -> None:
        """A duplicate is recorded sent; a refusal for the batch's size splits it; other 4xx refuse it."""
        duplicate = duplicate_of(exc)
        if duplicate is not None:
            self._record_sent(batch, duplicate.message_id, None)
            with self._lock:
                self.outcome.duplicates += 1
            return
        if exc.status is None or exc.status >= 500:  # e.g. a 200 it could not read
            self._halt(f"batch {batch.batch_no} left in flight: {exc}")
            return
        limit = recipient_limit(exc, len(batch.recipients))
        if limit is not None:
            self._learn(limit, str(exc))
            self._split_and_send(batch, limit, f"refused for its size: {exc}")
            return
        self._refused(batch, str(exc), as_is=exc.status in REFUSED_AS_IS)

    def _call_in_time(self, batch: Batch) -> models.SendResult:
        """Call with the batch's send time; once more at once if its time passed while waiting (a 400 on SendDateTime)."""
        timing = due(batch, self.quiet_hours)
        try:
            result = self._call(batch, timing)
        except errors.BadRequest as exc:
            later = due(batch, self.quiet_hours)
            if timing.send_at is None or "SendDateTime" not in (exc.detail or "") or later.send_at == timing.send_at:
                raise
            timing = later
            result = self._call(batch, later)
        if timing.note:
            self._note(timing.note)
        return result

    def _learn(self, limit: int, detail: str) -> None:
        with self._lock:
            self.max_recipients = min(self.max_recipients, limit)
            self.ledger.learn_max(self.base_url, self.record.customer_id, limit, detail)

    def _split_and_send(self, batch: Batch, size: int, reason: str) -> None:
        """Replace the unsent `batch` by batches of at most `size` in the ledger, then send them."""
        with self._lock:
            parts = self.ledger.split_batch(self.record.kind, self.record.campaign_id, batch, size, reason)
            self.outcome.splits += 1
        self._note(f"batch {batch.batch_no} ({len(batch.recipients)} recipients) split into batches "
                   f"{parts[0].batch_no}-{parts[-1].batch_no} of at most {size}: {reason}")
        for part in parts:
            self._send_batch(part)

    def _note(self, text: str) -> None:
        with self._lock:
            self.outcome.notes.append(text)
        if self.on_note is not None:
            self.on_note(text)

    def _record_sent(self, batch: Batch, message_id: str | None, result: models.SendResult | None) -> None:
        rows = sent_recipients(batch, result)
        with self._lock:
            self.ledger.mark_sent(self.record.campaign_id, batch, message_id, rows)
            self.outcome.sent_batches += 1
            self.outcome.sent_recipients += len(rows)
        if self.on_batch_done is not None:
            self.on_batch_done(batch)

    def _refused(self, batch: Batch, reason: str, as_is: bool = False) -> None:
        """Record the batch failed; `as_is`: the request itself was refused, so repeating it cannot succeed."""
        with self._lock:
            self.ledger.mark_failed(self.record.campaign_id, batch.batch_no, reason)
            self.outcome.failed.append((batch.batch_no, reason))
        self._halt(f"batch {batch.batch_no} refused: {reason}", as_is)

    def _halt(self, reason: str, refused_as_is: bool = False) -> None:
        with self._lock:
            if self.outcome.stopped is None:
                self.outcome.stopped = reason
                self.outcome.refused_as_is = refused_as_is
        self._stop.set()
