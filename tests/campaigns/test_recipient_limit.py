"""A service that takes fewer recipients per call than 1000: refused batches are split, the limit is
learned per connection and used for the rest of the campaign and for later plans, exactly once throughout."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest

from smartdialog_sync import errors
from smartdialog_sync.destinations.campaigns.results import recipient_limit
from smartdialog_sync.journal import open_journal
from tests.campaigns.helpers import SEND, ledger_rows, make_crm, phone, rerun_until_done, run_until_killed, sent_batches
from tests.support.cli import emulator_env, run_sdsync

RECIPIENTS = 3000
LIMIT = 200
QUERY = "SELECT phone, first_name FROM customers ORDER BY id"


def _args(crm: str, campaign: str, *more: str) -> list[str]:
    return [*SEND, "--source", crm, "--query", QUERY, "--content", "Hei {{first_name}}!", "--campaign", campaign, "--yes", *more]


def _assert_each_once(emulator: Any, ledger: Path, campaign: str, count: int = RECIPIENTS) -> None:
    per_address = Counter(m["address"] for m in emulator.messages())
    assert per_address == Counter({phone(i): 1 for i in range(count)})
    assert ledger_rows(ledger, "SELECT DISTINCT status FROM campaign_batches WHERE campaign_id = ?", campaign) == [("sent",)]
    assert ledger_rows(ledger, "SELECT max(recipient_count) FROM campaign_batches WHERE campaign_id = ?", campaign) == [(LIMIT,)]
    assert ledger_rows(ledger, "SELECT count(*) FROM sent_messages WHERE campaign_id = ?", campaign) == [(count,)]
    request_ids = ledger_rows(ledger, "SELECT request_id FROM campaign_batches WHERE campaign_id = ?", campaign)
    assert {m["request_id"] for m in emulator.messages()} == {rid for (rid,) in request_ids}


@pytest.mark.parametrize(
    ("detail", "sent", "expected"),
    [
        ('{"error": "too many recipients (max 200)", "field": "Recipients"}', 1000, 200),
        ("Recipients: at most 250 allowed per request", 1000, 250),
        ('{"error": "too many recipients", "field": "Recipients"}', 1000, 500),
        ('{"error": "Recipients[3].Address is not a valid phone number", "field": "Recipients[3].Address"}', 1000, None),
        ('{"error": "Recipients must not be empty", "field": "Recipients"}', 1000, None),
        ('{"error": "too many recipients (max 200)", "field": "Recipients"}', 1, None),
    ],
)
def test_a_refusal_for_the_batch_size_names_the_limit(detail: str, sent: int, expected: int | None) -> None:
    error = errors.BadRequest("SendMessage", "request failed", 400, detail)
    assert recipient_limit(error, sent) == expected


def test_a_lower_service_limit_completes_the_campaign_exactly_once(
    sdsync: Callable[..., Any], emulator: Any, tmp_path: Path
) -> None:
    emulator.configure(max_recipients=LIMIT)
    crm = make_crm(tmp_path / "crm.sqlite", RECIPIENTS)
    result = sdsync(*_args(crm, "limited", "--workers", "1"))
    assert result.exit_code == 0, result.output
    assert "split into batches" in result.output and f"at most {LIMIT}" in result.output
    ledger = tmp_path / "data" / "campaigns.sqlite"
    _assert_each_once(emulator, ledger, "limited")
    assert emulator.stats()["responses_by_status"].get("400") == 1  # the first batch; the rest planned with the limit
    splits = ledger_rows(ledger, "SELECT batch_no, into_batches, reason FROM campaign_batch_splits ORDER BY batch_no")
    assert [(no, json.loads(into)) for no, into, _ in splits] == [
        (1, list(range(4, 9))), (2, list(range(9, 14))), (3, list(range(14, 19)))]
    assert "refused for its size" in splits[0][2] and "too many recipients (max 200)" in splits[0][2]
    assert ledger_rows(ledger, "SELECT customer_id, max_recipients FROM connection_limits") == [("demo-customer", LIMIT)]

    open_journal(tmp_path / "data" / "journal.sqlite").close()  # the receiver's (no STOP): a second campaign needs opt-outs
    dry = sdsync(*_args(crm, "next-one", "--dry-run"))
    assert dry.exit_code == 0, dry.output
    assert f"API calls: 15 (up to {LIMIT} recipients each; the service was found to take at most {LIMIT})" in dry.output


def test_whatsapp_sends_split_the_same_way(sdsync: Callable[..., Any], emulator: Any, tmp_path: Path) -> None:
    emulator.configure(max_recipients=LIMIT)
    crm = make_crm(tmp_path / "crm.sqlite", 900)
    result = sdsync("send-whatsapp", "--customer", "demo-customer", "--service", "sms-oneway", "--source", crm,
                    "--query", "SELECT phone, city FROM customers", "--template", "order_ready", "--body-params", "city",
                    "--campaign", "wa-limited", "--yes")
    assert result.exit_code == 0, result.output
    messages = emulator.messages()
    assert Counter(m["address"] for m in messages) == Counter({phone(i): 1 for i in range(900)})
    assert max(Counter(m["message_id"] for m in messages).values()) == LIMIT


def test_sigkill_while_splitting_and_sending_still_sends_each_recipient_once(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit="50/1", max_recipients=LIMIT)
    crm = make_crm(tmp_path / "crm.sqlite", RECIPIENTS)
    env = emulator_env(emulator, tmp_path / "data", rate_limit="50/1")
    ledger, campaign = tmp_path / "data" / "campaigns.sqlite", "killed"
    args = _args(crm, campaign)
    progress = []
    for kill_after_sent in (2, 7, 11):
        assert run_until_killed(args, env, ledger, campaign, kill_after_sent, None) is None
        progress.append(sent_batches(ledger, campaign))
    assert 0 < progress[-1] < RECIPIENTS // LIMIT, progress
    final = run_sdsync(env, *args)
    assert final.returncode == 0, final.stderr + final.stdout
    _assert_each_once(emulator, ledger, campaign)


def test_a_batch_that_may_have_been_sent_is_repeated_whole_not_split(
    sdsync: Callable[..., Any], emulator: Any, tmp_path: Path
) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 1000)
    assert sdsync(*_args(crm, "unknown")).exit_code == 0
    ledger = tmp_path / "data" / "campaigns.sqlite"
    with sqlite3.connect(ledger) as connection:  # as if killed after the call, before its answer was recorded
        connection.execute("UPDATE campaign_batches SET status = 'in_flight'")
        connection.execute("DELETE FROM sent_messages")
        # and a lower maximum learned meanwhile (by another campaign, say)
        connection.execute("INSERT INTO connection_limits VALUES (?, 'demo-customer', ?, 'learned', '2026-12-01')",
                           (emulator.base_url, LIMIT))
    finished = sdsync(*_args(crm, "unknown"))
    assert finished.exit_code == 0, finished.output
    assert Counter(Counter(m["address"] for m in emulator.messages()).values()) == {1: 1000}
    assert emulator.stats()["responses_by_status"].get("409") == 1  # repeated with its RequestId: recognised
    assert ledger_rows(ledger, "SELECT count(*) FROM campaign_batch_splits") == [(0,)]


def test_faults_and_rate_limits_with_a_lower_limit_never_duplicate(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit="5/1", max_recipients=LIMIT, error_rate=0.2, drop_after_processing_rate=0.2,
                              fault_seed=7)
    crm = make_crm(tmp_path / "crm.sqlite", RECIPIENTS)
    env = emulator_env(emulator, tmp_path / "data", rate_limit="50/1")  # more than the service allows: 429s
    ledger, campaign = tmp_path / "data" / "campaigns.sqlite", "faulty"
    args = _args(crm, campaign)
    rerun_until_done(env, args, attempts=10)
    _assert_each_once(emulator, ledger, campaign)
    stats = emulator.stats()
    assert stats["faults_injected"]["errors"] > 0 and stats["faults_injected"]["dropped"] > 0
