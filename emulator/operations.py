"""The pipeline every API operation goes through: count, authenticate, rate-limit, inject faults, handle."""

from __future__ import annotations

import asyncio
from functools import wraps
from typing import TYPE_CHECKING, Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from smartdialog_sync.emulator.auth import authenticate
from smartdialog_sync.emulator.errors import ApiError

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime

Handler = Callable[[Request, "Runtime"], Awaitable[Response]]


class DroppedConnection(Response):
    """Not a response: closes the client's connection without answering (the call was processed)."""

    def __init__(self) -> None:
        super().__init__(status_code=599)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["app"].state.drop_connection(scope)


CLIENT_CLOSED_REQUEST = 499  # nginx's status for a request whose client hung up; nobody reads it


def operation(operation_id: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a handler of the definition's `operation_id` with auth, rate limit, faults and stats."""

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            runtime: Runtime = request.app.state.runtime
            stats = runtime.stats
            stats.calls_total += 1
            stats.calls_by_operation[operation_id] += 1
            try:
                response = await _guarded(handler, request, runtime)
            except ApiError as error:
                response = error.response()
            except ClientDisconnect:  # the client went away mid-body (killed, timed out): nothing was done
                stats.client_disconnects += 1  # not an HTTP status: nobody received an answer
                return Response(status_code=CLIENT_CLOSED_REQUEST)
            stats.responses_by_status[str(response.status_code)] += 1
            if 200 <= response.status_code < 300 and runtime.faults.drop_after_processing():
                stats.faults_dropped += 1
                return DroppedConnection()
            return response

        endpoint.operation_id = operation_id  # type: ignore[attr-defined]
        return endpoint

    return decorate


def api_route(method: str, path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
    """The route of an `operation` endpoint, named by its operation id as the definition names it."""
    return Route(path, endpoint, methods=[method], name=endpoint.operation_id)  # type: ignore[attr-defined]


async def _guarded(handler: Handler, request: Request, runtime: "Runtime") -> Response:
    try:
        token = authenticate(request, runtime)
    except ApiError:
        runtime.stats.unauthorized += 1
        raise
    retry_after = runtime.limiter.acquire(token)
    if retry_after is not None:
        runtime.stats.rate_limited += 1
        raise ApiError(429, f"rate limit of {runtime.limiter.limit} calls per connection exceeded",
                       headers={"Retry-After": str(retry_after)}, retry_after=retry_after)
    status = runtime.faults.error_status()
    if status is not None:
        runtime.stats.faults_errors += 1
        raise ApiError(status, "injected fault (emulator)")
    if runtime.faults.settings.latency_ms:
        await asyncio.sleep(runtime.faults.settings.latency_ms / 1000)
    return await handler(request, runtime)
