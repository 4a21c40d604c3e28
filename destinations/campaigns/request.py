"""A campaign from specification to plan: validation, fingerprint, recipients, suppression and batches."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal, Mapping, Sequence
from urllib.parse import urlsplit

from smartdialog_sync.api import models
from smartdialog_sync.constants import CUSTOMER_DATA_MAX
from smartdialog_sync.state.location import hide_password

from .arms import Arms, Assignment, Variant, interleave, split_recipients
from .config import MAX_RECIPIENTS_PER_CALL, CampaignSettings
from .errors import CampaignInputError, LedgerConflict
from .frequency import (
    MARKETING,
    REASON_FREQUENCY_CAP,
    Audience,
    FrequencyCap,
    parse_purpose,
)
from .ledger import CampaignRecord, utc_now
from .links import (
    LINK_PLACEHOLDER,
    Link,
    LinkCoder,
    LinkTracking,
    TrackedContent,
    check_base_url,
    is_link_placeholder,
    track_content,
)
from .planner import Batch, check_campaign_id, placeholders, plan_sms, plan_whatsapp
from .recipients import Recipient, RecipientSet, run_query, select_recipients
from .schedule import QuietHours, Timing, parse_clock, plan_schedule, zone_sources
from .spread import Spread, spread_batches, spread_line
from .suppression import OptOutSource, load_suppression
from .timezones import zone_of

TEMPLATE_PARAMETER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


@dataclass(frozen=True)
class Source:
    """Where the recipients come from."""

    url: str
    query: str
    phone_column: str = "phone"
    region_column: str | None = None
    suppression_query: str | None = None
    timezone_column: str | None = None


@dataclass(frozen=True)
class CampaignSpec:
    """What to send to whom: `message` holds the request fields every batch shares (JSON values)."""

    kind: Literal["sms", "whatsapp"]
    customer_id: str
    service_id: str
    source: Source
    message: dict[str, Any]
    body_columns: tuple[str, ...] = ()
    header_columns: tuple[str, ...] = ()
    campaign_id: str | None = None
    timing: Timing = Timing()
    arms: Arms = Arms()
    audience: Audience = Audience()
    spread: Spread | None = None
    links: LinkTracking | None = None

    def description(self) -> dict[str, Any]:
        """Everything that identifies the campaign (the source's password hidden).

        The per-recipient timing, the time-zone column, the arms (variants, holdout), the purpose, cap and
        spread appear only when used, so campaigns planned before they existed keep their fingerprint.
        """
        extra: dict[str, Any] = {**self.audience.describe(), **(self.spread.describe() if self.spread else {})}
        if self.source.timezone_column:
            extra["timezone_column"] = self.source.timezone_column
        if self.links is not None:
            extra["links"] = self.links.describe()
        if self.timing.scheduled or (self.spread and self.timing.at):
            extra["timing"] = {"at": self.timing.at.isoformat() if self.timing.at else None, **self.timing.describe()}
        if self.arms.used:
            extra["arms"] = self.arms.describe()
        return {**extra,
            "kind": self.kind, "customer_id": self.customer_id, "service_id": self.service_id,
            "source": hide_password(self.source.url), "query": self.source.query,
            "phone_column": self.source.phone_column, "region_column": self.source.region_column,
            "suppression_query": self.source.suppression_query, "message": self.message,
            "body_columns": list(self.body_columns), "header_columns": list(self.header_columns),
        }

    def fingerprint(self) -> str:
        """A digest of the description: a rerun of the campaign id must match it."""
        return hashlib.sha256(json.dumps(self.description(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def resolved_campaign_id(self) -> str:
        """The given campaign id, or one derived from the fingerprint (so the same command resumes)."""
        return check_campaign_id(self.campaign_id or f"c-{self.fingerprint()[:16]}")

    def value_columns(self) -> list[str]:
        """The query columns the messages use besides the phone."""
        if self.kind == "sms":
            contents = [v.fields["content"] for v in self.arms.variants] or [self.message["content"]]
            return list(dict.fromkeys(name for content in contents for name in placeholders(content)
                                       if not is_link_placeholder(name)))
        return list(dict.fromkeys(self.body_columns + self.header_columns))

    def record(self) -> CampaignRecord:
        """The ledger record of this campaign."""
        return CampaignRecord(
            self.resolved_campaign_id(), self.kind, self.fingerprint(), self.customer_id, self.service_id,
            self.message, self.description(), utc_now(),
        )


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


def timing_of(record: CampaignRecord) -> Timing:
    """The timing a campaign was planned with (quiet hours apply again at send time)."""
    described = record.description.get("timing") or {}
    quiet = described.get("quiet_hours")
    return Timing(quiet_hours=QuietHours.parse(quiet) if quiet else None)


def parse_timing(at: str | None, local_time: str | None, quiet_hours: str | None) -> Timing:
    """--at, --local-time and --quiet-hours (or [campaigns] quiet_hours; "off" turns it off) as a Timing."""
    send_time = parse_send_time(at)
    return Timing(
        at=datetime.fromisoformat(send_time) if send_time else None,
        local_time=parse_clock(local_time, "--local-time") if local_time else None,
        quiet_hours=QuietHours.parse(quiet_hours) if quiet_hours and quiet_hours.strip().lower() != "off" else None,
    )


def parse_audience(purpose: str, frequency_cap: str | None, ignore_opt_outs: bool,
                   settings: CampaignSettings) -> Audience:
    """--purpose, --frequency-cap (or [campaigns] frequency_cap; "off" turns it off) and --ignore-opt-outs."""
    cap = FrequencyCap.parse(frequency_cap if frequency_cap is not None else settings.frequency_cap)
    return Audience(parse_purpose(purpose), cap, ignore_opt_outs)


def build_spec(
    kind: Literal["sms", "whatsapp"],
    customer_id: str,
    service_id: str,
    source: Source,
    message: dict[str, Any],
    timing: Timing,
    campaign_id: str | None = None,
    body_columns: Sequence[str] = (),
    header_columns: Sequence[str] = (),
    arms: Arms = Arms(),
    audience: Audience | None = None,
    spread: Spread | None = None,
    links: LinkTracking | None = None,
) -> CampaignSpec:
    """A campaign from its options: `message` holds the request fields (None values dropped).

    Without per-recipient timing or a spread, --at is the message's SendDateTime; with them, each batch
    carries its own. An SMS's ad flag (`ad_message`: True, False or None) follows the purpose when None:
    marketing is an ad.
    """
    audience = audience or Audience()
    fields = {key: value for key, value in message.items() if value is not None}
    if kind == "sms":  # None: follow the purpose; False: not an ad, left out of the request (the service's default)
        ad = message.get("ad_message")
        fields.pop("ad_message", None)
        if ad or (ad is None and audience.purpose == MARKETING):
            fields["ad_message"] = True
    if not timing.scheduled and spread is None and timing.at is not None:
        fields["send_date_time"] = timing.at.isoformat()
    return CampaignSpec(kind, customer_id, service_id, source, fields, tuple(body_columns), tuple(header_columns),
                        campaign_id, timing, arms, audience, spread, links)


def parse_send_time(text: str | None) -> str | None:
    """Parse --at (ISO 8601, naive = UTC) to an ISO string with its offset; None when not given."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CampaignInputError(f"--at {text!r} is not an ISO 8601 date-time (e.g. 2026-12-01T09:00:00+02:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()


def check_future(send_time: str | None, now: datetime | None = None) -> None:
    """A new campaign's send time (from parse_send_time) must not be in the past."""
    if send_time and datetime.fromisoformat(send_time) <= (now or datetime.now(timezone.utc)):
        raise CampaignInputError(f"--at {send_time} is in the past")


def check_common_fields(customer_data: str | None, dlr_url: str | None) -> None:
    """CustomerData within the API's limit, DlrUrl an absolute http(s) URL."""
    if customer_data is not None and len(customer_data) > CUSTOMER_DATA_MAX:
        raise CampaignInputError(f"--customer-data is {len(customer_data)} characters; the API allows {CUSTOMER_DATA_MAX}")
    if dlr_url is not None:
        parts = urlsplit(dlr_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CampaignInputError(f"--dlr-url {dlr_url!r} must be an absolute http(s) URL")


def check_existing(spec: CampaignSpec, existing: CampaignRecord | None) -> None:
    """Refuse to reuse a campaign id for a different campaign."""
    if existing is not None and existing.fingerprint != spec.fingerprint():
        before, now = existing.description, spec.description()
        changed = sorted(key for key in set(before) | set(now) if before.get(key) != now.get(key))
        raise LedgerConflict(
            f"campaign {existing.campaign_id} was planned on {existing.created_at} with a different "
            f"{', '.join(changed) or 'definition'}; use a new --campaign id for a new campaign"
        )


def resolve_template(templates: Sequence[models.WhatsAppTemplate], name: str) -> models.WhatsAppTemplate:
    """The template whose id or display name is `name`; a clear error listing the known ones otherwise."""
    matches = [t for t in templates if t.id == name] or [t for t in templates if t.display_name == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise CampaignInputError(f"template name {name!r} is ambiguous; use its id: {', '.join(t.id for t in matches)}")
    known = ", ".join(f"{t.display_name} ({t.id})" for t in templates) or "none"
    raise CampaignInputError(f"unknown WhatsApp template {name!r}; the customer's templates are: {known}")


def check_template_parameters(template: models.WhatsAppTemplate, body_columns: Sequence[str]) -> None:
    """The number of --body-params must match the template's numbered placeholders (none for a template
    without any), as the service checks per call; unchecked only when the service gave no content."""
    if template.raw_content is None:
        return
    expected = len(set(TEMPLATE_PARAMETER.findall(template.raw_content)))
    if len(body_columns) != expected:
        raise CampaignInputError(
            f"template {template.display_name or template.id} takes {expected} body parameter(s); "
            f"--body-params gives {len(body_columns)}"
        )


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
            content = own.content if own is not None else _content_of(spec, label)
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


def _content_of(spec: CampaignSpec, label: str | None) -> str:
    """The SMS content of variant `label` (None: the campaign's one content)."""
    return spec.arms.fields_of(label)["content"] if label is not None else spec.message.get("content", "")


def _track_links(spec: CampaignSpec, campaign_id: str, link_secret: bytes | None
                 ) -> tuple[CampaignRecord, LinkCoder | None, dict[str | None, TrackedContent]]:
    """The record with its tracked links as `{{sdsync_link_N}}` placeholders (in the content, or in each variant's),
    the coder that makes their codes and the tracked content per variant label (None: the one content)."""
    record = spec.record()
    if spec.kind != "sms":
        return record, None, {}
    contents = {v.label: v.fields["content"] for v in spec.arms.variants} if spec.arms.variants else {None: spec.message.get("content", "")}
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
