"""Reading the service's answers to a repeated RequestId, as the client raises them."""

from __future__ import annotations

import json

from smartdialog_sync.destinations.campaigns.batches import Batch, PlannedRecipient
from smartdialog_sync.destinations.campaigns.results import duplicate_of, sent_recipients
from smartdialog_sync import errors
from smartdialog_sync.api import models


def test_a_409_names_the_original_message() -> None:
    detail = json.dumps({"error": "duplicate RequestId", "requestId": "sdsync:c:1:ab", "messageId": "m-123"})
    assert duplicate_of(errors.Conflict("SendMessage", "request failed", 409, detail)).message_id == "m-123"


def test_a_400_mentioning_a_duplicate_counts_as_sent() -> None:
    found = duplicate_of(errors.BadRequest("SendMessage", "request failed", 400, "Duplicate request id; original MessageId: m-9"))
    assert found is not None and found.message_id == "m-9"
    assert duplicate_of(errors.BadRequest("SendMessage", "request failed", 400, "Sender is invalid")) is None
    assert duplicate_of(errors.Conflict("SendMessage", "request failed", 409, "conflict")).message_id is None


def test_sent_rows_take_recipient_ids_from_the_answer() -> None:
    batch = Batch(1, "r", (PlannedRecipient("+358401000001", {}, 1), PlannedRecipient("+358401000002", {}, 2)))
    answer = models.SendResult.model_validate({"MessageId": "m", "Recipients": [{"Address": "+358401000002", "Id": "r2"}]})
    rows = sent_recipients(batch, answer)
    assert [(r.address, r.recipient_id, r.parts) for r in rows] == [("+358401000001", None, 1), ("+358401000002", "r2", 2)]
