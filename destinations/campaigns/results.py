"""What a send answered, as rows of the ledger's `sent_messages` table.

sent_messages (one row per recipient of a confirmed batch; primary key campaign_id + address):
    campaign_id   TEXT     the campaign
    batch_no      INTEGER  the batch (one API call) within the campaign
    request_id    TEXT     the RequestId the call carried
    message_id    TEXT     the service's MessageId (NULL if a duplicate answer did not name it)
    recipient_id  TEXT     the service's recipient Id, used by delivery reports (NULL if not answered)
    address       TEXT     the E.164 number
    parts         INTEGER  SMS parts of the recipient's rendered content (NULL for WhatsApp)
    sent_at       TEXT     ISO 8601 UTC time the batch was confirmed
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from smartdialog_sync import errors
from smartdialog_sync.api import models

from .batches import Batch
from .ledger import SentRecipient

_MESSAGE_ID_IN_TEXT = re.compile(r"message[_ ]?id\W{0,4}([A-Za-z0-9][\w-]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Duplicate:
    """The service recognised the RequestId: the batch was sent before, as `message_id` (if named)."""

    message_id: str | None


def _find_message_id(value: Any) -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.replace("_", "").lower() in ("messageid", "originalmessageid") and isinstance(item, str) and item:
                return item
        for item in value.values():
            if (found := _find_message_id(item)) is not None:
                return found
    if isinstance(value, list):
        for item in value:
            if (found := _find_message_id(item)) is not None:
                return found
    return None


def duplicate_of(error: errors.ApiError) -> Duplicate | None:
    """A Duplicate if the error says the RequestId was seen before (409, or a 400 naming a duplicate)."""
    detail = error.detail or ""
    is_duplicate = isinstance(error, errors.Conflict) or (
        isinstance(error, errors.BadRequest) and "duplicate" in detail.lower()
    )
    if not is_duplicate:
        return None
    try:
        message_id = _find_message_id(json.loads(detail))
    except ValueError:
        message_id = None
    if message_id is None and (match := _MESSAGE_ID_IN_TEXT.search(detail)):
        message_id = match.group(1)
    return Duplicate(message_id)


_SIZE_WORDS = re.compile(r"too many|max|more than|at most|limit|exceed", re.IGNORECASE)
_MAX_IN_TEXT = re.compile(r"(?:max(?:imum)?|at most|more than|limit(?: is| of)?|up to)\D{0,12}(\d+)", re.IGNORECASE)


def recipient_limit(error: errors.ApiError, sent: int) -> int | None:
    """The per-call recipient maximum when a 400 refused a batch of `sent` recipients for its size, else None.

    The refusal must name the `Recipients` field as a whole (not `Recipients[3].Address`) and speak of a
    limit; the maximum is the number it gives, or half the batch when it gives none (always below `sent`).
    """
    if not isinstance(error, errors.BadRequest) or sent <= 1:
        return None
    detail = error.detail or ""
    try:
        body = json.loads(detail)
    except ValueError:
        body = None
    field = body.get("field") if isinstance(body, dict) else None
    text = str(body.get("error") or detail) if isinstance(body, dict) else detail
    names_recipients = field == "Recipients" or (field is None and re.search(r"\brecipients\b(?!\[)", text, re.IGNORECASE))
    if not names_recipients or not _SIZE_WORDS.search(text):
        return None
    found = _MAX_IN_TEXT.search(text)
    limit = int(found.group(1)) if found else sent // 2
    return max(1, min(limit, sent - 1))


def sent_recipients(batch: Batch, result: models.SendResult | None) -> list[SentRecipient]:
    """The sent_messages rows of a confirmed batch, with the recipient ids the answer gave (if any)."""
    ids = {}
    if result is not None:
        ids = {row.address: row.id for row in result.recipients if row.address}
    return [SentRecipient(r.address, ids.get(r.address), r.parts) for r in batch.recipients]

