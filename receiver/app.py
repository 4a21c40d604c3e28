"""The webhook receiver as a Starlette ASGI app.

`POST /hooks/{secret}/inbound` takes NewMessage notifications, `GET /hooks/{secret}/dlr` takes delivery
reports. Both answer 2xx only after the row is durable in the journal; a redelivery is stored once and
answered 2xx too. A wrong secret or any other path is 404; bad bodies are 4xx; nothing is written then.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from smartdialog_sync.journal import DlrRow, GroupCommitJournal, InboundRow
from .payloads import InvalidPayload, dlr_row, inbound_row
from .secret import mask_secret

MAX_BODY_BYTES = 256 * 1024
log = logging.getLogger("receiver")

_JSON_HEADERS = [(b"content-type", b"application/json")]
_STORED = b'{"status":"stored"}'
_UNAVAILABLE = b'{"error":"journal unavailable"}'


class _BodyTooLarge(Exception):
    pass


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise _BodyTooLarge
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes, *extra_headers: tuple[bytes, bytes]) -> None:
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _WebhookEndpoint:
    """A raw ASGI endpoint (Starlette's Request/Response machinery costs a third of the throughput)."""

    def __init__(self, journal: GroupCommitJournal, secret: str, max_body_bytes: int, kind: str) -> None:
        self._journal = journal
        self._expected = secret.encode()
        self._max_body_bytes = max_body_bytes
        self._kind = kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not hmac.compare_digest(scope["path_params"]["secret"].encode(), self._expected):
            return await self._reject(scope, send, 404, "not found")
        try:
            row = await self._row(scope, receive)
        except _BodyTooLarge:
            return await self._reject(scope, send, 413, f"body larger than {self._max_body_bytes} bytes")
        except InvalidPayload as exc:
            return await self._reject(scope, send, exc.status_code, str(exc))
        except ConnectionAbortedError:
            return None
        try:
            await self._journal.append(row)
        except Exception as exc:
            log.error("journal write failed for %s: %s", mask_secret(scope["path"]), type(exc).__name__)
            return await _respond(send, 503, _UNAVAILABLE, (b"retry-after", b"5"))
        await _respond(send, 200, _STORED)

    async def _row(self, scope: Scope, receive: Receive) -> InboundRow | DlrRow:
        if self._kind == "inbound":
            return inbound_row(await _read_body(scope, receive, self._max_body_bytes))
        return dlr_row(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))

    @staticmethod
    async def _reject(scope: Scope, send: Send, status: int, reason: str) -> None:
        log.warning("%s %s -> %d %s", scope["method"], mask_secret(scope["path"]), status, reason)
        await _respond(send, status, json.dumps({"error": reason}).encode())


def create_app(
    journal: GroupCommitJournal,
    secret: str,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    on_startup: Callable[[], None] | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> Starlette:
    """The receiver app; `on_startup`/`on_shutdown` run in a worker thread (webhook (un)registration)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        journal.start(asyncio.get_running_loop())
        try:
            if on_startup is not None:
                await run_in_threadpool(on_startup)
            yield
            if on_shutdown is not None:
                await run_in_threadpool(on_shutdown)
        finally:
            journal.stop()

    routes = [
        Route("/hooks/{secret}/inbound", _WebhookEndpoint(journal, secret, max_body_bytes, "inbound"), methods=["POST"]),
        Route("/hooks/{secret}/dlr", _WebhookEndpoint(journal, secret, max_body_bytes, "dlr"), methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
