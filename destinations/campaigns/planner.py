"""Planning a campaign: personalisation, SMS parts, batches with their RequestIds, and estimates.

One SendMessage call carries up to `batch_size` recipients, each with its own Personalization.
A WhatsApp template call carries one BodyParameters/HeaderParameters set, so recipients are grouped
by identical parameters first and each group is split into batches.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from smartdialog_sync.constants import REQUEST_ID_MAX
from smartdialog_sync.sms_parts import count_parts

from .errors import CampaignInputError
from .recipients import Recipient

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")  # as the service reads `{{ key }}`
CAMPAIGN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


@dataclass(frozen=True)
class PlannedRecipient:
    """A recipient of a batch: its address, its Personalization and the SMS parts it will get."""

    address: str
    personalization: dict[str, str]
    parts: int | None


@dataclass(frozen=True)
class Batch:
    """The recipients of one API call, with the RequestId that call always carries."""

    batch_no: int
    request_id: str
    recipients: tuple[PlannedRecipient, ...]
    body_parameters: tuple[str, ...] | None = None
    header_parameters: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Estimate:
    """What a campaign will cost: recipients, SMS parts, calls and the time they take under the limit."""

    recipients: int
    total_parts: int | None
    parts_histogram: dict[int, int]
    encodings: dict[str, int]
    calls: int
    seconds: float


def placeholders(content: str) -> list[str]:
    """The distinct `{{column}}` placeholders of `content`, in order of appearance."""
    return list(dict.fromkeys(PLACEHOLDER.findall(content)))


def render(content: str, values: dict[str, str]) -> str:
    """`content` with each `{{key}}` replaced by its value (unknown keys render empty, as the service does)."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), content)


@lru_cache(maxsize=100_000)
def _parts(text: str) -> tuple[int, str]:
    counted = count_parts(text)
    return counted.parts, counted.encoding


def check_campaign_id(campaign_id: str) -> str:
    """Return `campaign_id` if it is a usable ledger key and RequestId prefix, else raise."""
    if not CAMPAIGN_ID.match(campaign_id):
        raise CampaignInputError(
            f"campaign id {campaign_id!r} must be 1-200 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return campaign_id


def request_id(campaign_id: str, batch_no: int, recipients: Sequence[PlannedRecipient], parameters: object = None) -> str:
    """The deterministic RequestId of a batch: campaign, batch number and a digest of its content."""
    payload = json.dumps(
        [[r.address, r.personalization] for r in recipients] + [parameters], sort_keys=True, ensure_ascii=False
    )
    digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
    value = f"sdsync:{campaign_id}:{batch_no}:{digest}"
    assert len(value) <= REQUEST_ID_MAX
    return value


def _chunks(items: Sequence[PlannedRecipient], size: int) -> Iterable[tuple[PlannedRecipient, ...]]:
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


def plan_sms(campaign_id: str, recipients: Sequence[Recipient], content: str, batch_size: int, max_parts: int) -> list[Batch]:
    """Batches of an SMS campaign; each recipient carries only the placeholders the content uses.

    Raises CampaignInputError when a recipient's rendered content takes more than `max_parts` parts.
    """
    keys = placeholders(content)
    planned = []
    too_long: list[tuple[str, int]] = []
    for recipient in recipients:
        personalization = {key: recipient.values[key] for key in keys}
        parts, _ = _parts(render(content, personalization))
        if parts > max_parts:
            too_long.append((recipient.address, parts))
        planned.append(PlannedRecipient(recipient.address, personalization, parts))
    if too_long:
        worst = max(too_long, key=lambda item: item[1])
        raise CampaignInputError(
            f"{len(too_long)} recipient(s) would get more than {max_parts} SMS parts (up to {worst[1]} for {worst[0]}); "
            "shorten the content or raise --max-parts"
        )
    return [
        Batch(number, request_id(campaign_id, number, chunk), chunk)
        for number, chunk in enumerate(_chunks(planned, batch_size), start=1)
    ]


def plan_whatsapp(
    campaign_id: str,
    recipients: Sequence[Recipient],
    body_columns: Sequence[str],
    header_columns: Sequence[str],
    batch_size: int,
) -> list[Batch]:
    """Batches of a WhatsApp template campaign: recipients grouped by identical parameters, then chunked."""
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[PlannedRecipient]] = {}
    for recipient in recipients:
        key = (tuple(recipient.values[c] for c in body_columns), tuple(recipient.values[c] for c in header_columns))
        groups.setdefault(key, []).append(PlannedRecipient(recipient.address, {}, None))
    batches = []
    for (body, header), members in groups.items():
        for chunk in _chunks(members, batch_size):
            number = len(batches) + 1
            parameters = [list(body), list(header)]
            batches.append(
                Batch(number, request_id(campaign_id, number, chunk, parameters), chunk,
                      body if body_columns else None, header if header_columns else None)
            )
    return batches


def seconds_for_calls(calls: int, limit_calls: int, limit_seconds: float) -> float:
    """Least time `calls` calls take under a sliding window of `limit_calls` per `limit_seconds`."""
    return max(0, math.ceil(calls / limit_calls) - 1) * limit_seconds


def estimate(batches: Sequence[Batch], content: str | None, limit_calls: int, limit_seconds: float) -> Estimate:
    """The recipients, SMS parts (for SMS content), calls and least duration of the planned batches."""
    recipients = [r for batch in batches for r in batch.recipients]
    histogram = Counter(r.parts for r in recipients if r.parts is not None)
    encodings: Counter[str] = Counter()
    if content is not None:
        for r in recipients:
            encodings[_parts(render(content, r.personalization))[1]] += 1
    total = sum(r.parts for r in recipients if r.parts is not None) if content is not None else None
    return Estimate(
        recipients=len(recipients),
        total_parts=total,
        parts_histogram=dict(sorted(histogram.items())),
        encodings=dict(encodings),
        calls=len(batches),
        seconds=seconds_for_calls(len(batches), limit_calls, limit_seconds),
    )
