"""The `smartdialog` source resource by resource: hints, types, incremental journal reads, API data,
group contacts within a call budget, and the campaign ledger."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest
from smartdialog_sync.destinations.campaigns.ledger import Ledger
from smartdialog_sync.receiver.payloads import dlr_row
from smartdialog_sync.sources.smartdialog import smartdialog

from smartdialog_sync.api import SmartDialogClient, models, resolve_settings
from smartdialog_sync.journal import InboundRow, SQLiteJournal
from tests.postgres import postgres_database
from tests.source.support import pull

ATTACHMENTS = [{"name": "a.jpg", "mimeType": "image/jpeg", "resourceLocation": "https://files/a.jpg"},
               {"name": "b.pdf", "mimeType": "application/pdf", "resourceLocation": "https://files/b.pdf"}]


def _message(message_id: str, attachments: list | None = None) -> InboundRow:
    return InboundRow(message_id, "+358401234567", "+358401000000", "hei", "SMS", 1_795_000_000_000_000,
                      json.dumps(attachments) if attachments else None, 1_795_000_000_500_000)


def test_resources_declare_keys_and_write_dispositions(tmp_path) -> None:
    source = smartdialog(settings=resolve_settings(data_dir=str(tmp_path)))
    expected = {
        "inbound_messages": ("merge", ["message_id"]),
        "delivery_reports": ("merge", ["dlr_key"]),
        "customers": ("replace", ["customer_id"]),
        "services": ("replace", ["customer_id", "service_type", "id"]),
        "whatsapp_templates": ("replace", ["customer_id", "id"]),
        "whatsapp_identities": ("replace", ["customer_id", "identity"]),
        "template_categories": ("replace", ["category"]),
        "phone_number_regions": ("replace", ["value"]),
        "group_contacts": ("merge", ["customer", "group_service", "phone"]),
        "sent_messages": ("merge", ["campaign_id", "address"]),
        "campaigns": ("merge", ["campaign_id"]),
        "campaign_assignments": ("merge", ["campaign_id", "address"]),
        "link_clicks": ("merge", ["click_id"]),
        "tracked_links": ("merge", ["code"]),
    }
    assert set(source.resources) == set(expected)
    for name, (disposition, key) in expected.items():
        table = source.resources[name].compute_table_schema()
        primary = [column for column, hints in table["columns"].items() if hints.get("primary_key")]
        assert (table["write_disposition"], sorted(primary)) == (disposition, sorted(key)), name


def test_journal_resources_load_typed_tables_incrementally(destination) -> None:
    data_dir = destination.data_dir
    journal = SQLiteJournal(data_dir / "journal.sqlite")
    report = [("messageId", "m1"), ("recipientId", "r1"), ("status", "Delivered"),
              ("statusTime", "2026-11-27T05:00:01Z"), ("campaign", "spring")]
    journal.write_batch([_message("m1", ATTACHMENTS), _message("m2")], [dlr_row(report)])
    options = destination.options(resources=["inbound_messages", "delivery_reports"])
    first = pull(data_dir, options)
    assert dict(first.rows) == {"inbound_messages": 2, "inbound_messages__attachments": 2, "delivery_reports": 1}

    attachments = destination.query(
        "SELECT message_id, position, name, mime_type, resource_location FROM smartdialog.inbound_messages__attachments"
        " ORDER BY position")
    assert attachments == [("m1", 0, "a.jpg", "image/jpeg", "https://files/a.jpg"),
                           ("m1", 1, "b.pdf", "application/pdf", "https://files/b.pdf")]
    types = dict(destination.query(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'smartdialog' AND table_name = 'inbound_messages'"))
    assert "time zone" in types["timestamp"].lower() and "time zone" in types["received_at"].lower()
    assert types["journal_seq"].lower() == "bigint"
    (query,) = destination.query("SELECT query FROM smartdialog.delivery_reports")[0]
    assert (json.loads(query) if isinstance(query, str) else query)["campaign"] == "spring", "raw params kept"
    (query_type,) = destination.query("SELECT data_type FROM information_schema.columns WHERE table_schema ="
                                      " 'smartdialog' AND table_name = 'delivery_reports' AND column_name = 'query'")[0]
    assert query_type.lower() in ("json", "jsonb"), query_type
    for table in ("inbound_messages", "inbound_messages__attachments", "delivery_reports"):
        loads = destination.query(f"SELECT DISTINCT _dlt_load_id FROM smartdialog.{table}")
        assert loads == destination.query("SELECT load_id FROM smartdialog._dlt_loads"), f"{table} has _dlt_load_id"

    journal.write_batch([_message("m3"), _message("m1")], [dlr_row(report), dlr_row(report[:2] + [("status", "Failed")])])
    journal.close()
    second = pull(data_dir, options)
    assert dict(second.rows) == {"inbound_messages": 1, "delivery_reports": 1}, "only rows journaled since"
    assert destination.query("SELECT count(*), count(DISTINCT message_id) FROM smartdialog.inbound_messages") == [(3, 3)]
    assert destination.query("SELECT count(*) FROM smartdialog.delivery_reports") == [(2,)]
    assert not pull(data_dir, options).rows, "nothing new"


def test_account_resources_are_replaced(emulator, tmp_path) -> None:
    data_dir = tmp_path / "data"
    names = ["customers", "services", "whatsapp_templates", "whatsapp_identities", "template_categories",
             "phone_number_regions"]
    for _ in range(2):
        result = pull(data_dir, pull_options(names), emulator.base_url)
    assert result.rows["customers"] == 1
    with duckdb.connect(str(data_dir / "sdsync.duckdb"), read_only=True) as conn:
        services = conn.execute("SELECT service_type, id FROM smartdialog.services ORDER BY service_type").fetchall()
        assert services == [("Group", "crm-group"), ("OneWay", "sms-oneway"), ("TwoWay", "sms-twoway")]
        assert conn.execute("SELECT count(*) FROM smartdialog.customers").fetchone() == (1,), "replaced, not appended"
        assert conn.execute("SELECT identity FROM smartdialog.whatsapp_identities").fetchall() == [("+358401000000",)]
        templates = conn.execute("SELECT display_name FROM smartdialog.whatsapp_templates ORDER BY 1").fetchall()
        assert templates == [("order_ready",), ("welcome",)]
        assert conn.execute("SELECT count(*) FROM smartdialog.template_categories").fetchone()[0] > 0
        assert ("FI", "Finland") in conn.execute("SELECT value, name FROM smartdialog.phone_number_regions").fetchall()


def pull_options(resources: list[str], **source_options):
    from smartdialog_sync.pipelines.pull_pipeline import PullOptions

    max_calls = source_options.pop("max_calls", None)
    return PullOptions(resources=resources, max_calls=max_calls, source_options=source_options)


PHONES = ["+358401110001", "+358401110002", "+358401110003", "+358401110004"]


def _read_times(data_dir: Path) -> dict[str, object]:
    with duckdb.connect(str(data_dir / "sdsync.duckdb"), read_only=True) as conn:
        return dict(conn.execute("SELECT phone, read_at FROM smartdialog.group_contacts").fetchall())


def test_group_contacts_are_read_stalest_first_within_the_call_budget(emulator, tmp_path) -> None:
    data_dir = tmp_path / "data"
    with SmartDialogClient(resolve_settings(base_url=emulator.base_url, data_dir=str(data_dir))) as api:
        for phone in PHONES[:2]:
            api.create_group_contact("demo-customer", "crm-group",
                                     models.GroupContact(phone=phone, first_name="Aino", birth_year=1990))
    calls_before = emulator.stats()["calls_by_operation"].get("GetGroupContact", 0)
    options = pull_options(["group_contacts"], group_phones=PHONES, group_customer="demo-customer",
                           group_service="crm-group", max_calls=3)
    assert pull(data_dir, options, emulator.base_url).rows["group_contacts"] == 3
    assert emulator.stats()["calls_by_operation"]["GetGroupContact"] - calls_before == 3
    first = _read_times(data_dir)
    assert set(first) == set(PHONES[:3])

    assert pull(data_dir, options, emulator.base_url).rows["group_contacts"] == 3
    second = _read_times(data_dir)
    assert set(second) == set(PHONES), "the never-read phone comes first"
    stalest_kept = [phone for phone in PHONES[:3] if second[phone] == first[phone]]
    assert stalest_kept == [PHONES[2]], "the two stalest phones were read again, the freshest was not"
    with duckdb.connect(str(data_dir / "sdsync.duckdb"), read_only=True) as conn:
        rows = conn.execute("SELECT phone, present, first_name, birth_year FROM smartdialog.group_contacts"
                            " ORDER BY phone").fetchall()
    assert rows[:2] == [(PHONES[0], True, "Aino", 1990), (PHONES[1], True, "Aino", 1990)]
    assert [row[1] for row in rows[2:]] == [False, False], "phones the group does not hold"


def test_group_contact_phones_from_a_sql_query(emulator, tmp_path) -> None:
    crm = tmp_path / "crm.sqlite"
    with sqlite3.connect(crm) as conn:
        conn.execute("CREATE TABLE people (mobile TEXT)")
        conn.executemany("INSERT INTO people VALUES (?)", [(PHONES[0],), (PHONES[1],)])
    options = pull_options(["group_contacts"], group_phones_query="SELECT mobile AS phone FROM people",
                           group_phones_url=f"sqlite:///{crm}", group_customer="demo-customer",
                           group_service="crm-group")
    assert pull(tmp_path / "data", options, emulator.base_url).rows["group_contacts"] == 2


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_group_contact_phones_from_the_contact_sync_state(emulator, tmp_path, engine) -> None:
    """The phones the contact sync manages, from its state in the data dir or in PostgreSQL."""
    from smartdialog_sync.destinations.contacts.state import open_contact_state

    from smartdialog_sync.state.files import CONTACT_STATE_FILE

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    insert = "INSERT INTO contact_state (customer, group_service, phone) VALUES ('demo-customer', 'crm-group', '{}')"
    if engine == "duckdb":
        with open_contact_state(data_dir / CONTACT_STATE_FILE) as store:
            store.con.execute(insert.format(PHONES[3]))
        options = pull_options(["group_contacts"])
        assert pull(data_dir, options, emulator.base_url).rows["group_contacts"] == 1
    else:
        for url in postgres_database():
            with open_contact_state(url) as store:
                store.pg.execute(insert.format(PHONES[3]))
            options = pull_options(["group_contacts"], contact_state_path=url)
            assert pull(data_dir, options, emulator.base_url).rows["group_contacts"] == 1
    assert set(_read_times(data_dir)) == {PHONES[3]}


def test_sent_messages_come_from_the_campaign_ledger(tmp_path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    Ledger.open(data_dir / "campaigns.sqlite").close()
    insert = ("INSERT INTO sent_messages (campaign_id, batch_no, request_id, message_id, recipient_id, address,"
              " parts, sent_at) VALUES (?, 1, 'req-1', 'msg-1', ?, ?, 1, '2026-11-27T05:00:00+00:00')")
    with sqlite3.connect(data_dir / "campaigns.sqlite") as conn:
        conn.executemany(insert, [("spring", f"r{i}", f"+35840111000{i}") for i in range(3)])
    assert pull(data_dir, pull_options(["sent_messages"])).rows["sent_messages"] == 3
    with sqlite3.connect(data_dir / "campaigns.sqlite") as conn:
        conn.execute(insert, ("autumn", "r9", "+358401110009"))
    assert pull(data_dir, pull_options(["sent_messages"])).rows["sent_messages"] == 1, "incremental on the rowid"
    with duckdb.connect(str(data_dir / "sdsync.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM smartdialog.sent_messages").fetchone() == (4,)
        kind = conn.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'sent_messages'"
                            " AND column_name = 'sent_at'").fetchone()[0]
    assert "TIME ZONE" in kind


def test_campaigns_come_from_the_ledger_with_what_names_them(tmp_path) -> None:
    from smartdialog_sync.destinations.campaigns.ledger import CampaignRecord

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    ledger = Ledger.open(data_dir / "campaigns.sqlite")
    try:
        ledger.create_campaign(CampaignRecord("spring", "sms", "f1", "demo-customer", "sms-oneway",
                                              {"sender": "Demo", "content": "Hi {{first_name}}! Spring sale"}, {},
                                              "2026-11-01T08:00:00+00:00"), [], [])
        ledger.create_campaign(CampaignRecord("ready", "whatsapp", "f2", "demo-customer", "sms-twoway",
                                              {"template_name": "order_ready"}, {}, "2026-11-02T08:00:00+00:00"), [], [])
    finally:
        ledger.close()
    assert pull(data_dir, pull_options(["campaigns"])).rows["campaigns"] == 2
    with duckdb.connect(str(data_dir / "sdsync.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT campaign_id, protocol, content_start, template_name FROM smartdialog.campaigns"
                            " ORDER BY campaign_id").fetchall() == [
            ("ready", "WhatsApp", None, "order_ready"), ("spring", "SMS", "Hi {{first_name}}! Spring sale", None)]


def test_a_list_of_phones_needs_the_group(tmp_path) -> None:
    with pytest.raises(Exception, match="customer and the group service"):
        pull(tmp_path, pull_options(["group_contacts"], group_phones=PHONES))


def test_rate_limit_waits_are_reported(emulator, tmp_path) -> None:
    from smartdialog_sync.pipelines.pull_pipeline import PullProgress, run_pull

    waits: list[tuple[float, str]] = []

    class Waits(PullProgress):
        def waiting(self, seconds: float, reason: str) -> None:
            waits.append((seconds, reason))

    settings = resolve_settings(base_url=emulator.base_url, data_dir=str(tmp_path / "data"), rate_limit="2/1.5")
    options = pull_options(["group_contacts"], group_phones=PHONES, group_customer="demo-customer",
                           group_service="crm-group")
    result = run_pull(options, settings, Waits())
    assert result.rows["group_contacts"] == 4
    assert waits and all(seconds > 0 for seconds, _ in waits), "4 calls at 2 per 1.5 s must wait"


def test_every_column_is_typed_so_a_frozen_schema_takes_a_contact_gaining_an_email(emulator, tmp_path) -> None:
    data_dir = tmp_path / "data"
    settings = resolve_settings(base_url=emulator.base_url, data_dir=str(data_dir))
    with SmartDialogClient(settings) as api:
        api.create_group_contact("demo-customer", "crm-group", models.GroupContact(phone=PHONES[0], first_name="Aino"))
    options = pull_options(["group_contacts"], group_phones=PHONES[:1], group_customer="demo-customer",
                           group_service="crm-group")
    assert pull(data_dir, options, emulator.base_url).rows["group_contacts"] == 1
    with SmartDialogClient(settings) as api:
        api.update_group_contact("demo-customer", "crm-group", PHONES[0],
                                 models.GroupContactFields(first_name="Aino", email="aino@example.com"))
    options.schema_contract = "freeze"
    assert pull(data_dir, options, emulator.base_url).rows["group_contacts"] == 1
    with duckdb.connect(str(data_dir / "sdsync.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT first_name, email FROM smartdialog.group_contacts").fetchall() == [
            ("Aino", "aino@example.com")]


def test_every_api_resource_declares_every_column_type(tmp_path) -> None:
    source = smartdialog(settings=resolve_settings(data_dir=str(tmp_path)))
    for name in ("delivery_reports", "customers", "services", "whatsapp_templates", "whatsapp_identities",
                 "template_categories", "phone_number_regions", "group_contacts", "sent_messages", "campaigns",
                 "link_clicks", "tracked_links"):
        columns = source.resources[name].compute_table_schema()["columns"]
        assert columns and all(hints.get("data_type") for hints in columns.values()), name
    contact_columns = source.resources["group_contacts"].compute_table_schema()["columns"]
    assert {"email", "first_name", "city", "gender", "custom_contact_properties"} <= set(contact_columns)
    assert set(models.GroupContactRecord.model_fields) <= set(contact_columns)
