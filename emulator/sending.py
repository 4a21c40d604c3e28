"""What every send operation shares: recipients, personalization, RequestId memory, recording, results."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from smartdialog_sync.emulator.callbacks import utc_now_iso
from smartdialog_sync.emulator.errors import ApiError, bad_request
from smartdialog_sync.emulator.seed import Customer, Service
from smartdialog_sync.phones import InvalidPhoneNumber, normalize_phone
from smartdialog_sync.sms_parts import count_parts

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def render(content: str, values: dict[str, Any]) -> str:
    """Replace every `{{key}}` in `content` with `values[key]`; unknown keys render as empty text."""
    return PLACEHOLDER.sub(lambda match: _text(values.get(match.group(1))), content)


def placeholders(content: str) -> set[str]:
    """The distinct placeholder keys used in `content`."""
    return set(PLACEHOLDER.findall(content))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def personalization(recipient: dict[str, Any], field: str) -> dict[str, Any]:
    """A recipient's Personalization values; nested objects or arrays are a 400."""
    values = recipient.get("Personalization") or {}
    for key, value in values.items():
        if isinstance(value, (dict, list)):
            raise bad_request(f"{field}.Personalization.{key} must be a simple value", f"{field}.Personalization.{key}")
    return values


def e164_address(address: str, field: str) -> str:
    """A recipient address as E.164 (national numbers are Finnish), or a 400 naming the field."""
    try:
        return normalize_phone(address)
    except InvalidPhoneNumber as exc:
        raise bad_request(f"{field} is not a valid phone number: {exc}", field) from None


def check_recipient_count(runtime: "Runtime", recipients: list[Any]) -> None:
    """More recipients than the service takes in one call (`max_recipients`) is a 400 naming Recipients."""
    limit = runtime.settings.max_recipients
    if len(recipients) > limit:
        raise bad_request(f"too many recipients (max {limit})", "Recipients")


def _request_key(customer_id: str, request_id: str) -> str:
    return f"{customer_id}\n{request_id}"


def check_request_id(runtime: "Runtime", customer_id: str, request_id: str | None) -> None:
    """A RequestId seen for this customer within `request_id_ttl_seconds` (7 days) cancels the send with a 409."""
    if not request_id:
        return
    seen = runtime.state.request_ids.get(_request_key(customer_id, request_id))
    if seen and seen["at"] > time.time() - runtime.settings.request_id_ttl_seconds:
        raise ApiError(409, "duplicate RequestId: the send was cancelled", "RequestId",
                       requestId=request_id, messageId=seen["message_id"])


def _plan_outcome(runtime: "Runtime", customer_id: str, address: str) -> tuple[str, str | None]:
    if f"{customer_id} {address}" in runtime.state.stopped:
        return "Failed", "OPTED_OUT"
    settings = runtime.settings
    draw = runtime.dlr_random.random() * (
        settings.dlr_delivered_ratio + settings.dlr_failed_ratio + settings.dlr_expired_ratio)
    if draw < settings.dlr_delivered_ratio:
        return "Delivered", None
    if draw < settings.dlr_delivered_ratio + settings.dlr_failed_ratio:
        return "Failed", "UNDELIVERABLE"
    return "Expired", "EXPIRED"


def record_message(runtime: "Runtime", *, operation: str, customer: Customer, service: Service, sender: str,
                   content: str, recipients: list[tuple[str, str, str]], send_at: datetime | None,
                   body: dict[str, Any], count_sms_parts: bool = True, **extra: Any) -> dict[str, Any]:
    """Store a sent message and arm its delivery reports.

    `recipients` holds (address as given, E.164 address, rendered content) per recipient.
    """
    scheduled = send_at is not None
    message_id = str(uuid.uuid4())
    rows = []
    for given, address, text in recipients:
        parts = count_parts(text) if count_sms_parts else None
        status, error_code = _plan_outcome(runtime, customer.id, address)
        rows.append({
            "recipient_id": str(uuid.uuid4()), "address": address, "address_given": given, "content": text,
            "parts": parts.parts if parts else 1, "encoding": parts.encoding if parts else None,
            "status": "Scheduled" if scheduled else "Sent", "status_time": utc_now_iso(),
            "planned_status": status, "planned_error_code": error_code,
        })
    message = {
        "message_id": message_id, "operation": operation, "customer": customer.id, "service": service.id,
        "sender": sender, "content": content, "protocol": body.get("Protocol", "SMS"),
        "request_id": body.get("RequestId"), "customer_data": body.get("CustomerData"),
        "dlr_url": body.get("DlrUrl"), "attachment_uri": body.get("AttachmentUri"),
        "created_at": utc_now_iso(), "scheduled": scheduled,
        "send_at": (send_at or datetime.now(timezone.utc)).isoformat(),
        "parts": max(row["parts"] for row in rows), "recipients": rows, **extra,
    }
    runtime.state.messages[message_id] = message
    if message["request_id"]:
        runtime.state.request_ids[_request_key(customer.id, message["request_id"])] = {
            "message_id": message_id, "at": time.time()}
    runtime.commit()
    runtime.callbacks.schedule_delivery_reports(message_id)
    return message


def send_result(message: dict[str, Any], camel_case: bool = False) -> dict[str, Any]:
    """The send answer: PascalCase (SMS sends) or camelCase (WhatsApp template send)."""
    recipients = [{"Address": r["address_given"], "Id": r["recipient_id"]} for r in message["recipients"]]
    result = {"MessageId": message["message_id"], "MessagePartCount": message["parts"], "Recipients": recipients}
    if not camel_case:
        return result
    return {
        "messageId": result["MessageId"], "messagePartCount": result["MessagePartCount"],
        "recipients": [{"address": r["Address"], "id": r["Id"]} for r in recipients],
    }
