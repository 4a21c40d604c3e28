"""Validation of webhook payloads into journal rows.

NewMessage bodies follow the definition's x-ms-notification-content schema (sender, recipient, content,
timestamp, protocol, attachments[{name, mimeType, resourceLocation}], messageId). Delivery reports are the
query parameters of a GET on a send's DlrUrl (messageId, recipientId, address, status, statusTime,
errorCode, plus whatever the DlrUrl itself carried).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from smartdialog_sync.journal import DlrRow, InboundRow

MESSAGE_ID_MAX = 1000
TEXT_FIELDS = ("sender", "recipient", "content", "protocol")
ATTACHMENT_FIELDS = ("name", "mimeType", "resourceLocation")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class InvalidPayload(ValueError):
    """A webhook payload that is not what the API definition describes (answered with `status_code`)."""

    status_code = 422


class MalformedBody(InvalidPayload):
    """A body that is not JSON at all."""

    status_code = 400


def now_us() -> int:
    """The current time in microseconds since the epoch."""
    return time.time_ns() // 1000


def parse_timestamp_us(value: str) -> int:
    """An ISO 8601 date-time as microseconds since the epoch (UTC when it carries no offset)."""
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - EPOCH) // timedelta(microseconds=1)


def _optional_text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidPayload(f"{key} must be a string")
    return value


def _message_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidPayload("messageId must be a non-empty string")
    if len(value) > MESSAGE_ID_MAX:
        raise InvalidPayload(f"messageId is longer than {MESSAGE_ID_MAX} characters")
    return value


def _attachments(value: Any) -> str | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise InvalidPayload("attachments must be an array")
    cleaned = []
    for item in value:
        if not isinstance(item, dict):
            raise InvalidPayload("each attachment must be an object")
        for key in ATTACHMENT_FIELDS:
            if item.get(key) is not None and not isinstance(item[key], str):
                raise InvalidPayload(f"attachment {key} must be a string")
        cleaned.append({key: item.get(key) for key in ATTACHMENT_FIELDS})
    return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"))


def inbound_row(body: bytes) -> InboundRow:
    """Validate a NewMessage notification body into a journal row; raise InvalidPayload if it is wrong."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedBody("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidPayload("body must be a JSON object")
    message_id = _message_id(payload.get("messageId"))
    sender, recipient, content, protocol = (_optional_text(payload, key) for key in TEXT_FIELDS)
    timestamp = _optional_text(payload, "timestamp")
    try:
        sent_at_us = parse_timestamp_us(timestamp) if timestamp else None
    except ValueError:
        raise InvalidPayload("timestamp must be an ISO 8601 date-time") from None
    return InboundRow(
        message_id, sender, recipient, content, protocol, sent_at_us, _attachments(payload.get("attachments")), now_us()
    )


def dlr_key(message_id: str, recipient_id: str | None, status: str | None) -> str:
    """The idempotency key of a delivery report: a digest of (messageId, recipientId, status)."""
    text = "\x1f".join((message_id, recipient_id or "", status or ""))
    return hashlib.sha256(text.encode()).hexdigest()


def dlr_row(params: list[tuple[str, str]]) -> DlrRow:
    """Validate delivery report query parameters into a journal row; raise InvalidPayload if wrong."""
    raw: dict[str, Any] = {}
    for key, value in params:
        if key in raw:
            raw[key] = (raw[key] if isinstance(raw[key], list) else [raw[key]]) + [value]
        else:
            raw[key] = value
    for key, value in raw.items():
        if isinstance(value, list) and key in ("messageId", "recipientId", "address", "status", "statusTime", "errorCode"):
            raise InvalidPayload(f"query parameter {key} is repeated")
    message_id = _message_id(raw.get("messageId"))
    recipient_id, status = raw.get("recipientId"), raw.get("status")
    status_time = raw.get("statusTime")
    try:
        status_time_us = parse_timestamp_us(status_time) if status_time else None
    except ValueError:
        status_time_us = None  # kept raw in `query`
    return DlrRow(
        dlr_key(message_id, recipient_id, status),
        message_id,
        recipient_id,
        raw.get("address"),
        status,
        status_time_us,
        raw.get("errorCode"),
        json.dumps(raw, ensure_ascii=False, separators=(",", ":")),
        now_us(),
    )
