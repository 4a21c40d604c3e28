"""`sdsync contacts sync` end to end: a real CRM, the real CLI as a subprocess, the emulator over HTTP."""

from __future__ import annotations


import pytest
from smartdialog_sync.api import SmartDialogClient, resolve_settings
from smartdialog_sync.pipelines.operations.sections_sync import contacts_status
from smartdialog_sync.pipelines.operations.options import StatusOptions
from tests.support.cli import clean_env, run_sdsync

from .crm import contact, sqlite_crm
from .sync_cli import CUSTOMER, GROUP, SyncCli, expected_group


# The core tests run on either engine of the contact state.
BOTH_STATES = pytest.mark.parametrize("state", ["duckdb", "postgres"], indirect=True)


@pytest.fixture
def cli(emulator, crm, state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return SyncCli(emulator, crm, tmp_path, state=state)


@BOTH_STATES
def test_first_sync_then_a_resync_without_change_makes_no_call(cli, emulator, crm):
    rows = [contact(n) for n in range(1, 41)]
    crm.write(rows)
    cli.run()
    assert cli.group() == expected_group(rows)
    assert emulator.calls("CreateGroupContact") == 40
    run = cli.last_run()
    # 40 creates and the group-service check (made while the state holds no contact of the group)
    assert (run["status"], run["creates"], run["applied"], run["calls"]) == ("completed", 40, 40, 41)

    before = emulator.stats()["calls_total"]
    cli.run()
    assert emulator.stats()["calls_total"] == before
    run = cli.last_run()
    assert (run["unchanged"], run["calls"], run["creates"], run["updates"]) == (40, 0, 0, 0)


@BOTH_STATES
def test_edits_and_deletes_in_mirror_mode_leave_unmanaged_contacts(cli, emulator, crm):
    rows = [contact(n) for n in range(1, 21)]
    crm.write(rows)
    cli.run()
    with SmartDialogClient(resolve_settings(base_url=emulator.base_url, data_dir=str(cli.workdir / "data"),
                                            rate_limit="100000/60")) as api:
        api.create_group_contact(CUSTOMER, GROUP, {"phone": "+358409999999", "first_name": "NotFromCrm"})

    rows = [contact(n, first_name="Edited") if n <= 5 else contact(n) for n in range(1, 16)] + [contact(30)]
    crm.write(rows)
    cli.run()  # upsert: no deletes
    assert len(cli.group()) == 22
    cli.run("--mode", "mirror", "--yes")
    expected = expected_group(rows)
    group = cli.group()
    assert group.pop("+358409999999")["firstName"] == "NotFromCrm"
    assert group == expected
    run = cli.last_run()
    assert (run["creates"], run["updates"], run["deletes"], run["unchanged"]) == (0, 0, 5, 16)


def test_mirror_deletes_need_confirmation_without_a_terminal(cli, crm):
    crm.write([contact(1), contact(2)])
    cli.run()
    crm.write([contact(1)])
    done = cli.run("--mode", "mirror", expect=2)
    assert "--yes" in done


@BOTH_STATES
def test_messy_phones_and_rejected_rows(cli, emulator, crm):
    crm.write([
        contact(1, phone="040 100 0001"),
        contact(2, phone="+358-40-100-0002"),
        contact(3, phone="00358 40 100 0003"),
        contact(4, phone="070-123 45 67", region="SE"),
        contact(5, phone="not a phone"),
        contact(6, phone="0401000007"),
        contact(7, phone="+358401000007"),
    ])
    done = cli.run()
    assert sorted(cli.group()) == ["+358401000001", "+358401000002", "+358401000003", "+46701234567"]
    rejected = dict(cli.query("SELECT source_key, reason FROM rejected_rows"))
    assert set(rejected) == {"5", "6", "7"}
    assert "duplicate phone +358401000007" in rejected["6"]
    assert "rejected" in done.lower()
    sent = emulator.contacts(CUSTOMER, GROUP)
    assert {c["phone"]: c["phoneNumberRegions"] for c in sent}["+46701234567"] == ["SE"]


@BOTH_STATES
def test_a_bad_optional_field_is_left_out_and_the_contact_synced(cli, emulator, crm):
    crm.write([
        contact(1, country_code="FI", gender="N"),
        contact(2, country_code="Sverige", gender="kvinna", birth_year="1990-05-01"),
        contact(3, gender="robot", birth_year="1850"),
    ])
    planned = cli.run("--dry-run")
    assert "countryCode normalised" in planned and "gender left out (field warning)" in planned
    done = cli.run()
    group = emulator.contacts(CUSTOMER, GROUP)
    by_phone = {c["phone"]: c for c in group}
    assert by_phone["+358401000001"]["countryCode"] == "FIN" and "gender" not in by_phone["+358401000001"]
    assert by_phone["+358401000001"]["firstName"] == "First1"
    assert (by_phone["+358401000002"]["countryCode"], by_phone["+358401000002"]["gender"],
            by_phone["+358401000002"]["birthYear"]) == ("SWE", "Female", 1990)
    assert "gender" not in by_phone["+358401000003"] and "birthYear" not in by_phone["+358401000003"]
    assert cli.query("SELECT count(*) FROM rejected_rows") == [(0,)]
    run_id = cli.last_run()["run_id"]
    warnings = cli.query("SELECT source_key, field, value, reason FROM field_warnings WHERE run_id = ? ORDER BY 1, 2, 3", [run_id])
    assert [row[:3] for row in warnings] == [("1", "gender", "N"), ("3", "birthYear", "1850"), ("3", "gender", "robot")]
    assert "implausible birth year 1850" in warnings[1][3]
    assert "Fields left out of synced contacts" in done and "robot" in done
    cli.run()
    assert cli.last_run()["calls"] == 0
    (group,) = contacts_status(StatusOptions(data_dir=cli.data_dir, contacts_state=str(cli.state)))["groups"]
    assert group["field_warnings"] == 3, "status counts the warnings in effect, not 0 for a run that found rows unchanged"
    crm.write([contact(1, country_code="FI", gender="N"),
               contact(2, country_code="Sverige", gender="kvinna", birth_year="1990-05-01"), contact(3)])  # 3 fixed
    cli.run()
    (group,) = contacts_status(StatusOptions(data_dir=cli.data_dir, contacts_state=str(cli.state)))["groups"]
    assert group["field_warnings"] == 1, "the fixed row's warnings are gone, row 1's gender is still left out"


@BOTH_STATES
def test_first_sync_into_a_populated_group_adopts_instead_of_duplicating(cli, emulator, crm):
    rows = [contact(n) for n in range(1, 11)]
    with SmartDialogClient(resolve_settings(base_url=emulator.base_url, data_dir=str(cli.workdir / "data"),
                                            rate_limit="100000/60")) as api:
        for row in rows[:4]:
            api.create_group_contact(CUSTOMER, GROUP, {"phone": row["phone"], "first_name": "Old"})
    crm.write(rows)
    cli.run()
    assert cli.group() == expected_group(rows)
    results = dict(cli.query("SELECT result, count(*) FROM contact_ops WHERE status = 'done' GROUP BY result"))
    assert results == {"created": 6, "existed: updated": 4}
    cli.run()
    assert cli.last_run()["calls"] == 0


@BOTH_STATES
def test_dry_run_plans_and_sends_nothing(cli, emulator, crm):
    crm.write([contact(n) for n in range(1, 6)] + [contact(9, phone="x")])
    done = cli.run("--dry-run")
    assert emulator.stats()["calls_by_operation"] == {"GetCustomerServices": 1}  # the group-service check only
    assert "API calls needed" in done and "nothing was sent" in done
    planned = cli.query("SELECT op, count(*) FROM planned_ops GROUP BY op")
    assert planned == [("create", 5)]
    assert cli.last_run()["status"] == "dry-run"


@BOTH_STATES
def test_max_calls_spreads_a_first_sync_over_several_runs(cli, emulator, crm):
    rows = [contact(n) for n in range(1, 26)]
    crm.write(rows)
    outputs = []
    for expected_total in (9, 19, 25):  # the first run's group-service check counts as one of its calls
        outputs.append(cli.run("--max-calls", "10"))
        assert len(cli.group()) == expected_total
    assert "16 operations left for the next run" in outputs[0]
    assert emulator.calls("CreateGroupContact") == 25
    assert [row[0] for row in cli.query("SELECT status FROM sync_runs ORDER BY run_id")] == ["partial", "partial", "completed"]


@BOTH_STATES
def test_delete_all_empties_the_group_and_the_state(cli, emulator, crm):
    crm.write([contact(n) for n in range(1, 6)])
    cli.run()
    cli.run(subcommand="delete-all", expect=2)  # no terminal, no --yes
    assert len(cli.group()) == 5
    cli.run("--yes", subcommand="delete-all")
    assert cli.group() == {}
    assert cli.query("SELECT count(*) FROM contact_state") == [(0,)]
    cli.run()
    assert len(cli.group()) == 5


@pytest.mark.parametrize("bad_args, message", [
    (["--query", "select 1 as x", "--table", "contacts"], "exactly one of"),
    (["--default-region", "XX"], "unknown phone region"),
    (["--map", "nope=phone"], "no column 'nope'"),
])
def test_bad_usage_exits_2_before_any_call(cli, emulator, crm, bad_args, message):
    crm.write([contact(1)])
    done = cli.run(*bad_args, expect=2)
    assert message in done
    assert emulator.stats()["calls_total"] == 0


def test_mapping_from_dlt_config(emulator, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    crm = sqlite_crm(tmp_path)
    cli = SyncCli(emulator, crm, tmp_path)
    crm.write([contact(n) for n in range(1, 4)])
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text('[contacts.mapping]\nmobile = "phone"\nnick = "first_name"\n')
    query = f"SELECT id, phone AS mobile, first_name AS nick, tier FROM {crm.table}"
    arguments = cli.arguments()
    del arguments[arguments.index("--table"):arguments.index("--table") + 2]
    process = run_sdsync(clean_env(), *arguments, "--query", query, cwd=tmp_path)
    assert process.returncode == 0, process.stdout + process.stderr
    assert {phone: c["firstName"] for phone, c in cli.group().items()} == {
        f"+3584010{n:05d}": f"First{n}" for n in range(1, 4)}
