"""The webhook receiver as a Starlette ASGI app.

`POST /hooks/{secret}/inbound` takes NewMessage notifications, `GET /hooks/{secret}/dlr` takes delivery
reports. Both answer 2xx only after the row is durable in the journal; a redelivery is stored once and
answered 2xx too. A wrong secret or any other path is 404. A payload that is refused after the secret
matched (4xx) is kept in the journal's dead-letter table first (its body or query string, at most
`max_body_bytes` of it), so it can be replayed; if even that cannot be written the answer is 503, and
the sender tries again.

`GET /l/{code}` redirects a tracked link (receiver/redirects.py). `GET /healthz` (alive), `GET /readyz` (journal writable, webhook registered) and `GET /metrics`
(Prometheus) need no secret.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from smartdialog_sync.constants import RECEIVER_BODY_TIMEOUT_S, RECEIVER_MAX_BODY_BYTES
from smartdialog_sync.journal import DeadLetter, GroupCommitJournal, JournalStore, RowRejected
from .metrics import CONTENT_TYPE_LATEST, ReceiverMetrics
from .payloads import InvalidPayload, now_us, row_from_raw
from .redirects import RedirectEndpoint
from .secret import mask_secret

READY_TIMEOUT_S = 5.0
log = logging.getLogger("receiver")

_JSON_HEADERS = [(b"content-type", b"application/json")]
_STORED = b'{"status":"stored"}'
_UNAVAILABLE = b'{"error":"journal unavailable"}'


class _Refused(Exception):
    """A request refused before validation: too large or too slow (what arrived is in `body`)."""

    def __init__(self, status_code: int, reason_code: str, reason: str, body: bytes, body_size: int) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason_code = reason_code
        self.body = body
        self.body_size = body_size


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body; a body over `limit` bytes is refused (413) with its first `limit` bytes."""
    declared = next((int(value) for name, value in scope["headers"] if name == b"content-length" and value.isdigit()), 0)
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
        if max(size, declared) > limit and (size >= limit or not more):
            body = b"".join(chunks)[:limit]
            raise _Refused(413, "too_large", f"body larger than {limit} bytes", body, max(size, declared))
    return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes, *extra_headers: tuple[bytes, bytes]) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class ReceiverSettings:
    """How the webhook endpoints behave."""

    secret: str
    max_body_bytes: int = RECEIVER_MAX_BODY_BYTES
    body_timeout_s: float = RECEIVER_BODY_TIMEOUT_S


class _WebhookEndpoint:
    """A raw ASGI endpoint (Starlette's Request/Response machinery costs a third of the throughput)."""

    def __init__(self, journal: GroupCommitJournal, settings: ReceiverSettings, metrics: ReceiverMetrics, kind: str) -> None:
        self._journal = journal
        self._settings = settings
        self._expected = settings.secret.encode()
        self._metrics = metrics
        self._kind = kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not hmac.compare_digest(scope["path_params"]["secret"].encode(), self._expected):
            return await self._reject(scope, send, 404, "wrong_secret", "not found")
        if scope["method"] == "HEAD":  # Starlette routes HEAD to GET: a probe must not store a report
            return await self._reject(scope, send, 405, "method", "method not allowed", (b"allow", b"GET"))
        raw = b""
        try:
            raw = bytes(scope["query_string"]) if self._kind == "dlr" else await self._body(scope, receive)
            row = row_from_raw(self._kind, raw)
        except ConnectionAbortedError:
            return None
        except _Refused as exc:
            return await self._dead_letter(scope, send, exc.status_code, exc.reason_code, str(exc), exc.body, exc.body_size)
        except InvalidPayload as exc:
            return await self._dead_letter(scope, send, exc.status_code, exc.reason_code, str(exc), raw, len(raw))
        try:
            await self._journal.append(row)
        except RowRejected as exc:
            return await self._dead_letter(scope, send, 422, "unwritable", str(exc), raw, len(raw))
        except Exception as exc:
            return await self._unavailable(scope, send, exc)
        self._metrics.acknowledged.labels(self._kind).inc()
        await _respond(send, 200, _STORED)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        settings = self._settings
        received: list[bytes] = []

        async def tracked() -> dict:
            message = await receive()
            received.append(message.get("body", b""))
            return message

        try:
            return await asyncio.wait_for(_read_body(scope, tracked, settings.max_body_bytes), settings.body_timeout_s)
        except asyncio.TimeoutError:
            body = b"".join(received)
            reason = f"body not received within {settings.body_timeout_s:g} s"
            raise _Refused(408, "timeout", reason, body[: settings.max_body_bytes], len(body)) from None

    async def _dead_letter(
        self, scope: Scope, send: Send, status: int, reason_code: str, reason: str, body: bytes, body_size: int
    ) -> None:
        letter = DeadLetter(self._kind, reason, status, body, body_size, now_us())
        try:
            await self._journal.append(letter)
        except Exception as exc:  # not kept: let the sender try again
            return await self._unavailable(scope, send, exc)
        self._metrics.dead_lettered.labels(self._kind).inc()
        await self._reject(scope, send, status, reason_code, reason)

    async def _unavailable(self, scope: Scope, send: Send, exc: BaseException) -> None:
        log.error("journal write failed for %s: %s", mask_secret(scope["path"]), type(exc).__name__)
        self._metrics.rejected.labels(self._kind, "unavailable").inc()
        await _respond(send, 503, _UNAVAILABLE, (b"retry-after", b"5"))

    async def _reject(
        self, scope: Scope, send: Send, status: int, reason_code: str, reason: str, *headers: tuple[bytes, bytes]
    ) -> None:
        log.warning("%s %s -> %d %s", scope["method"], mask_secret(scope["path"]), status, reason)
        self._metrics.rejected.labels(self._kind, reason_code).inc()
        await _respond(send, status, json.dumps({"error": reason}).encode(), *headers)


