"""A campaign from specification to plan: validation, fingerprint, recipients, suppression and batches."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, Sequence
from urllib.parse import urlsplit

from smartdialog_sync.api import models
from smartdialog_sync.api.config import hide_password
from smartdialog_sync.constants import CUSTOMER_DATA_MAX

from .config import CampaignSettings
from .errors import CampaignInputError, LedgerConflict
from .ledger import CampaignRecord, utc_now
from .planner import Batch, check_campaign_id, placeholders, plan_sms, plan_whatsapp
from .recipients import RecipientSet, run_query, select_recipients
from .suppression import OptOutSource, load_suppression

TEMPLATE_PARAMETER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


@dataclass(frozen=True)
class Source:
    """Where the recipients come from."""

    url: str
    query: str
    phone_column: str = "phone"
    region_column: str | None = None
    suppression_query: str | None = None


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

    def description(self) -> dict[str, Any]:
        """Everything that identifies the campaign (the source's password hidden)."""
        return {
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
            return placeholders(self.message["content"])
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
    """The number of --body-params must match the template's numbered placeholders, when it has any."""
    expected = len(set(TEMPLATE_PARAMETER.findall(template.raw_content or "")))
    if expected and len(body_columns) != expected:
        raise CampaignInputError(
            f"template {template.display_name or template.id} takes {expected} body parameter(s); "
            f"--body-params gives {len(body_columns)}"
        )


def plan_campaign(spec: CampaignSpec, settings: CampaignSettings, opt_outs: list[OptOutSource]) -> Plan:
    """Run the query, leave out invalid/duplicate/suppressed numbers and plan the batches."""
    if spec.kind == "sms" and not spec.message.get("content", "").strip():
        raise CampaignInputError("--content is empty")
    campaign_id = spec.resolved_campaign_id()
    result = run_query(spec.source.url, spec.source.query)
    suppression = load_suppression(
        opt_outs, settings.stop_keywords, spec.source.url, spec.source.suppression_query, spec.source.phone_column
    )
    recipients = select_recipients(
        result, spec.source.phone_column, spec.value_columns(), spec.source.region_column, suppression.numbers
    )
    if not recipients.recipients:
        counts = ", ".join(f"{n} {reason}" for reason, n in recipients.rejected_by_reason().items())
        raise CampaignInputError(f"no recipient left to send to ({counts})")
    if spec.kind == "sms":
        batches = plan_sms(campaign_id, recipients.recipients, spec.message["content"], settings.batch_size, settings.max_parts)
    else:
        batches = plan_whatsapp(campaign_id, recipients.recipients, spec.body_columns, spec.header_columns, settings.batch_size)
    return Plan(spec.record(), batches, recipients, suppression.sources)
