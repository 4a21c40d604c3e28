"""Sync modes (create-only, update-only), the group-service check and unmapped CRM columns, on the emulator."""

from __future__ import annotations

import pytest

from smartdialog_sync.api import SmartDialogClient, resolve_settings

from .crm import Crm, contact, sqlite_crm
from .sync_cli import CUSTOMER, GROUP, SyncCli

BOTH_STATES = pytest.mark.parametrize("state", ["duckdb", "postgres"], indirect=True)


@pytest.fixture
def cli(emulator, state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    crm = sqlite_crm(tmp_path)
    yield SyncCli(emulator, crm, tmp_path, state=state)
    crm.dispose()


def someone_else(cli: SyncCli) -> SmartDialogClient:
    """A client changing the group behind the sync's back."""
    return SmartDialogClient(resolve_settings(base_url=cli.emulator.base_url, data_dir=str(cli.workdir / "data"),
                                              rate_limit="100000/60"))


def add_unmanaged(cli: SyncCli, *phones: str) -> None:
    """Contacts put into the group by someone else (first name "Old")."""
    with someone_else(cli) as api:
        for phone in phones:
            api.create_group_contact(CUSTOMER, GROUP, {"phone": phone, "first_name": "Old"})


def first_names(cli: SyncCli) -> dict[str, str | None]:
    return {phone: c["firstName"] for phone, c in cli.group().items()}


@BOTH_STATES
def test_create_only_creates_new_contacts_and_never_updates_one(cli, emulator):
    cli.crm.write([contact(1), contact(2)])
    cli.run()
    add_unmanaged(cli, contact(3)["phone"])
    cli.crm.write([contact(1, first_name="Edited"), contact(2), contact(3), contact(4)])

    planned = cli.run("--mode", "create-only", "--dry-run")
    assert "never updates a contact that exists" in planned and "not updated: the contact exists" in planned
    cli.run("--mode", "create-only")
    assert first_names(cli) == {contact(1)["phone"]: "First1", contact(2)["phone"]: "First2",
                                contact(3)["phone"]: "Old", contact(4)["phone"]: "First4"}
    assert emulator.calls("UpdateGroupContact") == 0
    run = cli.last_run()
    assert (run["mode"], run["creates"], run["updates"]) == ("create-only", 2, 0)  # 3 was there: left as is

    cli.run()  # upsert: the edited row, and the contact create-only found there with unknown content
    assert first_names(cli)[contact(1)["phone"]] == "Edited" and first_names(cli)[contact(3)["phone"]] == "First3"
    assert emulator.calls("UpdateGroupContact") == 2


@BOTH_STATES
def test_update_only_updates_existing_contacts_and_reports_the_others(cli, emulator):
    cli.crm.write([contact(5)])
    cli.run()
    with someone_else(cli) as api:
        api.delete_group_contact(CUSTOMER, GROUP, contact(5)["phone"])
    add_unmanaged(cli, contact(1)["phone"], contact(2)["phone"])
    creates_before = emulator.calls("CreateGroupContact")
    cli.crm.write([contact(n) for n in range(1, 5)] + [contact(5, first_name="Edited")])

    done = cli.run("--mode", "update-only")
    assert first_names(cli) == {contact(1)["phone"]: "First1", contact(2)["phone"]: "First2"}
    assert emulator.calls("CreateGroupContact") == creates_before  # no create call at all
    run_id = cli.last_run()["run_id"]
    reported = cli.query("SELECT source_key, phone, reason FROM rejected_rows WHERE run_id = ? ORDER BY 1", [run_id])
    assert reported == [(str(n), contact(n)["phone"], "no_contact") for n in (3, 4, 5)]
    assert "no_contact" in done
    # the contact deleted behind the sync's back is no longer held to exist
    assert cli.query("SELECT count(*) FROM contact_state WHERE phone = ?", [contact(5)["phone"]]) == [(0,)]

    before = emulator.stats()["calls_total"]
    planned = cli.run("--mode", "update-only", "--dry-run")  # known without a contact: reported again, no call
    assert "no contact: reported, not created" in planned and "no_contact" in planned
    assert emulator.stats()["calls_total"] == before
    dry_run = cli.last_run()["run_id"]
    assert cli.query("SELECT count(*) FROM rejected_rows WHERE run_id = ? AND reason = 'no_contact'", [dry_run]) == [(3,)]

    cli.run()  # upsert creates what update-only only reported
    assert len(cli.group()) == 5


@pytest.mark.parametrize("group_service, says", [
    ("no-such-group", "is not a service of that customer"),
    ("sms-oneway", "is a OneWay service, not a Group service"),
])
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_group_service_that_is_not_a_group_exits_2_naming_the_services(cli, emulator, group_service, says,
                                                                         dry_run):
    cli.crm.write([contact(n) for n in range(1, 45)])
    done = cli.run("--group-service", group_service, *(["--dry-run"] if dry_run else []), expect=2)
    assert says in done
    assert "crm-group (CRM group, Group)" in done and "sms-oneway (Demo one-way SMS, OneWay)" in done
    assert set(emulator.stats()["calls_by_operation"]) == {"GetCustomerServices"}  # no write
    assert cli.query("SELECT count(*) FROM sync_runs") == [(0,)]  # no plan either


def test_an_unknown_customer_exits_2_naming_the_customers(cli, emulator):
    cli.crm.write([contact(1)])
    done = cli.run("--customer", "no-such-customer", "--dry-run", expect=2)
    assert "customer 'no-such-customer' is unknown to SmartDialog; your customers: demo-customer (Demo Oy)" in done


def test_columns_that_map_to_nothing_are_listed_in_the_plan(cli, emulator):
    cli.crm.write([contact(1), contact(2)])
    with cli.crm.engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE VIEW renamed AS SELECT id, phone, first_name, country_code AS country, tier "
                                   f"FROM {cli.crm.table}")
    planned = SyncCli(emulator, Crm(cli.crm.url, "renamed"), cli.workdir, state=cli.state).run("--dry-run")
    assert "column country (not sent)" in planned and "--map country=countryCode" in planned
    assert "column tier (not sent)" in planned and "--custom-property tier" in planned
    assert "column id" not in planned  # the key column is used