@dataclass(frozen=True)
class ExpectedRegistration:
    """The webhook registration this receiver made at start-up (readiness checks it is still saved)."""

    customer: str
    services: tuple[str, ...] = ()  # all of the customer's when empty


def _readiness(expected: ExpectedRegistration | None) -> Callable[[JournalStore], dict[str, str]]:
    def check(store: JournalStore) -> dict[str, str]:
        store.check_writable()
        if expected is None:
            return {"journal": "writable", "registration": "not configured"}
        saved = [
            registration.service
            for registration in store.list_registrations()
            if registration.customer == expected.customer
            and (not expected.services or registration.service in expected.services)
        ]
        if not saved or (expected.services and len(saved) < len(expected.services)):
            return {"journal": "writable", "registration": "missing"}
        return {"journal": "writable", "registration": f"registered ({len(saved)} service(s))"}

    return check


def _probes(journal: GroupCommitJournal, metrics: ReceiverMetrics, expected: ExpectedRegistration | None) -> list[Route]:
    """The secret-free routes for load balancers and Prometheus."""
    check = _readiness(expected)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(request: Request) -> Response:
        try:
            state = await asyncio.wait_for(journal.run(check), READY_TIMEOUT_S)
        except Exception as exc:
            return JSONResponse({"status": "not ready", "journal": f"not writable ({type(exc).__name__})"}, 503)
        ready = state["registration"] != "missing"
        return JSONResponse({"status": "ready" if ready else "not ready", **state}, 200 if ready else 503)

    def count(store: JournalStore) -> tuple[int, int, int]:
        return (*store.count_rows(), store.count_dead_letters())

    async def metrics_endpoint(request: Request) -> Response:
        try:
            metrics.set_journal_rows(*await asyncio.wait_for(journal.run(count), READY_TIMEOUT_S))
        except Exception as exc:  # the other metrics are still worth a scrape
            log.warning("journal row counts unavailable: %s", type(exc).__name__)
        return Response(metrics.exposition(), headers={"content-type": CONTENT_TYPE_LATEST})

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]


def create_app(
    journal: GroupCommitJournal,
    settings: ReceiverSettings,
    metrics: ReceiverMetrics | None = None,
    *,
    expected_registration: ExpectedRegistration | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> Starlette:
    """The receiver app; `metrics` must be the journal's `on_commit` listener too (see build_app).

    `on_shutdown` runs in a worker thread (webhook unregistration).
    """
    metrics = metrics or ReceiverMetrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        journal.start(asyncio.get_running_loop())
        try:
            yield
            if on_shutdown is not None:
                await run_in_threadpool(on_shutdown)
        finally:
            journal.stop()

    routes = [
        Route("/hooks/{secret}/inbound", _WebhookEndpoint(journal, settings, metrics, "inbound"), methods=["POST"]),
        Route("/hooks/{secret}/dlr", _WebhookEndpoint(journal, settings, metrics, "dlr"), methods=["GET"]),
        Route("/l/{code}", RedirectEndpoint(journal, metrics), methods=["GET"]),
        *_probes(journal, metrics, expected_registration),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
