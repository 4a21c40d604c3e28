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
from typing import Callable, Iterable, Mapping, Sequence

from smartdialog_sync.constants import REQUEST_ID_MAX
from smartdialog_sync.sms_parts import cached_count_parts

from .errors import CampaignInputError
from .links import KEY_PREFIX
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


def split_batch(kind: str, campaign_id: str, batch: Batch, size: int, first_no: int) -> list[Batch]:
    """`batch` cut into batches of at most `size` recipients, numbered from `first_no`."""
    return [
        make_batch(kind, campaign_id, first_no + index, chunk, batch.body_parameters, batch.header_parameters,
                   batch.send_at, batch.time_zones, batch.variant)
        for index, chunk in enumerate(_chunks(batch.recipients, size))
    ]


GroupKey = tuple[str, tuple[str, ...], tuple[str, ...]]


def _batches(
    kind: str,
    campaign_id: str,
    groups: dict[GroupKey, list[PlannedRecipient]],
    batch_size: int,
    schedule: Mapping[str, Scheduled] | None,
    has_body: bool = False,
    has_header: bool = False,
) -> list[Batch]:
    """Each group (send time, parameters) cut into batches, earliest send time first (at once before all)."""
    batches: list[Batch] = []
    for (send_at, body, header), members in sorted(groups.items(), key=lambda item: item[0][0]):
        for chunk in _chunks(members, batch_size):
            zones = tuple(sorted({schedule[r.address].zone for r in chunk})) if schedule else ()
            batches.append(make_batch(kind, campaign_id, len(batches) + 1, chunk, body if has_body else None,
                                      header if has_header else None, send_at or None, zones))
    return batches


def _send_key(schedule: Mapping[str, Scheduled] | None, address: str) -> str:
    """The send time as a sortable group key ("" = at once)."""
    return (schedule[address].send_at or "") if schedule else ""


def plan_sms(
    campaign_id: str,
    recipients: Sequence[Recipient],
    content: str,
    batch_size: int,
    max_parts: int,
    schedule: Mapping[str, Scheduled] | None = None,
    links: Callable[[str], dict[str, str]] | None = None,
) -> list[Batch]:
    """Batches of an SMS campaign, per send time; each recipient carries only the placeholders the content uses.

    `links(address)` gives a recipient's tracked-link values (`{{sdsync_link_N}}` of links.track_content).
    Raises CampaignInputError when a recipient's rendered content takes more than `max_parts` parts.
    """
    keys = [key for key in placeholders(content) if not key.startswith(KEY_PREFIX)]
    groups: dict[GroupKey, list[PlannedRecipient]] = {}
    too_long: list[tuple[str, int]] = []
    for recipient in recipients:
        personalization = {key: recipient.values[key] for key in keys}
        if links is not None:
            personalization.update(links(recipient.address))
        parts = cached_count_parts(render(content, personalization)).parts
        if parts > max_parts:
            too_long.append((recipient.address, parts))
        key = (_send_key(schedule, recipient.address), (), ())
        groups.setdefault(key, []).append(PlannedRecipient(recipient.address, personalization, parts))
    if too_long:
        worst = max(too_long, key=lambda item: item[1])
        raise CampaignInputError(
            f"{len(too_long)} recipient(s) would get more than {max_parts} SMS parts (up to {worst[1]} for {worst[0]}); "
            "shorten the content or raise --max-parts"
        )
    return _batches("sms", campaign_id, groups, batch_size, schedule)


def plan_whatsapp(
    campaign_id: str,
    recipients: Sequence[Recipient],
    body_columns: Sequence[str],
    header_columns: Sequence[str],
    batch_size: int,
    schedule: Mapping[str, Scheduled] | None = None,
) -> list[Batch]:
    """Batches of a WhatsApp template campaign: recipients grouped by send time and identical parameters, then chunked."""
    groups: dict[GroupKey, list[PlannedRecipient]] = {}
    for recipient in recipients:
        key = (_send_key(schedule, recipient.address), tuple(recipient.values[c] for c in body_columns),
               tuple(recipient.values[c] for c in header_columns))
        groups.setdefault(key, []).append(PlannedRecipient(recipient.address, {}, None))
    return _batches("whatsapp", campaign_id, groups, batch_size, schedule, bool(body_columns), bool(header_columns))


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
