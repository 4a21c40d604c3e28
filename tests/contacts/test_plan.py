"""Validation and the diff, on a real SQLite CRM and a real DuckDB state file (no API involved)."""

from __future__ import annotations

import datetime as dt

import pytest

from smartdialog_sync.destinations.contacts.mapping import resolve_mapping
from smartdialog_sync.destinations.contacts.planner import plan_changes, prepare_candidates
from smartdialog_sync.destinations.contacts.reader import crm_statement, read_crm
from smartdialog_sync.destinations.contacts.state import ContactStateStore

from .crm import Crm, contact

CUSTOMER, GROUP = "demo-customer", "crm-group"


def plan(store: ContactStateStore, crm: Crm, mirror: bool = False, **mapping_options):
    table = read_crm(crm.url, crm_statement(table=crm.table))
    mapping = resolve_mapping(table.column_names, key="id", **mapping_options)
    prepare_candidates(store, table, mapping, CUSTOMER, GROUP, "FI")
    return plan_changes(store, CUSTOMER, GROUP, mirror)


def rejections(store: ContactStateStore) -> dict[str, str]:
    rows = store.con.execute("SELECT source_key, reject_reason FROM contact_candidates WHERE reject_reason IS NOT NULL").fetchall()
    return dict(rows)


def apply_plan_to_state(store: ContactStateStore, run_id: int = 1) -> None:
    """Record the whole plan as applied, as the applier does after each 2xx."""
    store.write_journal(run_id, CUSTOMER, GROUP)
    for op in list(store.planned_ops(run_id)):
        store.mark_inflight(op)
        store.mark_done(op, CUSTOMER, GROUP, "test")


@pytest.fixture
def store(tmp_path):
    with ContactStateStore(tmp_path / "state.duckdb") as opened:
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


def test_invalid_rows_are_rejected_with_key_and_reason(store, crm):
    next_year = dt.date.today().year + 1
    crm.write([
        contact(1, phone="not a phone"),
        contact(2, phone="040 12"),
        contact(3, phone=None),
        contact(4, gender="x"),
        contact(5, birth_year=1850),
        contact(6, birth_year=next_year),
        contact(7, country_code="FI"),
        contact(8, phone="+358401000009"),
        contact(9, phone="040 100 0009"),
        contact(10, gender="f", country_code="swe"),
    ])
    summary = plan(store, crm)
    reasons = rejections(store)
    assert set(reasons) == {str(n) for n in range(1, 10)}
    assert "unparseable" in reasons["1"]
    assert "invalid phone number" in reasons["2"]
    assert reasons["3"] == "empty phone number"
    assert "gender x" in reasons["4"]
    assert "implausible birth year 1850" in reasons["5"]
    assert f"implausible birth year {next_year}" in reasons["6"]
    assert "country code FI is not 3 letters" in reasons["7"]
    assert reasons["8"] == reasons["9"] == "duplicate phone +358401000009 (2 CRM rows)"
    assert (summary.valid, summary.rejected, summary.creates) == (1, 9, 1)
    payload = store.con.execute("SELECT payload FROM contact_plan").fetchall()[0][0]
    assert '"gender":"Female"' in payload and '"countryCode":"SWE"' in payload


def test_diff_gives_creates_updates_deletes_and_nothing_for_unchanged(store, crm):
    crm.write([contact(n) for n in range(1, 6)])
    assert plan(store, crm, mirror=True).creates == 5
    apply_plan_to_state(store, run_id=1)

    unchanged = plan(store, crm, mirror=True)
    assert (unchanged.creates, unchanged.updates, unchanged.deletes, unchanged.unchanged) == (0, 0, 0, 5)

    crm.write([contact(1, first_name="Renamed"), contact(2), contact(3), contact(4, gender="x"), contact(6)])
    changed = plan(store, crm, mirror=True)
    ops = dict(store.con.execute("SELECT phone, op FROM contact_plan").fetchall())
    # 4 is rejected but still in the CRM: neither updated nor deleted. 5 left the CRM: deleted in mirror mode.
    assert ops == {"+358401000001": "update", "+358401000006": "create", "+358401000005": "delete"}
    assert (changed.unchanged, changed.rejected) == (2, 1)
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
    assert prepare_candidates(store, table, mapping, CUSTOMER, GROUP, "FI") == 20
    assert prepare_candidates(store, table, mapping, CUSTOMER, GROUP, "FI") == 0


def test_rows_unchanged_since_applied_skip_validation_but_still_count_for_duplicates(store, crm):
    crm.write([contact(n) for n in range(1, 4)])
    plan(store, crm, mirror=True)
    apply_plan_to_state(store)
    assert plan(store, crm, mirror=True).unchanged == 3
    assert store.con.execute("SELECT count(*) FROM contact_candidates WHERE payload IS NULL").fetchall() == [(3,)]

    crm.write([contact(n) for n in range(1, 4)] + [contact(9, phone="040 100 0002")])
    summary = plan(store, crm, mirror=True)
    assert rejections(store) == {key: "duplicate phone +358401000002 (2 CRM rows)" for key in ("2", "9")}
    assert (summary.creates, summary.updates, summary.deletes, summary.unchanged) == (0, 0, 0, 2)


def test_a_new_default_region_revalidates_rows_without_changing_contacts(store, crm):
    crm.write([contact(n, phone=f"+3584010{n:05d}") for n in range(1, 4)])
    plan(store, crm)
    apply_plan_to_state(store)
    table = read_crm(crm.url, crm_statement(table=crm.table))
    prepare_candidates(store, table, resolve_mapping(table.column_names, key="id"), CUSTOMER, GROUP, "SE")
    assert store.con.execute("SELECT count(*) FROM contact_candidates WHERE payload IS NULL").fetchall() == [(0,)]
    # The phoneNumberRegions sent change with the default region, so the payloads do.
    assert plan_changes(store, CUSTOMER, GROUP, mirror=True).updates == 3
