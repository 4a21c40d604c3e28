"""The 7-day RequestId guard: the service remembers a RequestId 7 days, so a batch in flight for almost that
long is refused (it could be sent twice); younger ones resume with the same RequestId."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.campaigns.helpers import SEND, ledger_rows, make_crm
from tests.support.cli import emulator_env, run_sdsync

CAMPAIGN = "guarded"


def age_in_flight(ledger: Path, age: timedelta) -> None:
    """Pretend the in-flight batch was first tried `age` ago (the ledger's own timestamp format)."""
    first_attempt = (datetime.now(timezone.utc) - age).isoformat(timespec="milliseconds")
    connection = sqlite3.connect(ledger)
    with connection:
        changed = connection.execute("UPDATE campaign_batches SET first_attempt_at = ? WHERE campaign_id = ? "
                                     "AND status = 'in_flight'", (first_attempt, CAMPAIGN)).rowcount
    connection.close()
    assert changed == 1


@pytest.fixture
def in_flight(start_emulator: Any, tmp_path: Path) -> tuple[Any, dict[str, str], list[str], Path]:
    """A campaign whose one batch reached the service but whose answer was lost: left in flight.

    The emulator processes the send and drops the answer; the client repeats it (same RequestId) and gets
    a 429 whose Retry-After is beyond what it waits, so the run stops with the batch in flight.
    """
    emulator = start_emulator(rate_limit="1/600", drop_after_processing_rate=1.0, fault_seed=1)
    env = emulator_env(emulator, tmp_path / "data")
    crm = make_crm(tmp_path / "crm.sqlite", 10)
    args = [*SEND, "--source", crm, "--query", "SELECT phone FROM customers", "--content", "Hi", "--campaign", CAMPAIGN,
            "--workers", "1", "--yes"]
    stopped = run_sdsync(env, *args)
    assert stopped.returncode == 1 and "left in flight" in stopped.stderr, stopped.stderr + stopped.stdout
    ledger = tmp_path / "data" / "campaigns.sqlite"
    assert ledger_rows(ledger, "SELECT status FROM campaign_batches") == [("in_flight",)]
    assert len(emulator.messages()) == 10 and emulator.stats()["faults_injected"]["dropped"] == 1
    emulator.set_faults()
    emulator.configure(rate_limit="1000/1")
    return emulator, env, args, ledger


def test_a_batch_in_flight_for_6_days_13_hours_is_refused_without_any_call(in_flight) -> None:
    emulator, env, args, ledger = in_flight
    age_in_flight(ledger, timedelta(days=6, hours=13))
    calls = emulator.calls("SendMessage")
    refused = run_sdsync(env, *args)
    assert refused.returncode == 1, refused.stderr + refused.stdout
    assert "batch(es) 1 have been in flight for almost 7 days" in refused.stderr
    assert "could send twice" in refused.stderr
    assert emulator.calls("SendMessage") == calls, "no SendMessage call at all"
    assert ledger_rows(ledger, "SELECT status FROM campaign_batches") == [("in_flight",)]


def test_a_batch_in_flight_for_6_days_resumes_and_its_duplicate_answer_counts_as_sent(in_flight) -> None:
    emulator, env, args, ledger = in_flight
    age_in_flight(ledger, timedelta(days=6))
    [(request_id,)] = ledger_rows(ledger, "SELECT request_id FROM campaign_batches")
    [original] = {m["message_id"] for m in emulator.messages()}
    calls = emulator.calls("SendMessage")
    resumed = run_sdsync(env, *args)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert "1 recognised as sent before" in resumed.stdout
    assert emulator.calls("SendMessage") == calls + 1
    assert emulator.stats()["responses_by_status"].get("409") == 1, "the repeat carried the same RequestId"
    assert {m["request_id"] for m in emulator.messages()} == {request_id} and len(emulator.messages()) == 10
    assert ledger_rows(ledger, "SELECT status, message_id FROM campaign_batches") == [("sent", original)]


def test_a_stale_batch_settled_as_not_sent_is_sent_by_the_next_run(in_flight) -> None:
    emulator, env, args, ledger = in_flight
    age_in_flight(ledger, timedelta(days=8))
    refused = run_sdsync(env, *args)
    assert refused.returncode == 1 and f"sdsync settle-batch --campaign {CAMPAIGN} --as sent|not-sent" in refused.stderr
    settled = run_sdsync(env, "settle-batch", "--campaign", CAMPAIGN, "--as", "not-sent")
    assert settled.returncode == 0 and "Settled batch(es) 1 of campaign guarded" in settled.stdout, settled.stderr
    assert ledger_rows(ledger, "SELECT status, first_attempt_at FROM campaign_batches") == [("planned", None)]
    again = run_sdsync(env, "settle-batch", "--campaign", CAMPAIGN, "--as", "not-sent")
    assert again.returncode == 2 and "no batch in flight" in again.stderr
    resumed = run_sdsync(env, *args)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert ledger_rows(ledger, "SELECT status FROM campaign_batches") == [("sent",)]


def test_a_stale_batch_settled_as_sent_counts_as_sent_and_is_never_repeated(in_flight) -> None:
    emulator, env, args, ledger = in_flight
    age_in_flight(ledger, timedelta(days=8))
    status = run_sdsync(env, "status")
    assert status.returncode == 1 and f"sdsync settle-batch --campaign {CAMPAIGN} --as sent|not-sent" in status.stdout
    assert run_sdsync(env, "settle-batch", "--campaign", CAMPAIGN, "--as", "delivered").returncode == 2
    assert run_sdsync(env, "settle-batch", "--campaign", "nope", "--as", "sent").returncode == 2
    settled = run_sdsync(env, "settle-batch", "--campaign", CAMPAIGN, "--batch", "1", "--as", "sent")
    assert settled.returncode == 0, settled.stderr
    assert ledger_rows(ledger, "SELECT count(*), count(message_id) FROM sent_messages") == [(10, 0)]
    calls = emulator.calls("SendMessage")
    rerun = run_sdsync(env, *args)
    assert rerun.returncode == 0 and emulator.calls("SendMessage") == calls, rerun.stderr + rerun.stdout
    assert run_sdsync(env, "status").returncode == 0
