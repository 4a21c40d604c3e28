"""Validation of webhook payloads into journal rows.

NewMessage bodies follow the definition's x-ms-notification-content schema (sender, recipient, content,
timestamp, protocol, attachments[{name, mimeType, resourceLocation}], messageId). Delivery reports are the
query parameters of a GET on a send's DlrUrl (messageId, recipientId, address, status, statusTime,
errorCode, plus whatever the DlrUrl itself carried).

Values no destination can store are normalised here, never refused: NUL characters are removed, lone
surrogates become U+FFFD, and a timestamp outside years 1..9999 in UTC becomes NULL. The values as
received are kept: in `raw_values` (inbound, JSON with ASCII escapes) or in `query` (delivery reports).
Anything else that is not what the definition describes raises InvalidPayload (a 4xx), never more.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from smartdialog_sync.journal import DlrRow, InboundRow
from smartdialog_sync.timestamps import is_storable_us, parse_timestamp_us

MESSAGE_ID_MAX = 1000
TEXT_FIELDS = ("sender", "recipient", "content", "protocol")
ATTACHMENT_FIELDS = ("name", "mimeType", "resourceLocation")
DLR_FIELDS = ("messageId", "recipientId", "address", "status", "statusTime", "errorCode")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL text) and lone surrogates (UTF-8)


class InvalidPayload(ValueError):
    """A webhook payload that is not what the API definition describes (answered with `status_code`)."""

    status_code = 422
    reason_code = "invalid"  # the label of the rejection metric


class MalformedBody(InvalidPayload):
    """A body that is not JSON at all (or JSON Python will not read: too deep, too long a number)."""

    status_code = 400
    reason_code = "malformed"


def now_us() -> int:
    """The current time in microseconds since the epoch."""
    return time.time_ns() // 1000


def storable_text(value: str) -> str:
    """`value` without NUL characters and with lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(lambda match: "" if match.group() == "\x00" else "\ufffd", value)


def storable_json(value: Any) -> str:
    """`value` as JSON that any destination stores in a JSON column (PostgreSQL refuses the escapes of
    NUL and of lone surrogates there): such characters in strings are written as their escape text."""
    return json.dumps(_visible(value), ensure_ascii=False, separators=(",", ":"))


def _visible(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", value)
    if isinstance(value, list):
        return [_visible(item) for item in value]
    if isinstance(value, dict):
        return {_visible(key): _visible(item) for key, item in value.items()}
    return value


def storable_timestamp_us(value: str | None) -> int | None:
    """An ISO 8601 timestamp as microseconds since the epoch; None when absent or out of the storable range.

    Raises ValueError when it is no timestamp at all.
    """
    if not value:
        return None
    moment = parse_timestamp_us(value)
    return moment if is_storable_us(moment) else None


class _Normaliser:
    """Makes values storable and remembers the originals of those it changed."""

    def __init__(self) -> None:
        self.raw: dict[str, Any] = {}

    def text(self, key: str, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = storable_text(value)
        if cleaned != value:
            self.raw[key] = value
        return cleaned

    def raw_json(self) -> str | None:
        return json.dumps(self.raw, separators=(",", ":")) if self.raw else None  # ASCII text: storable, exact


def _optional_text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidPayload(f"{key} must be a string")
    return value


def _message_id(value: Any) -> str:
    if not isinstance(value, str) or not storable_text(value).strip():
        raise InvalidPayload("messageId must be a non-empty string")
    if len(value) > MESSAGE_ID_MAX:
        raise InvalidPayload(f"messageId is longer than {MESSAGE_ID_MAX} characters")
    return value


def _attachments(value: Any, normaliser: _Normaliser) -> str | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list):
        raise InvalidPayload("attachments must be an array")
    cleaned = []
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidPayload("each attachment must be an object")
        for key in ATTACHMENT_FIELDS:
            if item.get(key) is not None and not isinstance(item[key], str):
                raise InvalidPayload(f"attachment {key} must be a string")
        cleaned.append({key: normaliser.text(f"attachments[{position}].{key}", item.get(key)) for key in ATTACHMENT_FIELDS})
    return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"))


def inbound_row(body: bytes, received_at_us: int | None = None) -> InboundRow:
    """Validate a NewMessage notification body into a journal row; raise InvalidPayload if it is wrong."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested too deep, a number too long
        raise MalformedBody("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidPayload("body must be a JSON object")
    normaliser = _Normaliser()
    message_id = normaliser.text("messageId", _message_id(payload.get("messageId")))
    sender, recipient, content, protocol = (
        normaliser.text(key, _optional_text(payload, key)) for key in TEXT_FIELDS
    )
    timestamp = _optional_text(payload, "timestamp")
    try:
        sent_at_us = storable_timestamp_us(timestamp)
    except ValueError:
        raise InvalidPayload("timestamp must be an ISO 8601 date-time") from None
    if timestamp and sent_at_us is None:
        normaliser.raw["timestamp"] = timestamp
    attachments = _attachments(payload.get("attachments"), normaliser)
    return InboundRow(
        str(message_id),
        sender,
        recipient,
        content,
        protocol,
        sent_at_us,
        attachments,
        received_at_us or now_us(),
        normaliser.raw_json(),
    )


def dlr_key(message_id: str, recipient_id: str | None, status: str | None) -> str:
    """The idempotency key of a delivery report: a digest of (messageId, recipientId, status)."""
    text = "\x1f".join((message_id, recipient_id or "", status or ""))
    return hashlib.sha256(text.encode()).hexdigest()


def dlr_row(params: list[tuple[str, str]], received_at_us: int | None = None) -> DlrRow:
    """Validate delivery report query parameters into a journal row; raise InvalidPayload if wrong.

    `query` keeps every parameter as received (NUL and lone surrogates as escape text); the columns hold
    storable values.
    """
    raw: dict[str, Any] = {}
    for key, value in params:
        if key in raw:
            raw[key] = (raw[key] if isinstance(raw[key], list) else [raw[key]]) + [value]
        else:
            raw[key] = value
    for key, value in raw.items():
        if isinstance(value, list) and key in DLR_FIELDS:
            raise InvalidPayload(f"query parameter {key} is repeated")
    message_id = storable_text(_message_id(raw.get("messageId")))
    recipient_id, address, status, status_time, error_code = (
        storable_text(raw[key]) if raw.get(key) is not None else None for key in DLR_FIELDS[1:]
    )
    try:
        status_time_us = storable_timestamp_us(status_time)
    except ValueError:
        status_time_us = None  # kept raw in `query`
    return DlrRow(
        dlr_key(message_id, recipient_id, status),
        message_id,
        recipient_id,
        address,
        status,
        status_time_us,
        error_code,
        storable_json(raw),
        received_at_us or now_us(),
    )


def row_from_raw(kind: str, raw: bytes, received_at_us: int | None = None) -> InboundRow | DlrRow:
    """The journal row of a webhook as received: `raw` is the body ("inbound") or the query string ("dlr")."""
    if kind == "inbound":
        return inbound_row(raw, received_at_us)
    return dlr_row(parse_qsl(raw.decode("latin-1"), keep_blank_values=True), received_at_us)
