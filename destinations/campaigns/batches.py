"""What a campaign's batches are: their recipients, deterministic RequestIds, personalisation and estimates.

The planner (planner.py) makes them, the ledger keeps them, the sender sends them; every stage that changes a
batch (its number, recipients, send time or variant) gives it the RequestId of what it now is (`with_request_id`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from smartdialog_sync.constants import REQUEST_ID_MAX
from smartdialog_sync.sms_parts import cached_count_parts

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")  # as the service reads `{{ key }}`


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
    send_at: str | None = None  # SendDateTime (ISO 8601 UTC) when scheduled; None: at once
    time_zones: tuple[str, ...] = ()  # the recipients' zones (for quiet hours at send time)
    variant: str | None = None  # the A/B variant whose content the batch carries (arms.py); None: the campaign's


@dataclass(frozen=True)
class Scheduled:
    """When one recipient is sent to (None: at once) and the zone its local time is read in."""

    send_at: str | None
    zone: str


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


def request_id(campaign_id: str, batch_no: int, recipients: Sequence[PlannedRecipient], parameters: object = None) -> str:
    """The deterministic RequestId of a batch: campaign, batch number and a digest of its content."""
    payload = json.dumps(
        [[r.address, r.personalization] for r in recipients] + [parameters], sort_keys=True, ensure_ascii=False
    )
    digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
    value = f"sdsync:{campaign_id}:{batch_no}:{digest}"
    assert len(value) <= REQUEST_ID_MAX
    return value


def chunks(items: Sequence[PlannedRecipient], size: int) -> Iterable[tuple[PlannedRecipient, ...]]:
    """`items` in consecutive tuples of at most `size`."""
    for start in range(0, len(items), size):
        yield tuple(items[start : start + size])


def make_batch(
    kind: str,
    campaign_id: str,
    batch_no: int,
    recipients: tuple[PlannedRecipient, ...],
    body: tuple[str, ...] | None = None,
    header: tuple[str, ...] | None = None,
    send_at: str | None = None,
    time_zones: tuple[str, ...] = (),
    variant: str | None = None,
) -> Batch:
    """A batch with its deterministic RequestId (the same for the same campaign, number and content)."""
    parameters: object = None if kind == "sms" else [list(body or ()), list(header or ())]
    if send_at is not None:
        parameters = {"send_at": send_at} if parameters is None else [*parameters, send_at]  # type: ignore[list-item]
    if variant is not None:
        parameters = {"variant": variant, "parameters": parameters}
    return Batch(batch_no, request_id(campaign_id, batch_no, recipients, parameters), recipients, body, header,
                 send_at, time_zones, variant)


def with_request_id(kind: str, campaign_id: str, batch: Batch) -> Batch:
    """`batch` (a changed copy: its number, recipients, send time or variant) with the RequestId of what it now is."""
    return make_batch(kind, campaign_id, batch.batch_no, batch.recipients, batch.body_parameters,
                      batch.header_parameters, batch.send_at, batch.time_zones, batch.variant)


def split_batch(kind: str, campaign_id: str, batch: Batch, size: int, first_no: int) -> list[Batch]:
    """`batch` cut into batches of at most `size` recipients, numbered from `first_no`."""
    return [with_request_id(kind, campaign_id, replace(batch, batch_no=first_no + index, recipients=chunk))
            for index, chunk in enumerate(chunks(batch.recipients, size))]


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
            encodings[cached_count_parts(render(content, r.personalization)).encoding] += 1
    total = sum(r.parts for r in recipients if r.parts is not None) if content is not None else None
    return Estimate(
        recipients=len(recipients),
        total_parts=total,
        parts_histogram=dict(sorted(histogram.items())),
        encodings=dict(encodings),
        calls=len(batches),
        seconds=seconds_for_calls(len(batches), limit_calls, limit_seconds),
    )
