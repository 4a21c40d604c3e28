"""What the user asked for: the campaign request as given, its parsing and checks, and the campaign spec it makes.

`CampaignRequest` holds a campaign's options as a user gives them (`sdsync send`/`send-whatsapp`, Dagster's
`campaign_job`, a declared `[syncs.NAME]` campaign); `CampaignRequest.resolve()` is the one place they are
parsed, checked and given their `[campaigns]` fallbacks, making the `CampaignSpec` the planner works from.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from datetime import datetime, timezone
from typing import Any, Callable, Literal, NamedTuple, Sequence
from urllib.parse import urlsplit

from smartdialog_sync.api import ClientSettings, SmartDialogClient, models
from smartdialog_sync.constants import CUSTOMER_DATA_MAX
from smartdialog_sync.gsm_safe import make_gsm_safe, replacement_note
from smartdialog_sync.state.location import hide_password

from .arms import Arms, arms_of_options, sms_arms
from .batches import placeholders
from .config import CampaignSettings, resolve_campaign_settings
from .errors import CampaignInputError, LedgerConflict
from .frequency import MARKETING, Audience, FrequencyCap, parse_purpose
from .ledger import CampaignRecord, utc_now
from .links import LinkTracking, is_link_placeholder, link_tracking
from .proofs import parse_proof_numbers
from .schedule import QuietHours, Timing, parse_clock
from .spread import Spread

CAMPAIGN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
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


def _ignore(_: str) -> None:
    return None


@dataclass(frozen=True)
class CampaignRequest:
    """A campaign as a user gives it: the options of `sdsync send`/`send-whatsapp`, of a Dagster run or of a
    declared campaign, unparsed (`resolve` parses and checks them).

    An SMS (`kind` sms) has a `sender` and a `content` or `variants` (LABEL[:WEIGHT]=TEXT); a WhatsApp
    campaign a `template` or `variants` (LABEL[:WEIGHT]=TEMPLATE, names or ids) with the column names of its
    parameters and its buttons parsed already (type, data). `quiet_hours`, `frequency_cap` and
    `batch_size` fall back to `[campaigns]` when None.
    """

    kind: Literal["sms", "whatsapp"]
    customer: str
    service: str
    source: Source
    campaign_id: str | None = None
    variants: Sequence[str] = ()
    holdout: str | None = None
    dlr_url: str | None = None
    customer_data: str | None = None
    at: str | None = None
    local_time: str | None = None
    quiet_hours: str | None = None
    purpose: str = MARKETING
    frequency_cap: str | None = None
    ignore_opt_outs: bool = False
    spread: str | None = None
    send_rate: str | None = None
    batch_size: int | None = None
    proof_to: str | None = None
    sender: str | None = None  # SMS
    content: str | None = None
    gsm_safe: bool = False
    ad: bool | None = None
    max_parts: int | None = None
    track_links: bool = False
    link_base_url: str | None = None
    template: str | None = None  # WhatsApp
    body_columns: tuple[str, ...] = ()
    header_columns: tuple[str, ...] = ()
    buttons: tuple[tuple[str, str], ...] = ()
    attachment_uri: str | None = None
    sms_fallback: bool = False
    content_option: str = "--content"  # how errors name the content: Dagster and [syncs] call it `content`

    def resolve(self, client_settings: ClientSettings | None = None, note: Callable[[str], None] = _ignore
                ) -> ResolvedCampaign:
        """The campaign of these options: its spec, its settings and the proof numbers.

        WhatsApp templates are looked up (and their parameters checked) through `client_settings`; `note` hears
        what --gsm-safe replaced. CampaignInputError (exit 2) names the first bad option.
        """
        settings = resolve_campaign_settings(self.batch_size, self.max_parts)
        check_common_fields(self.customer_data, self.dlr_url)
        message, arms, links = self._sms(note) if self.kind == "sms" else self._whatsapp(client_settings)
        timing = parse_timing(self.at, self.local_time,
                              self.quiet_hours if self.quiet_hours is not None else settings.quiet_hours)
        spec = build_spec(self.kind, self.customer, self.service, self.source, message, timing, self.campaign_id,
                          self.body_columns, self.header_columns, arms,
                          parse_audience(self.purpose, self.frequency_cap, self.ignore_opt_outs, settings),
                          Spread.parse(self.spread, self.send_rate), links)
        return ResolvedCampaign(spec, settings, parse_proof_numbers(self.proof_to))

    def _sms(self, note: Callable[[str], None]) -> tuple[dict[str, Any], Arms, LinkTracking | None]:
        content, arms = sms_arms(self.content, self.variants, self.holdout, self.content_option,
                                 _gsm_safe(note) if self.gsm_safe else None)
        message = {"sender": self.sender, "content": content, "dlr_url": self.dlr_url,
                   "customer_data": self.customer_data, "ad_message": self.ad}
        links = link_tracking(list(arms.contents(content or "").values()), self.track_links, self.link_base_url)
        return message, arms, links

    def _whatsapp(self, client_settings: ClientSettings | None) -> tuple[dict[str, Any], Arms, None]:
        assert client_settings is not None, "a WhatsApp campaign's templates are looked up through the service"

        @cache
        def templates() -> list[models.WhatsAppTemplate]:  # listed once, when the first template name is checked
            with SmartDialogClient(client_settings) as api:
                return api.get_customer_whatsapp_templates(self.customer)

        def template_id(name: str) -> str:
            """The id of the customer's template `name` (display name or id), checked against the body columns."""
            found = resolve_template(templates(), name)
            check_template_parameters(found, self.body_columns)
            return found.id

        arms = arms_of_options(self.template, self.variants, self.holdout, "--template", "template_name", template_id)
        message = {"template_name": template_id(self.template) if self.template else None,
                   "buttons": [list(button) for button in self.buttons] or None, "attachment_uri": self.attachment_uri,
                   "use_sms_fallback": True if self.sms_fallback else None, "dlr_url": self.dlr_url,
                   "customer_data": self.customer_data}
        return message, arms, None


def _gsm_safe(note: Callable[[str], None]) -> Callable[[str], str]:
    """--gsm-safe: a content with its GSM-7 look-alikes replaced, telling `note` what was replaced."""
    def rewrite(content: str) -> str:
        replaced = replacement_note(content)
        if replaced:
            note(replaced)
        return make_gsm_safe(content)
    return rewrite


class ResolvedCampaign(NamedTuple):
    """A request made into what `run_campaign` takes."""

    spec: CampaignSpec
    settings: CampaignSettings
    proof_to: tuple[str, ...]


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
            return list(dict.fromkeys(name for content in self.contents().values() for name in placeholders(content)
                                       if not is_link_placeholder(name)))
        return list(dict.fromkeys(self.body_columns + self.header_columns))

    def contents(self) -> dict[str | None, str]:
        """The SMS content of each variant by its label, or the campaign's one content under None."""
        return self.arms.contents(self.message.get("content", ""))

    def record(self) -> CampaignRecord:
        """The ledger record of this campaign."""
        return CampaignRecord(
            self.resolved_campaign_id(), self.kind, self.fingerprint(), self.customer_id, self.service_id,
            self.message, self.description(), utc_now(),
        )


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


def check_campaign_id(campaign_id: str) -> str:
    """Return `campaign_id` if it is a usable ledger key and RequestId prefix, else raise."""
    if not CAMPAIGN_ID.match(campaign_id):
        raise CampaignInputError(
            f"campaign id {campaign_id!r} must be 1-200 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return campaign_id
