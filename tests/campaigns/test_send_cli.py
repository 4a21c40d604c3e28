"""`sdsync send` / `send-whatsapp` against the emulator: plans, personalisation, ledger, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import dlt
import pytest

from tests.campaigns.helpers import SEND, ledger_rows, make_crm, phone

QUERY = "SELECT phone, first_name FROM customers ORDER BY id"
CONTENT = "Hei {{first_name}}, tervetuloa!"


def sends(emulator: Any) -> int:
    return emulator.stats()["calls_by_operation"].get("SendMessage", 0)


def test_dry_run_shows_the_plan_and_sends_nothing(sdsync: Callable[..., Any], emulator: Any, crm: str, tmp_path: Path) -> None:
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, "--content", CONTENT + " {{ first_name }} ✓",
                    "--batch-size", "100", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "recipients: 250" in result.output
    assert "left out: 2 (duplicate 1, invalid_phone 1)" in result.output
    assert "SMS parts: 250 in total (UCS-2 250); per recipient: 1 part(s) × 250" in result.output
    assert "API calls: 3 (up to 100 recipients each) instead of 250 (one per recipient);" in result.output
    assert "Dry run: nothing sent, nothing written." in result.output
    assert sends(emulator) == 0
    assert not (tmp_path / "data" / "campaigns.sqlite").exists()


def test_a_plan_compares_no_figure_with_itself(sdsync: Callable[..., Any], emulator: Any, crm: str) -> None:
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, "--content", CONTENT, "--batch-size", "1", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "API calls: 250 (up to 1 recipients each); at least" in result.output
    assert "instead of" not in result.output


def test_without_input_the_send_is_not_confirmed(sdsync: Callable[..., Any], emulator: Any, crm: str) -> None:
    result = sdsync(*SEND, "--source", crm, "--query", QUERY, "--content", CONTENT)
    assert result.exit_code == 2
    assert "pass --yes" in result.output
    assert sends(emulator) == 0


def _pull_stop(path: Path, sender: str) -> None:
    """The pulled dataset as a dlt pipeline writes it, with one STOP from `sender`."""
    pipeline = dlt.pipeline("pulled_test", destination=dlt.destinations.duckdb(str(path)), dataset_name="smartdialog",
                            pipelines_dir=str(path.parent / "pipelines"))
    pipeline.run([{"sender": sender, "content": "Stop", "message_id": "m1"}], table_name="inbound_messages")


def test_a_personalised_campaign_reaches_each_recipient_once(
    sdsync: Callable[..., Any], emulator: Any, crm: str, tmp_path: Path
) -> None:
    _pull_stop(tmp_path / "data" / "sdsync.duckdb", phone(5))  # where `sdsync pull` loads by default
    args = [*SEND, "--source", crm, "--query", QUERY, "--content", CONTENT, "--campaign", "welcome-1",
            "--batch-size", "100", "--customer-data", "spring-2026", "--yes"]
    result = sdsync(*args)
    assert result.exit_code == 0, result.output
    assert "left out: 3 (duplicate 1, invalid_phone 1, opted_out 1)" in result.output
    assert sends(emulator) == 3  # 249 recipients in batches of 100
    messages = emulator.messages()
    assert sorted(m["address"] for m in messages) == sorted(phone(i) for i in range(250) if i != 5)
    assert {m["content"] for m in messages if m["address"] == phone(7)} == {"Hei Name7, tervetuloa!"}
    assert {m["customer_data"] for m in messages} == {"spring-2026"}
    ledger = tmp_path / "data" / "campaigns.sqlite"
    sent = ledger_rows(ledger, "SELECT address, message_id, recipient_id, parts, request_id FROM sent_messages WHERE campaign_id = 'welcome-1'")
    assert {(a, m, r) for a, m, r, _, _ in sent} == {(m["address"], m["message_id"], m["recipient_id"]) for m in messages}
    assert {p for *_, p, _ in sent} == {1} and all(rid.startswith("sdsync:welcome-1:") for *_, rid in sent)
    assert ledger_rows(ledger, "SELECT reason, raw_phone FROM campaign_rejected ORDER BY row_number") == [
        ("opted_out", phone(5)), ("invalid_phone", "12"), ("duplicate", "0401000007")]

    again = sdsync(*args)
    assert again.exit_code == 0 and "nothing to do" in again.output
    changed = sdsync(*[QUERY + " LIMIT 5" if arg == QUERY else arg for arg in args])
    assert changed.exit_code == 2 and "different query" in changed.output
    assert sends(emulator) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--query", "SELECT phone, first_name FROM customers WHERE id < 0"], "no rows"),
        (["--query", "SELECT phone FROM missing_table"], "the query failed"),
        (["--query", "SELECT first_name FROM customers"], "no phone column"),
        (["--content", "Hi {{nickname}}"], "no personalisation column 'nickname'"),
        (["--customer-data", "x" * 256], "the API allows 255"),
        (["--content", "Ж" * 800], "more than 10 SMS parts"),
        (["--at", "2020-01-01T00:00:00Z"], "in the past"),
        (["--dlr-url", "ftp://example.com/dlr"], "absolute http(s) URL"),
        (["--campaign", "no spaces allowed"], "campaign id"),
    ],
)
def test_bad_input_is_refused_before_any_call(
    sdsync: Callable[..., Any], emulator: Any, crm: str, tmp_path: Path, args: list[str], message: str
) -> None:
    base = {"--query": QUERY, "--content": CONTENT}
    options = dict(zip(args[::2], args[1::2]))
    merged = {**base, **options}
    result = sdsync(*SEND, "--source", crm, *[item for pair in merged.items() for item in pair], "--yes")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert sends(emulator) == 0
    ledger = tmp_path / "data" / "campaigns.sqlite"
    assert not ledger.exists() or ledger_rows(ledger, "SELECT count(*) FROM campaigns") == [(0,)]


def test_raising_max_parts_allows_long_content(sdsync: Callable[..., Any], emulator: Any, crm: str) -> None:
    result = sdsync(*SEND, "--source", crm, "--query", QUERY + " LIMIT 2", "--content", "Ж" * 800, "--max-parts", "12", "--yes")
    assert result.exit_code == 0, result.output
    assert "SMS parts: 24 in total" in result.output
    assert {m["parts"] for m in emulator.messages()} == {12}


def test_a_refused_batch_is_recorded_failed_and_stops_the_run(sdsync: Callable[..., Any], emulator: Any, crm: str, tmp_path: Path) -> None:
    args = ["send", "--customer", "demo-customer", "--service", "no-such-service", "--sender", "DemoOy", "--source", crm,
            "--query", QUERY, "--content", CONTENT, "--campaign", "refused", "--batch-size", "50", "--workers", "1", "--yes"]
    result = sdsync(*args)
    assert result.exit_code == 1
    assert "batch 1 refused" in result.output and "unknown" in result.output
    states = ledger_rows(tmp_path / "data" / "campaigns.sqlite", "SELECT batch_no, status, error FROM campaign_batches ORDER BY batch_no")
    assert [(no, status) for no, status, _ in states] == [(1, "failed")] + [(n, "planned") for n in range(2, 6)]
    assert "no-such-service" in states[0][2]
    assert emulator.messages() == []


def test_suppression_query_and_region_column(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    crm = make_crm(tmp_path / "regions.sqlite", 20, [(50, "070 123 45 67", "Sven", "Malmö", "SE")])
    result = sdsync(*SEND, "--source", crm, "--query", "SELECT phone, region, first_name FROM customers", "--content", CONTENT,
                    "--region-column", "region", "--suppression-query", "SELECT phone FROM customers WHERE id < 5", "--yes")
    assert result.exit_code == 0, result.output
    assert "left out: 5 (suppressed 5)" in result.output
    assert sorted(m["address"] for m in emulator.messages()) == sorted([phone(i) for i in range(5, 20)] + ["+46701234567"])
