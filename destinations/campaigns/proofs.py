"""Proof sends: before a campaign, the first rendered message of each variant goes to the proof numbers.

Each proof is one call with its own deterministic RequestId (`sdsync:{campaign}:proof:{label}:{digest}`),
recorded in the ledger's `campaign_proofs` (in flight before the call, sent/failed after), never in
`sent_messages`: proofs are not campaign sends and never count against frequency caps. A proof already
sent (a rerun) is not sent again; one left in flight is repeated with its RequestId.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from smartdialog_sync.api import SmartDialogClient, errors
from smartdialog_sync.constants import REQUEST_ID_MAX
from smartdialog_sync.phones import InvalidPhoneNumber, normalize_phone

from .arms import Arms
from .batches import Batch, render
from .errors import CampaignError, CampaignInputError, SendStopped
from .ledger import CampaignRecord, Ledger
from .results import duplicate_of


@dataclass(frozen=True)
class ProofMessage:
    """One message to proof: a label (the variant) and the request fields it differs in from the campaign's."""

    label: str
    fields: dict[str, Any]


def parse_proof_numbers(text: str | None) -> tuple[str, ...]:
    """`--proof-to +358401234567,+358407654321` as E.164 numbers (repeats dropped)."""
    numbers = []
    for raw in (text or "").split(","):
        if raw.strip():
            try:
                numbers.append(normalize_phone(raw.strip()))
            except InvalidPhoneNumber as exc:
                raise CampaignInputError(f"--proof-to: {exc}") from None
    return tuple(dict.fromkeys(numbers))


def first_messages(record: CampaignRecord, batches: Sequence[Batch]) -> list[ProofMessage]:
    """The first rendered message of each variant (one, labelled `main`, without variants): the SMS content with
    the variant's first recipient's values, or the variant's template with its first call's parameters."""
    arms = Arms.from_description(record.description)
    messages = []
    for label in dict.fromkeys(batch.variant for batch in batches):
        first = next(batch for batch in batches if batch.variant == label)
        own = arms.fields_of(label) if label is not None else {}
        if record.kind == "sms":
            content = own.get("content", record.message.get("content", ""))
            fields: dict[str, Any] = {"content": render(content, first.recipients[0].personalization)}
        else:
            fields = dict(own)
            if first.body_parameters is not None:
                fields["body_parameters"] = list(first.body_parameters)
            if first.header_parameters is not None:
                fields["header_parameters"] = list(first.header_parameters)
        messages.append(ProofMessage(label or "main", fields))
    return messages


def proof_request_id(campaign_id: str, proof: ProofMessage, numbers: Sequence[str]) -> str:
    """The proof's RequestId: the same for the same campaign, label, message and numbers."""
    payload = json.dumps([proof.label, proof.fields, list(numbers)], sort_keys=True, ensure_ascii=False)
    value = f"sdsync:{campaign_id}:proof:{proof.label}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"
    assert len(value) <= REQUEST_ID_MAX
    return value


def _request(record: CampaignRecord, proof: ProofMessage, numbers: Sequence[str], request_id: str) -> dict[str, Any]:
    request = {key: value for key, value in record.message.items() if key != "send_date_time"}  # proofs go at once
    request.update(proof.fields, request_id=request_id, recipients=[{"address": number} for number in numbers])
    if request.get("buttons"):
        request["buttons"] = [{"type": kind, "data": data} for kind, data in request["buttons"]]
    return request


def send_proofs(api: SmartDialogClient, ledger: Ledger, record: CampaignRecord, proofs: Sequence[ProofMessage],
                numbers: Sequence[str], on_info: Callable[[str], None]) -> None:
    """Send each proof to `numbers` once, recording it before and after the call.

    Raises SendStopped (exit 1) when an outcome is unknown (the proof stays in flight; a rerun repeats it
    with its RequestId) and CampaignError when the service refuses a proof: the campaign is not sent.
    """
    for proof in proofs:
        request_id = proof_request_id(record.campaign_id, proof, numbers)
        state = ledger.proof_state(request_id)
        if state is not None and state[0] == "sent":
            on_info(f"Proof {proof.label} was sent to {', '.join(numbers)} at {state[2]} ({request_id}); not sent again.")
            continue
        ledger.mark_proof_in_flight(record.campaign_id, request_id, proof.label, numbers)
        request = _request(record, proof, numbers, request_id)
        try:
            if record.kind == "sms":
                result = api.send_message(record.customer_id, record.service_id, request)
            else:
                result = api.send_whatsapp_template_message(record.customer_id, record.service_id, request)
            message_id = result.message_id
        except (errors.RateLimited, errors.ServerError, errors.OutcomeUnknown, errors.TransportError) as exc:
            raise SendStopped(f"proof {proof.label} left in flight: {exc}. Run the same command again: "
                              "nothing of the campaign was sent") from None
        except (errors.ApiError, errors.RequestInvalid) as exc:
            duplicate = duplicate_of(exc) if isinstance(exc, errors.ApiError) else None
            if duplicate is None:
                ledger.mark_proof_done(request_id, "failed", error=str(exc))
                raise CampaignError(f"proof {proof.label} refused: {exc}; nothing of the campaign was sent") from None
            message_id = duplicate.message_id
        ledger.mark_proof_done(request_id, "sent", message_id)
        on_info(f"Proof {proof.label} sent to {', '.join(numbers)} ({request_id}).")
