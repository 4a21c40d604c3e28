"""Background callbacks: delivery reports (HTTP GET on DlrUrl) and inbound webhooks (HTTP POST).

Callbacks wait in one bounded queue and are delivered by a fixed number of worker tasks, each with
its own connection of one HTTP client (`CALLBACK_CONNECTIONS`), all on the server's event loop: a burst
of thousands of callbacks neither exhausts a connection pool nor starves the API and admin endpoints.
A callback that finds the queue full is counted as `dropped`. Failed attempts (non-2xx or connection
error) are retried with exponential backoff for `callback_retry_seconds`; with `duplicate_rate` a
delivered callback is sometimes delivered again.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from smartdialog_sync.emulator.state import FINAL_STATUSES

if TYPE_CHECKING:
    from smartdialog_sync.emulator.config import EmulatorSettings
    from smartdialog_sync.emulator.state import State
    from smartdialog_sync.emulator.stats import Stats


LOG_SIZE = 5000
CALLBACK_CONNECTIONS = 8  # worker tasks, and the connections of their one HTTP client
QUEUE_SIZE = 100_000  # callbacks waiting for a worker; more are dropped (and counted)
FIRST_BACKOFF_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 5.0
SECRET_QUERY_NAMES = ("token", "secret", "apikey", "api_key", "signature", "password")
# A path segment that looks like a random token (a receiver's webhook secret): 20+ url-safe characters
# with both cases. UUIDs (lowercase hex) and ordinary words are left alone.
SECRET_SEGMENT = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9_-]{20,}$")


class CallbackHost(Protocol):
    """What the worker needs of the emulator's runtime (kept as a protocol: no import of the runtime)."""

    settings: EmulatorSettings
    state: State
    stats: Stats

    def commit_soon(self) -> None:
        """Persist the state soon."""


def utc_now_iso() -> str:
    """The current UTC time as ISO 8601 with a Z suffix."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def append_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` appended to its own query string (which is kept as is)."""
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def redact_url(url: str) -> str:
    """`url` with its password, secret-looking path segments and secret-looking query values replaced by ***."""
    parts = urlsplit(url)
    pairs = [(k, "***" if any(s in k.lower() for s in SECRET_QUERY_NAMES) else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    path = "/".join("***" if SECRET_SEGMENT.match(segment) else segment for segment in parts.path.split("/"))
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, path, urlencode(pairs), parts.fragment))


def _dlr_params(message_id: str, recipient: dict[str, Any]) -> dict[str, str]:
    params = {
        "messageId": message_id,
        "recipientId": recipient["recipient_id"],
        "address": recipient["address"],
        "status": recipient["status"],
        "statusTime": recipient["status_time"],
    }
    if recipient.get("error_code"):
        params["errorCode"] = recipient["error_code"]
    return params


@dataclass
class CallbackJob:
    """One callback to deliver, with its attempts so far."""

    kind: str  # "dlr" or "webhook"
    method: str
    url: str
    message_id: str
    payload: dict[str, Any] | None = None
    duplicate: bool = False
    attempts: int = 0
    first_attempt: float = field(default_factory=time.monotonic)
    generation: int = 0  # the worker's reset count when queued: a reset forgets older jobs


