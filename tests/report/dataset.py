"""Build a pulled dataset for the report tests with the project's own code paths.

Webhook payloads go through the receiver's validation (receiver.payloads) into a real SQLite journal,
sends into a real campaign ledger (destinations.campaigns.ledger), and the pull pipeline (the code
behind `sdsync pull`) loads the journal and the ledger into DuckDB.
Group contacts are created in the emulator and read back by the source's group_contacts resource.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from smartdialog_sync.destinations.campaigns.arms import Assignment
from smartdialog_sync.destinations.campaigns.ledger import (
    CampaignRecord,
    Ledger,
    SentRecipient,
)
from smartdialog_sync.destinations.campaigns.batches import (
    Batch,
    PlannedRecipient,
    make_batch,
)
from smartdialog_sync.pipelines.pull_pipeline import (
    DUCKDB_FILE_NAME,
    PullOptions,
    run_pull,
)
from smartdialog_sync.receiver.payloads import dlr_row, inbound_row

from smartdialog_sync.api import ClientSettings, SmartDialogClient, models
from smartdialog_sync.journal import ClickRow, open_journal

SERVICE_NUMBER = "+358401000001"
CUSTOMER, GROUP_SERVICE = "demo-customer", "crm-group"
JOURNAL_RESOURCES = ("inbound_messages", "delivery_reports", "sent_messages", "campaigns", "campaign_assignments",
                     "tracked_links", "link_clicks")


def phone(i: int) -> str:
    """A valid Finnish mobile number for each i < 100000."""
    return f"+3584020{i:05d}"


def iso(moment: datetime) -> str:
    """An ISO 8601 UTC time with a Z suffix, as SmartDialog sends it."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class DatasetBuilder:
    """Collect sends, delivery reports and inbound messages, then pull them into DuckDB (or PostgreSQL)."""

    work_dir: Path
    settings: ClientSettings
    inbound: list[bytes] = field(default_factory=list)
    reports: list[list[tuple[str, str]]] = field(default_factory=list)
    group_phones: list[str] = field(default_factory=list)
    links: list[tuple[str, str, str | None, str, str]] = field(default_factory=list)
    clicks: list[ClickRow] = field(default_factory=list)

    @property
    def journal_path(self) -> Path:
        return self.work_dir / "journal.sqlite"

    @property
    def ledger_path(self) -> Path:
        return self.work_dir / "campaigns.sqlite"

    @property
    def duckdb_path(self) -> Path:
        return self.work_dir / DUCKDB_FILE_NAME

    def send(self, campaign_id: str, addresses: list[str], message_id: str, send_at: str | None = None) -> list[str]:
        """Record a one-batch campaign as confirmed sent now (scheduled for `send_at`); return the recipient ids."""
        record = CampaignRecord(campaign_id, "sms", "fingerprint", CUSTOMER, "sms-twoway",
                                {"sender": "Demo", "content": "hello"}, {}, "2026-11-01T00:00:00+00:00")
        batch = Batch(1, f"{campaign_id}-1", tuple(PlannedRecipient(a, {}, 1) for a in addresses), send_at=send_at)
        recipient_ids = [f"{message_id}-r{i}" for i in range(len(addresses))]
        ledger = Ledger.open(self.ledger_path)
        try:
            ledger.create_campaign(record, [batch], [])
            ledger.mark_sent(campaign_id, batch, message_id,
                             [SentRecipient(a, r, 1) for a, r in zip(addresses, recipient_ids)])
        finally:
            ledger.close()
        return recipient_ids

    def report(self, message_id: str, recipient_id: str, address: str, status: str, at: datetime,
               error_code: str | None = None) -> None:
        """A delivery report callback (the query string SmartDialog appends to the DlrUrl)."""
        params = {"campaign": "x", "messageId": message_id, "recipientId": recipient_id, "address": address,
                  "status": status, "statusTime": iso(at)}
        if error_code:
            params["errorCode"] = error_code
        self.reports.append(parse_qsl(urlencode(params)))

    def reply(self, sender: str, content: str, at: datetime, message_id: str, protocol: str = "SMS") -> None:
        """An inbound message (NewMessage webhook body) from `sender` to the two-way service."""
        body = {"sender": sender, "recipient": SERVICE_NUMBER, "content": content, "timestamp": iso(at),
                "protocol": protocol, "attachments": [], "messageId": message_id}
        self.inbound.append(json.dumps(body).encode())

    def link(self, campaign_id: str, address: str, variant: str | None = None) -> str:
        """A tracked link recorded for `address` in `campaign_id`; returns its code."""
        code = f"{len(self.links):011d}"
        self.links.append((code, campaign_id, variant, address, "https://shop.example.com/sale"))
        return code

    def click(self, code: str, at: datetime, kind: str = "click", agent: str = "mobile") -> None:
        """A request of a tracked link, as the receiver journals it."""
        self.clicks.append(ClickRow(f"click-{len(self.clicks)}", code, kind, agent, int(at.timestamp() * 1_000_000)))

    def group_contact(self, phone_number: str, first_name: str, last_name: str) -> None:
        """Create a contact in the emulator's group service `crm-group`; the pull reads it back."""
        with SmartDialogClient(self.settings) as api:
            api.create_group_contact(CUSTOMER, GROUP_SERVICE, models.GroupContact(
                phone=phone_number, first_name=first_name, last_name=last_name, active=True))
        self.group_phones.append(phone_number)

    def load(self) -> Path:
        """Journal the webhooks, pull them and the ledger into DuckDB and return the DuckDB file."""
        self.pull("duckdb", str(self.duckdb_path))
        return self.duckdb_path

    def pull(self, destination: str, credentials: str) -> None:
        """Pull the journal (written on the first pull) and the ledger into `destination` at `credentials`."""
        if not self.journal_path.exists():
            journal = open_journal(str(self.journal_path))
            try:
                journal.write_batch([inbound_row(body) for body in self.inbound], [dlr_row(q) for q in self.reports])
                journal.write_links(self.links, 1)
                journal.write_batch([], [], [], self.clicks)
            finally:
                journal.close()
        resources = list(JOURNAL_RESOURCES) + (["group_contacts"] if self.group_phones else [])
        options = PullOptions(
            destination=destination, resources=resources, credentials=credentials, journal_url=str(self.journal_path),
            source_options={"ledger_path": str(self.ledger_path), "group_phones": self.group_phones or None,
                            "group_customer": CUSTOMER, "group_service": GROUP_SERVICE},
        )
        run_pull(options, self.settings)


