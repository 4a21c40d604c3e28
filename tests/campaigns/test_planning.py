"""Recipients, suppression, planning and the ledger, on real SQLite/DuckDB files (no API)."""

from __future__ import annotations

import math
import os
import sqlite3
import uuid
from pathlib import Path

import dlt
import pytest
import sqlalchemy as sa

from smartdialog_sync.destinations.campaigns.request import CampaignSpec, Source, check_existing, parse_send_time, check_future
from smartdialog_sync.crm_query import CrmUsageError
from smartdialog_sync.destinations.campaigns.errors import CampaignInputError, LedgerConflict
from smartdialog_sync.destinations.campaigns.ledger import Ledger
from smartdialog_sync.destinations.campaigns.batches import estimate, placeholders, render
from smartdialog_sync.destinations.campaigns.planner import plan_sms, plan_whatsapp
from smartdialog_sync.destinations.campaigns.recipients import Recipient, run_query, select_recipients
from smartdialog_sync.destinations.campaigns.suppression import load_suppression, opt_out_sources, opted_out_numbers
from tests.campaigns.helpers import make_crm, phone

STOP = ("STOP", "STOPP", "SLUTA", "LOPETA")


def _crm_url(kind: str, tmp_path: Path) -> tuple[str, str]:
    """A CRM database of `kind` and the name of its customers table."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'crm.sqlite'}", "customers"
    if kind == "duckdb":
        return f"duckdb:///{tmp_path / 'crm.duckdb'}", "customers"
    url = os.environ.get("SDSYNC_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("SDSYNC_TEST_POSTGRES_URL is not set")
    return url, f"customers_{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgresql"])
def test_recipients_come_from_any_sqlalchemy_url(kind: str, tmp_path: Path) -> None:
    url, table = _crm_url(kind, tmp_path)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE TABLE {table} (phone VARCHAR, first_name VARCHAR)"))
        connection.execute(sa.text(f"INSERT INTO {table} VALUES (:p, :n)"),
                           [{"p": phone(1), "n": "Aino"}, {"p": "0401000002", "n": None}, {"p": "x", "n": "Bad"}])
    engine.dispose()  # DuckDB opens a file read-only only when no read-write connection of this process holds it
    try:
        selected = select_recipients(run_query(url, f"SELECT phone, first_name FROM {table}"), "PHONE", ["first_name"])
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE {table}"))
        engine.dispose()
    assert [(r.address, dict(r.values)) for r in selected.recipients] == [
        (phone(1), {"first_name": "Aino"}), (phone(2), {"first_name": ""})]
    assert [row.reason for row in selected.rejected] == ["invalid_phone"]


def test_recipients_are_normalised_deduplicated_and_suppressed(tmp_path: Path) -> None:
    url = make_crm(tmp_path / "crm.sqlite", 5, [(100, "not a phone", "Bad", "X", "FI"), (101, "0401000001", "Dup", "X", "FI"),
                                                (102, "070 123 45 67", "Sven", "Malmö", "SE")])
    result = run_query(url, "SELECT phone, first_name, region FROM customers ORDER BY id")
    selected = select_recipients(result, "phone", ["first_name"], "region", {phone(3): "opted_out"})
    assert [r.address for r in selected.recipients] == [phone(0), phone(1), phone(2), phone(4), "+46701234567"]
    assert selected.recipients[0].values == {"first_name": "Name0"}
    assert {(row.row_number, row.reason) for row in selected.rejected} == {(4, "opted_out"), (6, "invalid_phone"), (7, "duplicate")}


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        ("SELECT phone FROM customers WHERE id < 0", CampaignInputError, "no rows"),
        ("SELECT phone FROM nowhere", CrmUsageError, "the query failed"),
        ("SELECT first_name FROM customers", CampaignInputError, "no phone column 'phone'"),
        ("DELETE FROM customers", CrmUsageError, "must be a single SELECT"),
    ],
)
def test_bad_queries_are_clear_errors(tmp_path: Path, query: str, error: type[Exception], message: str) -> None:
    url = make_crm(tmp_path / "crm.sqlite", 3)
    with pytest.raises(error, match=message):
        select_recipients(run_query(url, query), "phone")


def test_a_missing_personalisation_column_is_an_error(tmp_path: Path) -> None:
    url = make_crm(tmp_path / "crm.sqlite", 3)
    with pytest.raises(CampaignInputError, match="no personalisation column 'nickname'"):
        select_recipients(run_query(url, "SELECT phone FROM customers"), "phone", ["nickname"])


def test_opt_outs_are_read_from_the_pulled_dataset(tmp_path: Path) -> None:
    dataset = tmp_path / "pulled.duckdb"  # dlt cannot load dataset "smartdialog" into smartdialog.duckdb
    [nothing_pulled] = opt_out_sources(tmp_path, dataset)
    assert opted_out_numbers(nothing_pulled, STOP) is None and not dataset.exists(), "looked at, never created"
    rows = [(phone(1), " stop "), (phone(2), "Lopeta!"), (phone(3), "stop the music"), ("+358401000004", "SLUTA"), (None, "STOP")]
    pipeline = dlt.pipeline("optouts", destination=dlt.destinations.duckdb(str(dataset)), dataset_name="smartdialog",
                            pipelines_dir=str(tmp_path / "pipelines"))
    pipeline.run([{"sender": s, "content": c, "message_id": str(i)} for i, (s, c) in enumerate(rows)], table_name="inbound_messages")
    [source] = opt_out_sources(tmp_path, dataset)
    assert opted_out_numbers(source, STOP) == {phone(1), phone(2), phone(4)}
    assert opted_out_numbers(source, ("HALT",)) == set()


def test_suppression_query_adds_numbers(tmp_path: Path) -> None:
    url = make_crm(tmp_path / "crm.sqlite", 5)
    suppression = load_suppression([], STOP, url, "SELECT phone AS number FROM customers WHERE id IN (1, 2)")
    assert suppression.numbers == {phone(1): "suppressed", phone(2): "suppressed"}
    assert suppression.sources[0].startswith("no opt-out source found")


def test_sms_batches_carry_only_used_placeholders_and_stable_request_ids() -> None:
    recipients = [Recipient(phone(i), {"first_name": f"N{i}", "city": "Espoo", "unused": "x"}) for i in range(2500)]
    content = "Hei {{first_name}} from {{ city }}"
    assert placeholders(content) == ["first_name", "city"]
    batches = plan_sms("camp", recipients, content, 1000, 10)
    assert [len(b.recipients) for b in batches] == [1000, 1000, 500]
    assert batches[0].recipients[0].personalization == {"first_name": "N0", "city": "Espoo"}
    assert render(content, batches[0].recipients[0].personalization) == "Hei N0 from Espoo"
    again = plan_sms("camp", recipients, content, 1000, 10)
    assert [b.request_id for b in batches] == [b.request_id for b in again]
    assert len({b.request_id for b in batches}) == 3 and batches[1].request_id.startswith("sdsync:camp:2:")
    figures = estimate(batches, content, 100, 60)
    assert (figures.recipients, figures.calls, figures.total_parts) == (2500, 3, 2500)


def test_parts_are_counted_per_rendered_recipient_and_bounded() -> None:
    recipients = [Recipient(phone(1), {"name": "Ann"}), Recipient(phone(2), {"name": "Zoë" + "x" * 80})]
    batches = plan_sms("camp", recipients, "Hi {{name}}", 1000, 10)
    assert [r.parts for r in batches[0].recipients] == [1, 2]
    assert estimate(batches, "Hi {{name}}", 100, 60).encodings == {"GSM-7": 1, "UCS-2": 1}
    with pytest.raises(CampaignInputError, match="more than 1 SMS parts"):
        plan_sms("camp", recipients, "Hi {{name}}", 1000, 1)


def test_whatsapp_recipients_are_grouped_by_parameters() -> None:
    recipients = [Recipient(phone(i), {"order": f"A{i % 3}"}) for i in range(9)]
    batches = plan_whatsapp("wa", recipients, ["order"], [], 2)
    assert [(b.body_parameters, len(b.recipients)) for b in batches] == [
        (("A0",), 2), (("A0",), 1), (("A1",), 2), (("A1",), 1), (("A2",), 2), (("A2",), 1)
    ]
    assert all(b.header_parameters is None for b in batches)


def test_estimate_of_time_under_the_limit() -> None:
    recipients = [Recipient(phone(i), {}) for i in range(100_000)]
    batches = plan_sms("big", recipients, "Sale!", 1000, 10)
    figures = estimate(batches, "Sale!", 100, 60)
    assert figures.calls == 100 == math.ceil(100_000 / 1000)
    assert figures.seconds == 0
    assert estimate(batches, "Sale!", 20, 2).seconds == 8


def test_send_time_must_be_in_the_future() -> None:
    assert parse_send_time("2030-01-01T09:00:00") == "2030-01-01T09:00:00+00:00"
    check_future(parse_send_time("2999-01-01T00:00:00Z"))
    with pytest.raises(CampaignInputError, match="in the past"):
        check_future(parse_send_time("2020-01-01T00:00:00"))
    with pytest.raises(CampaignInputError, match="not an ISO 8601"):
        parse_send_time("tomorrow")


def _spec(query: str, campaign_id: str | None = "c1") -> CampaignSpec:
    source = Source("sqlite:////tmp/crm.sqlite", query)
    return CampaignSpec("sms", "demo-customer", "sms-oneway", source, {"sender": "Demo", "content": "Hi"}, campaign_id=campaign_id)


def test_ledger_keeps_batches_and_refuses_a_changed_campaign(tmp_path: Path) -> None:
    spec = _spec("SELECT phone FROM customers")
    batches = plan_sms("c1", [Recipient(phone(i), {}) for i in range(5)], "Hi", 2, 10)
    ledger = Ledger.open(tmp_path / "campaigns.sqlite")
    ledger.create_campaign(spec.record(), batches, [])
    ledger.mark_in_flight("c1", 1)
    ledger.mark_failed("c1", 3, "refused")
    reopened = Ledger.open(tmp_path / "campaigns.sqlite")
    unsent = reopened.unsent_batches("c1")
    assert [(u.batch.batch_no, u.status) for u in unsent] == [(1, "in_flight"), (2, "planned"), (3, "failed")]
    assert [u.batch.request_id for u in unsent] == [b.request_id for b in batches]
    assert unsent[0].batch.recipients == batches[0].recipients
    check_existing(spec, reopened.campaign("c1"))
    with pytest.raises(LedgerConflict, match="different query"):
        check_existing(_spec("SELECT phone FROM other"), reopened.campaign("c1"))
    assert _spec("q", None).resolved_campaign_id() == _spec("q", None).resolved_campaign_id() != _spec("r", None).resolved_campaign_id()


def test_a_ledger_written_before_scheduled_batches_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.sqlite"
    connection = sqlite3.connect(path)  # campaign_batches as older versions created it
    connection.execute("""CREATE TABLE campaign_batches (
        campaign_id TEXT NOT NULL, batch_no INTEGER NOT NULL, request_id TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('planned', 'in_flight', 'sent', 'failed')), recipient_count INTEGER NOT NULL,
        body_parameters TEXT, header_parameters TEXT, message_id TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
        first_attempt_at TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (campaign_id, batch_no))""")
    connection.execute("INSERT INTO campaign_batches (campaign_id, batch_no, request_id, status, recipient_count, updated_at) "
                       "VALUES ('old', 1, 'sdsync:old:1:x', 'planned', 0, 'then')")
    connection.commit()
    connection.close()
    ledger = Ledger.open(path)
    [unsent] = ledger.unsent_batches("old")
    assert (unsent.batch.request_id, unsent.batch.send_at, unsent.batch.time_zones) == ("sdsync:old:1:x", None, ())
    ledger.close()
    Ledger.open(path).close()  # opening again does not migrate twice
