"""Admin and inspection endpoints under /_emulator (no auth; not part of the API definition).

No auth, but not drivable from a web page either: a request is refused (403) unless its Host header
names the address it arrived on (or localhost / 127.0.0.1 / [::1] with that port when that address is
a loopback one), which defeats DNS rebinding; and a POST is refused (415) unless its body is
`application/json`, which a cross-site form or a "simple" fetch cannot send without a CORS preflight
(the emulator answers none).
"""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from smartdialog_sync.emulator.callbacks import redact_url
from smartdialog_sync.emulator.errors import ApiError, bad_request
from smartdialog_sync.emulator.faults import parse_faults
from smartdialog_sync.emulator.inbound import simulate_inbound
from smartdialog_sync.phones import InvalidPhoneNumber, normalize_phone

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime


def _runtime(request: Request) -> "Runtime":
    return request.app.state.runtime


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        raise bad_request("request body is not valid JSON", "body") from None


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def allowed_hosts(server: tuple[str, int] | None) -> set[str]:
    """The Host header values accepted for a request that arrived on local address `server`."""
    if not server:
        return set()
    host, port = server[0], server[1]
    names = {f"[{host}]" if ":" in host else host}
    if _is_loopback(host):
        names.update(LOOPBACK_NAMES)
    return {f"{name}:{port}" for name in names} | (names if port == 80 else set())


def _refusal(request: Request) -> JSONResponse | None:
    if request.headers.get("host", "").lower() not in allowed_hosts(request.scope.get("server")):
        return JSONResponse({"error": "admin requests must name this emulator's own address in the Host header",
                             "field": "Host"}, status_code=403)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method not in ("GET", "HEAD") and content_type != "application/json":
        return JSONResponse({"error": "admin requests that change anything must send a JSON body "
                             "(Content-Type: application/json)", "field": "Content-Type"}, status_code=415)
    return None


def _admin(handler: Any) -> Any:
    """Refuse foreign requests (Host, Content-Type) and turn ApiError into its JSON answer for admin handlers."""

    async def endpoint(request: Request) -> JSONResponse:
        refused = _refusal(request)
        if refused is not None:
            return refused
        try:
            return await handler(request)
        except ApiError as error:
            return error.response()

    return endpoint


async def reset(request: Request) -> JSONResponse:
    """POST /_emulator/reset: back to the seed and the startup settings."""
    _runtime(request).reset()
    return JSONResponse({"reset": True})


async def inbound(request: Request) -> JSONResponse:
    """POST simulates received messages (see emulator.inbound); GET lists the received messages."""
    runtime = _runtime(request)
    if request.method == "GET":
        return JSONResponse(list(runtime.state.inbound.values()))
    return JSONResponse(simulate_inbound(runtime, await _json(request)))


async def contacts(request: Request) -> JSONResponse:
    """GET /_emulator/contacts[?customer=&group_service=]: stored contacts with their ids."""
    customer = request.query_params.get("customer")
    group_service = request.query_params.get("group_service")
    rows = []
    for book_key, book in _runtime(request).state.contacts.items():
        book_customer, book_service = book_key.split("/", 1)
        if customer in (None, book_customer) and group_service in (None, book_service):
            rows.extend({"customer": book_customer, "group_service": book_service, **c} for c in book.values())
    return JSONResponse(rows)


def _recipient_row(message: dict[str, Any], recipient: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in message.items() if k not in ("recipients", "content", "parts")}
    row["template_content"] = message["content"]
    row.update({k: v for k, v in recipient.items() if not k.startswith("planned_")})
    row["message_id"] = message["message_id"]
    if row["status"] == "Scheduled" and datetime.fromisoformat(message["send_at"]) <= datetime.now(timezone.utc):
        row["status"] = "Sent"
    if row["dlr_url"]:
        row["dlr_url"] = redact_url(row["dlr_url"])
    return row


async def messages(request: Request) -> JSONResponse:
    """GET /_emulator/messages[?address=]: one row per sent message and recipient."""
    address = request.query_params.get("address")
    if address:
        try:
            address = normalize_phone(address)
        except InvalidPhoneNumber:
            pass
    rows = [
        _recipient_row(message, recipient)
        for message in _runtime(request).state.messages.values()
        for recipient in message["recipients"]
        if address in (None, "", recipient["address"], recipient["address_given"])
    ]
    return JSONResponse(rows)


async def webhooks(request: Request) -> JSONResponse:
    """GET /_emulator/webhooks: registered NewMessage webhooks."""
    return JSONResponse([{**w, "endpoint_url": redact_url(w["endpoint_url"])}
                         for w in _runtime(request).state.webhooks.values()])


async def stats(request: Request) -> JSONResponse:
    """GET /_emulator/stats: call, 429, fault and callback counters."""
    runtime = _runtime(request)
    return JSONResponse(runtime.stats.to_json(callbacks_pending=runtime.callbacks.pending))


async def faults(request: Request) -> JSONResponse:
    """GET shows, POST replaces the fault settings."""
    runtime = _runtime(request)
    if request.method == "POST":
        runtime.faults.configure(parse_faults(await _json(request)))
    return JSONResponse(runtime.faults.settings.to_json())


async def config(request: Request) -> JSONResponse:
    """GET shows, POST changes settings (rate_limit, dlr ratios and delay, token_expires_in...)."""
    runtime = _runtime(request)
    if request.method == "POST":
        runtime.settings.update(await _json(request))
        runtime.limiter.configure(runtime.settings.rate_limit)
    return JSONResponse(runtime.settings.to_json())


async def callbacks(request: Request) -> JSONResponse:
    """GET /_emulator/callbacks: the log of callback attempts (oldest first)."""
    return JSONResponse(list(_runtime(request).callbacks.log))


routes = [
    Route("/reset", _admin(reset), methods=["POST"]),
    Route("/inbound", _admin(inbound), methods=["GET", "POST"]),
    Route("/contacts", _admin(contacts), methods=["GET"]),
    Route("/messages", _admin(messages), methods=["GET"]),
    Route("/webhooks", _admin(webhooks), methods=["GET"]),
    Route("/stats", _admin(stats), methods=["GET"]),
    Route("/faults", _admin(faults), methods=["GET", "POST"]),
    Route("/config", _admin(config), methods=["GET", "POST"]),
    Route("/callbacks", _admin(callbacks), methods=["GET"]),
]
