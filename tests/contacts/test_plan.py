"""Validation and the diff, on a real SQLite CRM and a real DuckDB state file (no API involved)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from smartdialog_sync.destinations.contacts.mapping import resolve_mapping
from smartdialog_sync.destinations.contacts.planner import plan_changes
from smartdialog_sync.destinations.contacts.reader import crm_statement, read_crm
from smartdialog_sync.destinations.contacts.state import (
    ContactStateStore,
    Outcome,
    open_contact_state,
)
from smartdialog_sync.destinations.contacts.validation import validate_candidates

from .crm import Crm, contact
from .state_db import postgres_state_database

CUSTOMER, GROUP = "demo-customer", "crm-group"


def plan(store: ContactStateStore, crm: Crm, mirror: bool = False, **mapping_options):
    table = read_crm(crm.url, crm_statement(table=crm.table))
    mapping = resolve_mapping(table.column_names, key="id", **mapping_options)
    validate_candidates(store, table, mapping, CUSTOMER, GROUP, "FI")
    return plan_changes(store, CUSTOMER, GROUP, "mirror" if mirror else "upsert")


def rejections(store: ContactStateStore) -> dict[str, str]:
    rows = store.con.execute("SELECT source_key, reject_reason FROM contact_candidates WHERE reject_reason IS NOT NULL").fetchall()
    return dict(rows)


def apply_plan_to_state(store: ContactStateStore, run_id: int = 1) -> None:
    """Record the whole plan as applied, as the applier does after each 2xx."""
    store.write_journal(run_id, CUSTOMER, GROUP)
    ops = list(store.planned_ops(run_id))
    store.mark_inflight(ops)
    store.record_outcomes(CUSTOMER, GROUP, [Outcome(op, "done", "test") for op in ops])


@pytest.fixture(params=["duckdb-state", "postgres-state"])
def store(request, tmp_path):
    """The state on each engine: a DuckDB file, then a fresh PostgreSQL database (the plan runs in DuckDB)."""
    if request.param == "duckdb-state":
        with open_contact_state(tmp_path / "state.duckdb") as opened:
            yield opened
    else:
        with postgres_state_database() as url, open_contact_state(url) as opened:
            yield opened


def test_messy_phones_normalise_to_e164_with_row_regions(store, crm):
    crm.write([
        contact(1, phone="040 100 0001"),
        contact(2, phone="+358-40-100-0002"),
        contact(3, phone="00358401000003"),
        contact(4, phone="070-123 45 67", region="SE"),
        contact(5, phone="(0)30 1234567", region="de"),
        contact(6, phone=" +44 7911 123456 "),
    ])
    summary = plan(store, crm)
    phones = [row[0] for row in store.con.execute("SELECT phone FROM contact_candidates ORDER BY row_no").fetchall()]
    assert phones == ["+358401000001", "+358401000002", "+358401000003", "+46701234567", "+49301234567", "+447911123456"]
    regions = store.con.execute("SELECT payload->>'$.phoneNumberRegions[0]' FROM contact_candidates ORDER BY row_no").fetchall()
    assert [row[0] for row in regions] == ["FI", "FI", "FI", "SE", "DE", "FI"]
    assert (summary.creates, summary.rejected) == (6, 0)


def warnings_of(store: ContactStateStore) -> dict[str, list[tuple[str, str]]]:
    rows = store.con.execute(
        "SELECT source_key, w.field, w.value FROM (SELECT source_key, unnest(warnings) AS w FROM contact_candidates "
        "WHERE reject_reason IS NULL) ORDER BY source_key, w.field").fetchall()
    found: dict[str, list[tuple[str, str]]] = {}
    for key, name, value in rows:
        found.setdefault(key, []).append((name, value))
    return found


def payloads(store: ContactStateStore) -> dict[str, dict]:
    rows = store.con.execute("SELECT source_key, payload FROM contact_candidates WHERE reject_reason IS NULL").fetchall()
    return {key: json.loads(payload) for key, payload in rows}


def test_only_rows_without_a_usable_phone_are_rejected(store, crm):
    crm.write([
        contact(1, phone="not a phone"),
        contact(2, phone="040 12"),
        contact(3, phone=None),
        contact(8, phone="+358401000009"),
        contact(9, phone="040 100 0009"),
        contact(10, gender="x", birth_year=1850, country_code="Atlantis"),
    ])
    summary = plan(store, crm)
    reasons = rejections(store)
    assert set(reasons) == {"1", "2", "3", "8", "9"}
    assert "unparseable" in reasons["1"]
    assert "invalid phone number" in reasons["2"]
    assert reasons["3"] == "empty phone number"
    assert reasons["8"] == reasons["9"] == "duplicate phone +358401000009 (2 CRM rows)"
    assert (summary.valid, summary.rejected, summary.creates) == (1, 5, 1)
    assert warnings_of(store) == {"10": [("birthYear", "1850"), ("countryCode", "Atlantis"), ("gender", "x")]}
    sent = payloads(store)["10"]
    assert sent["gender"] is None and sent["birthYear"] is None and sent["countryCode"] is None
    assert sent["firstName"] == "First10" and sent["phone"] == "+358401000010"
    assert summary.left_out == {"birthYear": 1, "countryCode": 1, "gender": 1}


def test_optional_fields_are_normalised_or_left_out_with_a_warning(store, crm):
    next_year = dt.date.today().year + 1
    crm.write([
        contact(1, country_code="FI", gender="N"),
        contact(2, country_code=" swe ", gender="nainen"),
        contact(3, country_code="Finland", gender="mies", birth_year="1985-04-12"),
        contact(4, country_code="Sverige", gender="Kvinna", birth_year="12.4.1985"),
        contact(5, country_code="Deutschland", gender=" MANN ", birth_year="1985.0"),
        contact(6, country_code="de", gender="Frau", birth_year=next_year),
        contact(7, country_code="XYZ", gender="male", birth_year="nineteen"),
        contact(8, country_code="no such land", gender="other", first_name="  Padded  "),
    ])
    summary = plan(store, crm)
    assert rejections(store) == {}
    sent = {key: (p["countryCode"], p["gender"], p["birthYear"]) for key, p in payloads(store).items()}
    assert sent == {
        "1": ("FIN", None, 1951),
        "2": ("SWE", "Female", 1952),
        "3": ("FIN", "Male", 1985),
        "4": ("SWE", "Female", 1985),
        "5": ("DEU", "Male", 1985),
        "6": ("DEU", "Female", None),
        "7": ("XYZ", "Male", None),
        "8": (None, "Other", 1958),
    }
    assert payloads(store)["8"]["firstName"] == "Padded"
    assert warnings_of(store) == {
        "1": [("gender", "N")],
        "6": [("birthYear", str(next_year))],
        "7": [("birthYear", "nineteen")],
        "8": [("countryCode", "no such land")],
    }
    assert summary.left_out == {"birthYear": 2, "countryCode": 1, "gender": 1}
    assert summary.normalised["countryCode"] == 6 and summary.normalised["gender"] == 7
    assert summary.normalised["birthYear"] == 3
    assert "fields left out: birthYear 2" in summary.describe()


def test_diff_gives_creates_updates_deletes_and_nothing_for_unchanged(store, crm):
    crm.write([contact(n) for n in range(1, 6)])
    assert plan(store, crm, mirror=True).creates == 5
    apply_plan_to_state(store, run_id=1)

    unchanged = plan(store, crm, mirror=True)
    assert (unchanged.creates, unchanged.updates, unchanged.deletes, unchanged.unchanged) == (0, 0, 0, 5)

    crm.write([contact(1, first_name="Renamed"), contact(2), contact(3), contact(4), contact(7, phone=contact(4)["phone"]),
               contact(6)])
    changed = plan(store, crm, mirror=True)
    ops = dict(store.con.execute("SELECT phone, op FROM contact_plan").fetchall())
    # 4 is rejected (its phone is now on two rows) but still in the CRM: neither updated nor deleted.
    # 5 left the CRM: deleted in mirror mode.
    assert ops == {"+358401000001": "update", "+358401000006": "create", "+358401000005": "delete"}
    assert (changed.unchanged, changed.rejected) == (2, 2)
    assert plan(store, crm, mirror=False).deletes == 0


def test_custom_properties_are_sent_only_when_listed_and_change_the_hash(store, crm):
    crm.write([contact(1, tier="gold")])
    plan(store, crm)
    assert "customContactProperties\":null" in store.con.execute("SELECT payload FROM contact_plan").fetchall()[0][0]
    plan(store, crm, custom_properties=["tier"])
    assert '"customContactProperties":[{"name":"tier","value":"gold"}]' in store.con.execute("SELECT payload FROM contact_plan").fetchall()[0][0]
    apply_plan_to_state(store)
    crm.write([contact(1, tier="silver")])
    assert plan(store, crm, custom_properties=["tier"]).updates == 1


def test_phones_are_normalised_once_across_runs(store, crm):
    crm.write([contact(n, phone=f"040 10{n:05d}") for n in range(1, 21)])
    table = read_crm(crm.url, crm_statement(table=crm.table))
    mapping = resolve_mapping(table.column_names)
    assert validate_candidates(store, table, mapping, CUSTOMER, GROUP, "FI") == 20
    assert validate_candidates(store, table, mapping, CUSTOMER, GROUP, "FI") == 0


def test_rows_unchanged_since_applied_skip_validation_but_still_count_for_duplicates(store, crm):
    crm.write([contact(n) for n in range(1, 4)])
    plan(store, crm, mirror=True)
    apply_plan_to_state(store)
    assert plan(store, crm, mirror=True).unchanged == 3
    assert store.con.execute("SELECT count(*) FROM crm_rows WHERE applied").fetchall() == [(3,)]
    assert store.con.execute("SELECT count(*) FROM contact_candidates").fetchall() == [(0,)]

    crm.write([contact(n) for n in range(1, 4)] + [contact(9, phone="040 100 0002")])
    summary = plan(store, crm, mirror=True)
    assert rejections(store) == {key: "duplicate phone +358401000002 (2 CRM rows)" for key in ("2", "9")}
    assert (summary.creates, summary.updates, summary.deletes, summary.unchanged) == (0, 0, 0, 2)

    # A copy of an applied row (same content, another key) has the same raw hash: both are duplicates.
    crm.write([contact(n) for n in range(1, 4)] + [contact(3, id=10)])
    summary = plan(store, crm, mirror=True)
    assert rejections(store) == {key: "duplicate phone +358401000003 (2 CRM rows)" for key in ("3", "10")}
    assert (summary.creates, summary.updates, summary.deletes, summary.unchanged) == (0, 0, 0, 2)


def test_a_new_default_region_revalidates_rows_without_changing_contacts(store, crm):
    crm.write([contact(n, phone=f"+3584010{n:05d}") for n in range(1, 4)])
    plan(store, crm)
    apply_plan_to_state(store)
    table = read_crm(crm.url, crm_statement(table=crm.table))
    validate_candidates(store, table, resolve_mapping(table.column_names, key="id"), CUSTOMER, GROUP, "SE")
    assert store.con.execute("SELECT count(*) FROM contact_candidates WHERE payload IS NULL").fetchall() == [(0,)]
    # The phoneNumberRegions sent change with the default region, so the payloads do.
    assert plan_changes(store, CUSTOMER, GROUP, "mirror").updates == 3
