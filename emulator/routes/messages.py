"""SendMessage, SendReplyMessage, SendDiscussionReplyMessage and SendWhatsappTemplateMessage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from smartdialog_sync.emulator import schemas
from smartdialog_sync.emulator.errors import bad_request, not_found
from smartdialog_sync.emulator.operations import api_route, operation
from smartdialog_sync.emulator.sending import (
    check_recipient_count, check_request_id, e164_address, personalization, placeholders, record_message, render,
    send_result,
)
from smartdialog_sync.emulator.validation import check_http_url, header, json_body, parse_send_datetime

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime

SENDING_SERVICE_TYPES = ("OneWay", "TwoWay")


async def _send_sms(request: Request, runtime: "Runtime", operation_id: str,
                    parent_id: str | None = None) -> JSONResponse:
    customer_id, service_id = header(request, "Customer-Id"), header(request, "Service-Id")
    body = await json_body(request, schemas.SEND_MESSAGE)
    check_recipient_count(runtime, body["Recipients"])
    customer = runtime.catalog.customer(customer_id)
    service = runtime.catalog.service(customer, service_id, types=SENDING_SERVICE_TYPES)
    extra: dict[str, Any] = {}
    if parent_id is not None:
        if parent_id not in runtime.state.inbound and parent_id not in runtime.state.messages:
            raise not_found(f"unknown parent message {parent_id!r}", "ParentMessageId")
        if not service.allow_reply_message:
            raise bad_request(f"service {service.id!r} does not allow reply messages", "Service-Id")
        extra["parent_message_id"] = parent_id
    send_at = parse_send_datetime(body.get("SendDateTime"))
    check_http_url(body.get("DlrUrl"), "DlrUrl")
    recipients = []
    for index, recipient in enumerate(body["Recipients"]):
        field = f"Recipients[{index}]"
        address = e164_address(recipient["Address"], f"{field}.Address")
        recipients.append((recipient["Address"], address, render(body["Content"], personalization(recipient, field))))
    check_request_id(runtime, customer.id, body.get("RequestId"))
    message = record_message(runtime, operation=operation_id, customer=customer, service=service,
                             sender=body["Sender"], content=body["Content"], recipients=recipients,
                             send_at=send_at, body=body, **extra)
    return JSONResponse(send_result(message))


@operation("SendMessage")
async def send_message(request: Request, runtime: "Runtime") -> JSONResponse:
    """POST /messages."""
    return await _send_sms(request, runtime, "SendMessage")


@operation("SendReplyMessage")
async def send_reply_message(request: Request, runtime: "Runtime") -> JSONResponse:
    """POST /messages/reply/{ParentMessageId}: the parent must be a received or sent message."""
    return await _send_sms(request, runtime, "SendReplyMessage", request.path_params["parent_message_id"])


@operation("SendDiscussionReplyMessage")
async def send_discussion_reply(request: Request, runtime: "Runtime") -> JSONResponse:
    """POST /messages/discussion/reply: answers the other party of a discussion thread."""
    customer_id = header(request, "CustomerId")
    body = await json_body(request, schemas.DISCUSSION_REPLY)
    customer = runtime.catalog.customer(customer_id, "CustomerId")
    thread = runtime.state.threads.get(body["ThreadId"])
    if thread is None or thread["customer"] != customer.id:
        raise not_found(f"unknown discussion thread {body['ThreadId']!r}", "ThreadId")
    service = runtime.catalog.service(customer, thread["service"])
    message = record_message(
        runtime, operation="SendDiscussionReplyMessage", customer=customer, service=service,
        sender=service.number, content=body["Content"],
        recipients=[(thread["address"], thread["address"], body["Content"])], send_at=None, body=body,
        thread_id=thread["thread_id"],
    )
    return JSONResponse({**send_result(message), "ThreadId": thread["thread_id"]})


@operation("SendWhatsappTemplateMessage")
async def send_whatsapp_template(request: Request, runtime: "Runtime") -> JSONResponse:
    """POST /messages/templates/whatsapp: renders {{1}}.. from BodyParameters; answers camelCase."""
    customer_id, service_id = header(request, "Customer-Id"), header(request, "Service-Id")
    body = await json_body(request, schemas.WHATSAPP_TEMPLATE_SEND)
    check_recipient_count(runtime, body["Recipients"])
    customer = runtime.catalog.customer(customer_id)
    service = runtime.catalog.service(customer, service_id, types=SENDING_SERVICE_TYPES)
    template = next((t for t in runtime.state.templates.get(customer.id, [])
                     if body["TemplateName"] in (t["display_name"], t["id"])), None)
    if template is None:
        raise not_found(f"unknown WhatsApp template {body['TemplateName']!r}", "TemplateName")
    parameters = body.get("BodyParameters") or []
    expected = len(placeholders(template["raw_content"]))
    if len(parameters) != expected:
        raise bad_request(f"template {template['display_name']!r} takes {expected} body parameter(s), "
                          f"got {len(parameters)}", "BodyParameters")
    send_at = parse_send_datetime(body.get("SendDateTime"))
    check_http_url(body.get("DlrUrl"), "DlrUrl")
    content = render(template["raw_content"], {str(i + 1): p for i, p in enumerate(parameters)})
    recipients = [(r["Address"], e164_address(r["Address"], f"Recipients[{i}].Address"), content)
                  for i, r in enumerate(body["Recipients"])]
    check_request_id(runtime, customer.id, body.get("RequestId"))
    message = record_message(
        runtime, operation="SendWhatsappTemplateMessage", customer=customer, service=service,
        sender=customer.whatsapp_identities[0] if customer.whatsapp_identities else service.number,
        content=content, recipients=recipients, send_at=send_at, body={**body, "Protocol": "WhatsApp"},
        count_sms_parts=False, template_name=template["display_name"],
        use_sms_fallback=bool(body.get("UseSmsFallback")),
    )
    return JSONResponse(send_result(message, camel_case=True))


routes = [
    api_route("POST", "/messages", send_message),
    api_route("POST", "/messages/reply/{parent_message_id}", send_reply_message),
    api_route("POST", "/messages/discussion/reply", send_discussion_reply),
    api_route("POST", "/messages/templates/whatsapp", send_whatsapp_template),
]