def from_now(seconds: float) -> datetime:
    """A UTC time `seconds` from now (negative: in the past)."""
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def fill_campaigns(data: DatasetBuilder) -> None:
    """Campaign `spring` to 10 (8 delivered, 1 failed, 1 pending; 2 replies, one STOP) and `winter` to 4
    (3 delivered, 1 expired, one opt-out), a group contact for a failed address."""
    spring = [phone(i) for i in range(10)]
    ids = data.send("spring", spring, "msg-spring")
    for address, recipient_id in zip(spring[:8], ids[:8]):
        data.report("msg-spring", recipient_id, address, "Delivered", from_now(5))
    data.report("msg-spring", ids[7], spring[7], "Failed", from_now(2), "UNDELIVERABLE")  # older: Delivered wins
    data.report("msg-spring", ids[8], spring[8], "Failed", from_now(5), "UNDELIVERABLE")
    data.reply(spring[0], "Thanks, see you!", from_now(60), "in-1")
    data.reply(spring[1], "  stop \n", from_now(90), "in-2")
    data.reply(spring[2], "STOP", from_now(-86400), "in-3")  # before the send: neither reply nor opt-out
    data.reply(phone(99), "hello?", from_now(30), "in-4")  # not a recipient
    winter = [phone(i) for i in range(20, 24)]
    winter_ids = data.send("winter", winter, "msg-winter")
    for address, recipient_id in zip(winter, winter_ids):
        data.report("msg-winter", recipient_id, address, "Expired" if address == winter[3] else "Delivered",
                    from_now(5), "EXPIRED" if address == winter[3] else None)
    data.reply(winter[0], "Lopeta.", from_now(60), "in-5")
    data.group_contact(spring[8], "Maija", "Meikäläinen")
    codes = [data.link("spring", address) for address in spring]  # 3 of 10 click, one twice; a preview apart
    data.click(codes[0], from_now(60))
    data.click(codes[0], from_now(2 * 3600), agent="desktop")
    data.click(codes[1], from_now(120))
    data.click(codes[2], from_now(30 * 3600))
    data.click(codes[3], from_now(10), kind="preview", agent="preview")


def fill_variants(data: DatasetBuilder, size: int, replies: dict[str, int], first: int = 400) -> dict[str, list[str]]:
    """Campaign `ab` as `sdsync send --variant A=a --variant B=b --holdout` records it: `size` recipients sent
    variant A, `size` variant B (one batch each, all delivered), `size` held out; `replies[arm]` of each arm reply
    after the send (the first two with STOP); one held-out address replied before the send (not counted)."""
    arms = ("A", "B", "holdout")
    members = {arm: [phone(first + index * size + i) for i in range(size)] for index, arm in enumerate(arms)}
    description = {"arms": {"holdout": 0.33, "variants": [{"label": "A", "weight": 1, "fields": {"content": "a"}},
                                                          {"label": "B", "weight": 1, "fields": {"content": "b"}}]}}
    record = CampaignRecord("ab", "sms", "fingerprint", CUSTOMER, "sms-twoway", {"sender": "Demo"}, description,
                            "2026-11-01T00:00:00+00:00")
    batches = [make_batch("sms", "ab", n, tuple(PlannedRecipient(a, {}, 1) for a in members[arm]), variant=arm)
               for n, arm in ((1, "A"), (2, "B"))]
    ledger = Ledger.open(data.ledger_path)
    try:
        ledger.create_campaign(record, batches, [], [
            Assignment(a, None if arm == "holdout" else arm, arm == "holdout") for arm in arms for a in members[arm]])
        for batch in batches:
            ledger.mark_sent("ab", batch, f"msg-{batch.variant}",
                             [SentRecipient(r.address, f"{batch.variant}-{r.address}", 1) for r in batch.recipients])
    finally:
        ledger.close()
    for arm in arms:
        if arm != "holdout":
            for address in members[arm]:
                data.report(f"msg-{arm}", f"{arm}-{address}", address, "Delivered", from_now(5))
        for i, address in enumerate(members[arm][:replies[arm]]):
            data.reply(address, "STOP" if i < 2 else "Thanks", from_now(60), f"in-{arm}-{i}")
    data.reply(members["holdout"][-1], "Hello", from_now(-86400), "in-ab-before")
    return members
