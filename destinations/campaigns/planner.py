"""Planning a campaign: recipients, suppression, send times, arms and batches with their RequestIds.

`plan_campaign` runs the query, leaves out what must not be sent to, finds each recipient's send time
and cuts the recipients into batches. One SendMessage call carries up to `batch_size` recipients, each
with its own Personalization. A WhatsApp template call carries one BodyParameters/HeaderParameters set,
so recipients are grouped by identical parameters first and each group is split into batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Callable, Mapping, Sequence

from smartdialog_sync.sms_parts import cached_count_parts

from .arms import Arms, Assignment, Variant, interleave, split_recipients
from .batches import (
    Batch,
    PlannedRecipient,
    Scheduled,
    chunks,
    make_batch,
    placeholders,
    render,
)
from .config import MAX_RECIPIENTS_PER_CALL, CampaignSettings
from .errors import CampaignInputError
from .frequency import REASON_FREQUENCY_CAP
from .ledger import CampaignRecord
from .links import (
    KEY_PREFIX,
    LINK_PLACEHOLDER,
    Link,
    LinkCoder,
    LinkTracking,
    TrackedContent,
    check_base_url,
    track_content,
)
from .recipients import Recipient, RecipientSet, run_query, select_recipients
from .request import CampaignSpec
from .schedule import plan_schedule, zone_sources
from .spread import spread_batches, spread_line
from .suppression import OptOutSource, load_suppression
from .timezones import zone_of

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
        for chunk in chunks(members, batch_size):
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




@dataclass
class Plan:
    """A planned campaign: its record, batches, recipients and where suppressions came from."""

    record: CampaignRecord
    batches: list[Batch]
    recipients: RecipientSet
    suppression_sources: list[str] = field(default_factory=list)
    batch_size: int = MAX_RECIPIENTS_PER_CALL
    zone_sources: dict[str, int] = field(default_factory=dict)
    assignments: list[Assignment] = field(default_factory=list)  # every eligible recipient's arm (when arms are used)
    ignored_opt_outs: int = 0  # opted-out recipients sent to anyway (transactional, --ignore-opt-outs)
    spread_line: str | None = None
    links: list[Link] = field(default_factory=list)  # to be recorded before the first call



def plan_campaign(
    spec: CampaignSpec, settings: CampaignSettings, opt_outs: list[OptOutSource], max_recipients: int | None = None,
    sent_before: bool = False, capped: Mapping[str, int] | None = None, now: datetime | None = None,
    link_secret: bytes | None = None,
) -> Plan:
    """Run the query, leave out invalid/duplicate/suppressed/capped numbers, find send times and plan the batches.

    `max_recipients` is the per-call maximum learned for the connection; batches never exceed it.
    `sent_before`: campaigns were sent for this customer before, so no opt-out source at all refuses.
    `capped`: the addresses that reached the campaign's frequency cap (from the ledger), left out.
    `link_secret` makes the tracked links' codes (needed when `spec.links` is set).
    """
    now = now or datetime.now(timezone.utc)
    if spec.kind == "sms" and not spec.arms.variants and not spec.message.get("content", "").strip():
        raise CampaignInputError("--content is empty")
    campaign_id = spec.resolved_campaign_id()
    record, coder, tracked = _track_links(spec, campaign_id, link_secret)
    result = run_query(spec.source.url, spec.source.query)
    suppression = load_suppression(
        opt_outs, settings.stop_keywords, spec.source.url, spec.source.suppression_query, spec.source.phone_column,
        spec.customer_id if sent_before else None, spec.audience.ignore_opt_outs,
    )
    numbers = dict(suppression.numbers)
    if spec.audience.cap is not None:
        for number in capped or {}:
            numbers.setdefault(number, REASON_FREQUENCY_CAP)
    zone_columns = [name for name in (spec.source.timezone_column, spec.source.region_column) if name]
    columns = list(dict.fromkeys(spec.value_columns() + (zone_columns if spec.timing.scheduled else [])))
    recipients = select_recipients(result, spec.source.phone_column, columns, spec.source.region_column, numbers)
    if not recipients.recipients:
        counts = ", ".join(f"{n} {reason}" for reason, n in recipients.rejected_by_reason().items())
        raise CampaignInputError(f"no recipient left to send to ({counts})")
    schedule, sources = None, {}
    if spec.timing.scheduled:
        choices = {
            r.address: zone_of(r.address, r.values.get(spec.source.timezone_column or ""), r.values.get(spec.source.region_column or ""))
            for r in recipients.recipients
        }
        schedule = plan_schedule(spec.timing, {address: choice.zone for address, choice in choices.items()}, now)
        sources = zone_sources(choice.source for choice in choices.values())
    batch_size = min(settings.batch_size, max_recipients or settings.batch_size)

    def plan(members: Sequence[Recipient], label: str | None) -> list[Batch]:
        if spec.kind == "sms":
            own = tracked.get(label)
            content = own.content if own is not None else spec.contents()[label]
            links = (lambda address: coder.render(own, address, label)) if coder is not None and own is not None else None
            return plan_sms(campaign_id, members, content, batch_size, settings.max_parts, schedule, links)
        return plan_whatsapp(campaign_id, members, spec.body_columns, spec.header_columns, batch_size, schedule)

    assignments: list[Assignment] = []
    if not spec.arms.used:
        batches = plan(recipients.recipients, None)
    else:
        assignments, groups = split_recipients(spec.arms, campaign_id, recipients.recipients)
        if not any(groups.values()):
            raise CampaignInputError(f"every one of the {len(assignments):,} recipient(s) would be held out")
        if None in groups:
            batches = plan(groups[None], None)
        else:
            batches = interleave(spec.kind, campaign_id, {label: plan(members, label) for label, members in groups.items()})
    spread = None
    if spec.spread is not None:
        batches = spread_batches(spec.kind, campaign_id, batches, spec.spread, spec.timing.at, now, spec.timing.quiet_hours)
        spread = spread_line(batches, spec.spread, now)
    ignored_count = sum(1 for r in recipients.recipients if r.address in suppression.ignored_opt_outs)
    return Plan(record, batches, recipients, suppression.sources, batch_size, sources, assignments=assignments,
                ignored_opt_outs=ignored_count, spread_line=spread, links=coder.made if coder else [])


def _track_links(spec: CampaignSpec, campaign_id: str, link_secret: bytes | None
                 ) -> tuple[CampaignRecord, LinkCoder | None, dict[str | None, TrackedContent]]:
    """The record with its tracked links as `{{sdsync_link_N}}` placeholders (in the content, or in each variant's),
    the coder that makes their codes and the tracked content per variant label (None: the one content)."""
    record = spec.record()
    if spec.kind != "sms":
        return record, None, {}
    contents = spec.contents()
    if spec.links is None and not any(LINK_PLACEHOLDER.search(c) for c in contents.values()):
        return record, None, {}
    tracking = spec.links or LinkTracking(check_base_url(None))
    tracked = {label: track_content(content, tracking.track_all) for label, content in contents.items()}
    if not any(each.targets for each in tracked.values()):
        return record, None, {}
    assert link_secret is not None, "tracked links need the state's link secret"
    if None in tracked:
        record = replace(record, message={**record.message, "content": tracked[None].content})
    else:
        arms = Arms(tuple(Variant(v.label, v.weight, {**v.fields, "content": tracked[v.label].content})
                          for v in spec.arms.variants), spec.arms.holdout)
        record = replace(record, description={**record.description, "arms": arms.describe()})
    return record, LinkCoder(link_secret, tracking, campaign_id), tracked
