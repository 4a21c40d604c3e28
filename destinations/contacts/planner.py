"""The plan of a contact sync: the validated rows (contact_candidates) diffed against the last-applied state."""

from __future__ import annotations

from dataclasses import dataclass, field

from smartdialog_sync.api import RateLimit
from smartdialog_sync.sqlfiles import read_sql

from .mapping import ContactMapping
from .state import ContactStateStore

# What each mode does, in the words the plan shows.
MODE_WORDS: dict[str, str] = {
    "upsert": "creates new contacts and updates changed ones; deletes nothing",
    "mirror": "creates, updates, and deletes the contacts it manages that left the CRM (confirmed or --yes)",
    "create-only": "creates new contacts; never updates a contact that exists",
    "update-only": "updates existing contacts; never creates one (a row without a contact is reported no_contact)",
}


@dataclass(frozen=True)
class PlanSummary:
    """What a sync has to do: ops by kind, rows left alone, and rows it will not send."""

    source_rows: int
    valid: int
    rejected: int
    creates: int
    updates: int
    deletes: int
    not_updated: int = 0  # create-only: changed rows whose contact exists, left as it is
    no_contact: int = 0  # update-only: rows an earlier run found without a contact (same payload), not sent
    unknown_updates: int = 0  # updates of contacts the state does not know (update-only: no_contact if missing)
    normalised: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)
    unmapped: dict[str, str] = field(default_factory=dict)  # CRM column -> hint (ContactMapping.unmapped_hints)
    mode: str = "upsert"

    @property
    def mode_words(self) -> str:
        """The mode and what it does."""
        return f"{self.mode}: {MODE_WORDS[self.mode]}"

    @property
    def unchanged(self) -> int:
        """Valid rows whose contact is already as the CRM says: they cost no call."""
        return self.valid - self.creates - self.updates - self.not_updated - self.no_contact

    @property
    def operations(self) -> int:
        """API calls the plan needs when nothing has to be reconciled."""
        return self.creates + self.updates + self.deletes

    def describe(self) -> str:
        """The plan in one line."""
        text = (f"mode {self.mode_words}; {self.source_rows} CRM rows: {self.creates} creates, {self.updates} updates, {self.deletes} deletes, "
                f"{self.unchanged} unchanged, {self.rejected} rejected")
        for label, count in (("not updated (create-only)", self.not_updated),
                             ("no contact (update-only, not created)", self.no_contact),
                             ("updates of contacts the state does not know", self.unknown_updates)):
            if count:
                text += f", {count} {label}"
        for label, counts in (("normalised", self.normalised), ("fields left out", self.left_out)):
            if counts:
                text += f"; {label}: " + ", ".join(f"{name} {count}" for name, count in counts.items())
        if self.unmapped:
            text += "; columns mapped to nothing: " + ", ".join(f"{column} ({hint})" for column, hint in self.unmapped.items())
        return text


@dataclass(frozen=True)
class SyncPlan:
    """A contact sync's plan as the run reports it: the summary, the in-flight ops it reads back first, a title."""

    summary: PlanSummary
    to_reconcile: int
    title: str

    def log_lines(self) -> list[str]:
        """The plan as plain lines, for a log (the CLI draws a table)."""
        return [f"{self.title}: {self.summary.describe()}; {self.to_reconcile} in-flight ops to read back"]


def seconds_under_limit(calls: int, limit: RateLimit) -> float:
    """Least time `calls` calls take under a sliding window of `limit` (an empty window to start with)."""
    if calls <= limit.calls:
        return 0.0
    return (calls - limit.calls) * limit.seconds / limit.calls


def plan_changes(store: ContactStateStore, customer: str, group_service: str, mode: str = "upsert",
                 mapping: ContactMapping | None = None) -> PlanSummary:
    """Diff contact_candidates against contact_state into contact_plan for `mode` (upsert, mirror, create-only,
    update-only) and count it (with the CRM columns `mapping` maps to nothing)."""
    params = {"customer": customer, "group_service": group_service, "mode": mode}
    store.con.execute(read_sql("contacts_plan.sql"), params)
    row = store.con.execute(read_sql("contacts_plan_summary.sql"), params).fetchall()[0]
    counts: dict[str, dict[str, int]] = {"normalised": {}, "left out": {}}
    for kind, name, rows in store.con.execute(read_sql("contacts_field_counts.sql")).fetchall():
        counts[kind][name] = int(rows)
    return PlanSummary(*(int(value) for value in row), normalised=counts["normalised"], left_out=counts["left out"],
                       unmapped=mapping.unmapped_hints() if mapping else {}, mode=mode)
