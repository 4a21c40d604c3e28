"""CreateWhatsappTemplate and the deprecated WhatsApp opt-in / opt-out."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from smartdialog_sync.emulator import schemas
from smartdialog_sync.emulator.errors import ApiError, bad_request, not_found
from smartdialog_sync.emulator.operations import api_route, operation
from smartdialog_sync.emulator.sending import e164_address
from smartdialog_sync.emulator.validation import json_body

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime


@operation("CreateWhatsappTemplate")
async def create_template(request: Request, runtime: "Runtime") -> Response:
    """POST /whatsapp/templates/{Customer-Id}/{IdentityNumber}: 204; 409 when the DisplayName exists."""
    body = await json_body(request, schemas.CREATE_WHATSAPP_TEMPLATE)
    customer = runtime.catalog.customer(request.path_params["customer_id"])
    identity = request.path_params["identity_number"]
    if identity not in customer.whatsapp_identities:
        raise not_found(f"unknown WhatsApp identity {identity!r} for customer {customer.id!r}", "IdentityNumber")
    if body["Category"] not in runtime.seed.template_categories:
        raise bad_request(f"Category must be one of {', '.join(runtime.seed.template_categories)}", "Category")
    templates = runtime.state.templates.setdefault(customer.id, [])
    if any(t["display_name"] == body["DisplayName"] for t in templates):
        raise ApiError(409, f"a template named {body['DisplayName']!r} exists", "DisplayName")
    templates.append({
        "id": str(uuid.uuid4()), "display_name": body["DisplayName"], "raw_content": body["RawContent"],
        "category": body["Category"], "language": body["Language"], "identity": identity,
    })
    runtime.commit()
    return Response(status_code=204)


def _known_sender(runtime: "Runtime", sender: str) -> None:
    if not any(sender in c.whatsapp_identities for c in runtime.seed.customers.values()):
        raise not_found(f"unknown WhatsApp identity {sender!r}", "Sender")


@operation("WhatsAppOptIn")
async def opt_in(request: Request, runtime: "Runtime") -> Response:
    """POST /whatsapp/opt-in/sender/{Sender}/recipient/{Recipient}: 204 (idempotent)."""
    sender = request.path_params["sender"]
    _known_sender(runtime, sender)
    key = f"{sender} {e164_address(request.path_params['recipient'], 'Recipient')}"
    if key not in runtime.state.opt_ins:
        runtime.state.opt_ins.append(key)
        runtime.commit()
    return Response(status_code=204)


@operation("WhatsAppOptOut")
async def opt_out(request: Request, runtime: "Runtime") -> Response:
    """DELETE /whatsapp/opt-in/sender/{Sender}/recipient/{Recipient}: 204 (idempotent)."""
    sender = request.path_params["sender"]
    _known_sender(runtime, sender)
    key = f"{sender} {e164_address(request.path_params['recipient'], 'Recipient')}"
    if key in runtime.state.opt_ins:
        runtime.state.opt_ins.remove(key)
        runtime.commit()
    return Response(status_code=204)


routes = [
    api_route("POST", "/whatsapp/templates/{customer_id}/{identity_number}", create_template),
    api_route("POST", "/whatsapp/opt-in/sender/{sender}/recipient/{recipient}", opt_in),
    api_route("DELETE", "/whatsapp/opt-in/sender/{sender}/recipient/{recipient}", opt_out),
]

