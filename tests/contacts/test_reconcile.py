"""An op left in flight by a dead run is reconciled by reading the contact, never re-applied blindly."""

from __future__ import annotations

import pytest
from smartdialog_sync.destinations.contacts.mapping import resolve_mapping
from smartdialog_sync.destinations.contacts.planner import plan_changes
from smartdialog_sync.destinations.contacts.reader import crm_statement, read_crm
from smartdialog_sync.destinations.contacts.state import open_contact_state
from smartdialog_sync.destinations.contacts.validation import validate_candidates

from smartdialog_sync.api import SmartDialogClient, resolve_settings

from .crm import contact, sqlite_crm
from .sync_cli import CUSTOMER, GROUP, SyncCli, expected_group


@pytest.fixture
def cli(emulator, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return SyncCli(emulator, sqlite_crm(tmp_path), tmp_path)


def die_in_flight(cli: SyncCli, call_went_through: bool) -> str:
    """Journal a plan and mark its first op in flight, as a run killed during that op's call leaves it;
    return the op's phone. With `call_went_through`, the call reached the service before the death."""
    with open_contact_state(cli.state) as store:
        run_id = store.start_run(CUSTOMER, GROUP, "upsert", False)
        table = read_crm(cli.crm.url, crm_statement(table=cli.crm.table))
        validate_candidates(store, table, resolve_mapping(table.column_names, key="id"), CUSTOMER, GROUP, "FI")
        plan_changes(store, CUSTOMER, GROUP, "upsert")
        store.write_journal(run_id, CUSTOMER, GROUP)
        op = next(store.planned_ops(run_id))
        store.mark_inflight([op])
    if call_went_through:
        settings = resolve_settings(base_url=cli.emulator.base_url, data_dir=str(cli.workdir / "data"), rate_limit="100000/60")
        with SmartDialogClient(settings) as api:
            api.create_group_contact(CUSTOMER, GROUP, {k: v for k, v in op.payload.items() if v is not None})
    return op.phone


@pytest.mark.parametrize("call_went_through", [True, False])
def test_an_inflight_create_is_settled_by_a_read(cli, emulator, call_went_through):
    rows = [contact(n) for n in range(1, 6)]
    cli.crm.write(rows)
    phone = die_in_flight(cli, call_went_through)
    creates_before = emulator.stats()["calls_by_operation"].get("CreateGroupContact", 0)

    cli.run()
    assert cli.group() == expected_group(rows)
    stats = emulator.stats()
    assert stats["calls_by_operation"]["GetGroupContact"] == 1
    assert stats["calls_by_operation"]["CreateGroupContact"] - creates_before == (4 if call_went_through else 5)
    assert "409" not in stats["responses_by_status"]
    run = cli.last_run()
    assert (run["reconciled"], run["creates"]) == (1, 4 if call_went_through else 5)
    settled = cli.query("SELECT status, result FROM contact_ops WHERE phone = ? AND run_id = 1", [phone])
    expected = [("done", "reconciled: applied")] if call_went_through else [("superseded", "reconciled: not applied")]
    assert settled == expected
    assert cli.query("SELECT count(*) FROM contact_ops WHERE run_id = 1 AND status = 'planned'") == [(0,)]


def test_an_inflight_update_whose_call_was_lost_is_repeated(cli, emulator):
    rows = [contact(n) for n in range(1, 4)]
    cli.crm.write(rows)
    cli.run()
    rows[0] = contact(1, first_name="Changed")
    cli.crm.write(rows)
    die_in_flight(cli, call_went_through=False)
    cli.run()
    assert cli.group() == expected_group(rows)
    assert emulator.stats()["calls_by_operation"]["UpdateGroupContact"] == 1
