"""The plan of a contact sync: CRM rows staged in DuckDB, validated, and diffed against the last-applied state."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from smartdialog_sync.api import RateLimit
from smartdialog_sync.sqlfiles import read_sql

from .mapping import ROW_NO_COLUMN, ContactMapping, source_view_sql
from .state import ContactStateStore
from .validation import validate_candidates

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


def seconds_under_limit(calls: int, limit: RateLimit) -> float:
    """Least time `calls` calls take under a sliding window of `limit` (an empty window to start with)."""
    if calls <= limit.calls:
        return 0.0
    return (calls - limit.calls) * limit.seconds / limit.calls


def stage_crm(store: ContactStateStore, crm: pa.Table, mapping: ContactMapping) -> None:
    """Expose the CRM rows, numbered, to DuckDB as `crm_raw` and their mapped projection as the `crm_source` view."""
    numbered = crm.append_column(ROW_NO_COLUMN, pa.array(np.arange(1, crm.num_rows + 1, dtype=np.int64)))
    store.con.register("crm_raw", numbered)
    store.con.execute(source_view_sql(mapping))


def prepare_candidates(store: ContactStateStore, crm: pa.Table, mapping: ContactMapping, customer: str,
                       group_service: str, default_region: str) -> int:
    """Load the group's state, stage and validate the CRM rows into contact_candidates; return how many phones
    were normalised."""
    store.load_group(customer, group_service)
    stage_crm(store, crm, mapping)
    return validate_candidates(store, customer, group_service, default_region)


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