class CallbackWorker:
    """Schedules delivery-report transitions and delivers callbacks with retries."""

    def __init__(self, runtime: CallbackHost) -> None:
        self.runtime = runtime
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._ids = itertools.count(1)
        self._timers: set[asyncio.TimerHandle] = set()
        self._queue: asyncio.Queue[CallbackJob] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._workers: list[asyncio.Task[None]] = []
        self._in_flight = 0
        self._generation = 0
        self._client: httpx.AsyncClient | None = None
        self._duplicate_random = random.Random(runtime.settings.dlr_seed)

    async def start(self) -> None:
        """Open the HTTP client, start the workers, resume the delivery reports of messages not yet final."""
        limits = httpx.Limits(max_connections=CALLBACK_CONNECTIONS, max_keepalive_connections=CALLBACK_CONNECTIONS)
        self._client = httpx.AsyncClient(limits=limits)
        self._workers = [asyncio.get_running_loop().create_task(self._work()) for _ in range(CALLBACK_CONNECTIONS)]
        for message_id in list(self.runtime.state.messages):
            self.schedule_delivery_reports(message_id)

    async def stop(self) -> None:
        """Cancel everything pending, stop the workers and close the HTTP client."""
        self.reset()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def reset(self) -> None:
        """Forget pending timers, queued callbacks and the log (an attempt under way is not recorded)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        while not self._queue.empty():
            self._queue.get_nowait()
        self._generation += 1
        self.log.clear()
        self._duplicate_random = random.Random(self.runtime.settings.dlr_seed)

    @property
    def pending(self) -> int:
        """Callbacks queued or being attempted now (not those waiting for a retry's backoff)."""
        return self._queue.qsize() + self._in_flight

    def _later(self, delay: float, callback: Any, *args: Any) -> None:
        loop = asyncio.get_running_loop()
        holder: list[asyncio.TimerHandle] = []

        def fire() -> None:
            self._timers.discard(holder[0])
            callback(*args)

        holder.append(loop.call_later(max(0.0, delay), fire))
        self._timers.add(holder[0])

    def _spawn(self, job: CallbackJob) -> None:
        """Queue `job` for a worker; a full queue drops it (counted, and logged as such)."""
        if job.attempts == 0:
            job.generation = self._generation
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self.runtime.stats.callbacks_dropped += 1
            self._record(job, None, f"queue full ({QUEUE_SIZE} callbacks waiting)", "dropped")

    async def _work(self) -> None:
        """One worker: attempt queued callbacks one at a time, forever."""
        while True:
            job = await self._queue.get()
            if job.generation != self._generation:
                continue
            self._in_flight += 1
            try:
                await self._attempt(job)
            finally:
                self._in_flight -= 1

    # delivery reports -------------------------------------------------------------------------

    def schedule_delivery_reports(self, message_id: str) -> None:
        """Arm the final statuses (and DlrUrl callbacks) of the message's recipients not yet final."""
        message = self.runtime.state.messages[message_id]
        if all(r["status"] in FINAL_STATUSES for r in message["recipients"]):
            return
        due = datetime.fromisoformat(message["send_at"]).timestamp() + self.runtime.settings.dlr_delay_seconds
        self._later(due - time.time(), self._finalize, message_id, due)

    def _finalize(self, message_id: str, due: float) -> None:
        message = self.runtime.state.messages.get(message_id)
        if message is None:
            return
        if time.time() < due:  # asyncio may fire a timer up to its clock resolution early: never report before due
            self._later(due - time.time(), self._finalize, message_id, due)
            return
        for recipient in message["recipients"]:
            if recipient["status"] in FINAL_STATUSES:
                continue
            recipient["status"] = recipient.pop("planned_status")
            recipient["status_time"] = utc_now_iso()
            error_code = recipient.pop("planned_error_code", None)
            if error_code:
                recipient["error_code"] = error_code
            if message.get("dlr_url"):
                self._spawn(CallbackJob("dlr", "GET", append_query(message["dlr_url"], _dlr_params(message_id, recipient)),
                                        message_id))
        self.runtime.commit_soon()

    # webhooks ---------------------------------------------------------------------------------

    def deliver_webhook(self, url: str, payload: dict[str, Any]) -> None:
        """POST `payload` to `url` in the background (at least once)."""
        self._spawn(CallbackJob("webhook", "POST", url, payload["messageId"], payload))

    # attempts ---------------------------------------------------------------------------------

    async def _attempt(self, job: CallbackJob) -> None:
        assert self._client is not None, "callback worker not started"
        job.attempts += 1
        status: int | None = None
        error: str | None = None
        try:
            response = await self._client.request(job.method, job.url, json=job.payload,
                                                  timeout=self.runtime.settings.callback_timeout_seconds)
            status = response.status_code
        except Exception as exc:  # any failure to call the receiver is a failed attempt, retried later
            error = f"{type(exc).__name__}: {exc}"
        if job.generation != self._generation:  # reset meanwhile: forgotten
            return
        delivered = status is not None and 200 <= status < 300
        if delivered:
            outcome = "delivered"
            self.runtime.stats.callbacks_delivered += 1
            self._maybe_duplicate(job)
        elif time.monotonic() - job.first_attempt < self.runtime.settings.callback_retry_seconds:
            outcome = "failed"
            self.runtime.stats.callbacks_failed += 1
            backoff = min(FIRST_BACKOFF_SECONDS * 2 ** (job.attempts - 1), MAX_BACKOFF_SECONDS)
            self._later(backoff, self._spawn, job)
        else:
            outcome = "gave_up"
            self.runtime.stats.callbacks_failed += 1
            self.runtime.stats.callbacks_given_up += 1
        if error is None and not delivered:
            error = f"HTTP {status}"
        self._record(job, status, error, outcome)

    def _record(self, job: CallbackJob, status: int | None, error: str | None, outcome: str) -> None:
        self.log.append({
            "id": next(self._ids), "kind": job.kind, "method": job.method, "url": redact_url(job.url),
            "message_id": job.message_id, "attempt": job.attempts, "status": status, "error": error,
            "outcome": outcome, "duplicate": job.duplicate, "at": utc_now_iso(), "payload": job.payload,
        })

    def _maybe_duplicate(self, job: CallbackJob) -> None:
        rate = self.runtime.settings.duplicate_rate
        if job.duplicate or not rate or self._duplicate_random.random() >= rate:
            return
        self.runtime.stats.callbacks_duplicated += 1
        copy = CallbackJob(job.kind, job.method, job.url, job.message_id, job.payload, duplicate=True)
        self._later(FIRST_BACKOFF_SECONDS, self._spawn, copy)
