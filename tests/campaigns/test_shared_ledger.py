"""The campaign ledger in the shared PostgreSQL state: real `sdsync send` processes on two data dirs (as two
machines), SIGKILL, a CRM change in between, concurrent runs, `--ledger` URLs, and the readers (status,
the pull's sent_messages) — checked against the emulator's own records."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from smartdialog_sync.api.resolve import read_settings
from smartdialog_sync.destinations.campaigns.ledger import Ledger
from smartdialog_sync.pipelines.pull_pipeline import PullOptions, run_pull
from tests.campaigns.helpers import SEND, ledger_rows, make_crm, phone, run_until_killed, sent_batches
from tests.support.cli import emulator_env, invoke_sdsync, run_sdsync, start_sdsync
from tests.support.waiting import wait_until

QUERY = "SELECT phone, first_name FROM customers ORDER BY id"


def _args(crm: str, campaign: str, batch_size: int, *more: str) -> list[str]:
    return [*SEND, "--source", crm, "--query", QUERY, "--content", "Hei {{first_name}}!", "--campaign", campaign,
            "--batch-size", str(batch_size), "--yes", *more]


def _machine(emulator: Any, folder: Path, state_url: str, rate_limit: str) -> dict[str, str]:
    """The environment of one runner: its own (empty) data dir, the shared state."""
    return {**emulator_env(emulator, folder / "data", rate_limit=rate_limit), "SMARTDIALOG__STATE_URL": state_url}


def test_killed_on_one_data_dir_resumed_on_an_empty_one_sends_each_recipient_once(
    start_emulator: Any, tmp_path: Path, postgres_url: str
) -> None:
    emulator = start_emulator(rate_limit="1000/1")
    crm_file = tmp_path / "crm.sqlite"
    crm = make_crm(crm_file, 3000)
    campaign, args = "moved", _args(crm, "moved", 50)
    machine_a = _machine(emulator, tmp_path / "a", postgres_url, rate_limit="10/1")
    assert run_until_killed(args, machine_a, postgres_url, campaign, 8, None) is None
    at_kill = dict(ledger_rows(postgres_url, "SELECT batch_no, status FROM campaign_batches WHERE campaign_id = ?", campaign))
    confirmed = {no for no, status in at_kill.items() if status == "sent"}
    in_flight = {no for no, status in at_kill.items() if status == "in_flight"}
    assert len(at_kill) == 60 and 8 <= len(confirmed) < 60, at_kill

    with sqlite3.connect(crm_file) as db:  # the CRM changes before the resume: one row gone, one renamed
        db.execute("DELETE FROM customers WHERE id = 2500")
        db.execute("UPDATE customers SET first_name = 'Changed' WHERE id = 2600")
    machine_b = _machine(emulator, tmp_path / "b", postgres_url, rate_limit="1000/1")
    resumed = run_sdsync(machine_b, *args)
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert f"Campaign {campaign} (planned" in resumed.stderr + resumed.stdout  # resumed from the ledger, not re-planned
    assert not (tmp_path / "b" / "data" / "campaigns.sqlite").exists()

    messages = emulator.messages()
    per_address = Counter(m["address"] for m in messages)
    assert set(per_address) == {phone(i) for i in range(3000)}  # as planned, the deleted row included
    assert max(per_address.values()) == 1, [a for a, n in per_address.items() if n > 1][:5]
    assert {m["content"] for m in messages if m["address"] == phone(2600)} == {"Hei Name2600!"}
    assert emulator.stats()["responses_by_status"].get("409", 0) <= len(in_flight)  # only the batches in flight repeated
    by_address = {m["address"]: m for m in messages}
    sent = ledger_rows(postgres_url, "SELECT batch_no, address, message_id, recipient_id FROM sent_messages WHERE campaign_id = ?", campaign)
    assert len(sent) == 3000
    for batch_no, address, message_id, recipient_id in sent:
        assert by_address[address]["message_id"] == message_id
        if recipient_id is None:  # only a batch whose answer the kill lost (the service answered 409 the second time)
            assert batch_no in in_flight
        else:
            assert recipient_id == by_address[address]["recipient_id"]
    assert sum(1 for row in sent if row[3] is None) <= 50 * len(in_flight)
    assert ledger_rows(postgres_url, "SELECT DISTINCT status FROM campaign_batches WHERE campaign_id = ?", campaign) == [("sent",)]


def test_two_runs_of_one_campaign_on_two_data_dirs_one_runs_the_other_is_refused_or_waits(
    start_emulator: Any, tmp_path: Path, postgres_url: str
) -> None:
    emulator = start_emulator(rate_limit="1000/1")
    crm = make_crm(tmp_path / "crm.sqlite", 600)
    campaign, args = "twice", _args(crm, "twice", 10)
    first = start_sdsync(_machine(emulator, tmp_path / "a", postgres_url, "2/1"), *args,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: sent_batches(postgres_url, campaign) >= 1, "the first batch sent", timeout=60)
        started = time.monotonic()
        refused = run_sdsync(_machine(emulator, tmp_path / "b", postgres_url, "1000/1"), *args)
        assert time.monotonic() - started < 15
        assert refused.returncode == 1, refused.stderr + refused.stdout
        assert f"campaign {campaign} is being run by " in refused.stderr and f"pid {first.pid} since " in refused.stderr
        assert first.poll() is None
        waiting = start_sdsync(_machine(emulator, tmp_path / "c", postgres_url, "1000/1"), *args, "--wait",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        assert waiting.wait(timeout=60) == 0
        waited = waiting.stdout.read() + waiting.stderr.read()  # type: ignore[union-attr]
        assert "Every batch is confirmed sent; nothing to do." in waited, waited
    finally:
        first.kill()
    assert Counter(Counter(m["address"] for m in emulator.messages()).values()) == {1: 600}
    assert emulator.stats()["responses_by_status"].get("409", 0) == 0


def test_ledger_option_takes_a_postgresql_url_and_refuses_other_urls(
    emulator: Any, crm: str, tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    env = emulator_env(emulator, tmp_path / "data")
    for bad in ("mysql://x", "ftp://x", "duckdb:///x.duckdb"):
        refused = invoke_sdsync(env, *SEND, "--source", crm, "--query", "SELECT phone FROM customers", "--content", "Hi",
                                "--campaign", "bad", "--yes", "--ledger", bad)
        assert refused.exit_code == 2, refused.output
        assert len([line for line in refused.stderr.splitlines() if line.strip()]) == 1, refused.stderr
        assert "--ledger must be a file path or a sqlite:/// URL" in refused.stderr
    assert list(cwd.iterdir()) == []
    sent = invoke_sdsync(env, *SEND, "--source", crm, "--query", "SELECT phone FROM customers", "--content", "Hi",
                         "--campaign", "by-url", "--yes", "--ledger", postgres_url)
    assert sent.exit_code == 0, sent.output
    assert list(cwd.iterdir()) == [] and not (tmp_path / "data" / "campaigns.sqlite").exists()
    assert ledger_rows(postgres_url, "SELECT count(*) FROM sent_messages WHERE campaign_id = 'by-url'") == [(250,)]
    local = tmp_path / "elsewhere" / "ledger.sqlite"
    by_file = invoke_sdsync(env, *SEND, "--source", crm, "--query", "SELECT phone FROM customers", "--content", "Hi again",
                            "--campaign", "by-file", "--yes", "--ledger", f"sqlite:///{local}")
    assert by_file.exit_code == 0, by_file.output
    assert ledger_rows(local, "SELECT count(*) FROM sent_messages WHERE campaign_id = 'by-file'") == [(250,)]
    assert (tmp_path / "elsewhere" / "locks").is_dir()  # its runner lock beside it

    for options, extra in (([ "--ledger", postgres_url], {}), ([], {"SMARTDIALOG__STATE_URL": postgres_url})):
        status = invoke_sdsync({**env, **extra}, "status", "--json", *options)
        report = json.loads(status.stdout)
        (entry,) = report["campaigns"]["campaigns"]
        assert (entry["campaign_id"], entry["sent"]["recipients"]) == ("by-url", 250)
        assert report["campaigns"]["location"].startswith("postgresql")
    bad_status = invoke_sdsync(env, "status", "--ledger", "ftp://x")
    assert bad_status.exit_code == 2 and list(cwd.iterdir()) == []


def test_the_pull_reads_sent_messages_from_the_shared_ledger_incrementally(tmp_path: Path, postgres_url: str) -> None:
    from tests.campaigns.test_ledger_engines import _write_campaign
    from smartdialog_sync.destinations.campaigns.ledger import SentRecipient

    ledger = Ledger.open(postgres_url)
    batches = _write_campaign(ledger, "pulled", 6, 2)
    for batch in batches[:2]:
        ledger.mark_sent("pulled", batch, f"m-{batch.batch_no}", [SentRecipient(r.address, f"r{r.address}", r.parts) for r in batch.recipients])
    duck = tmp_path / "pulled.duckdb"
    settings = read_settings(data_dir=str(tmp_path / "data"), base_url="http://127.0.0.1:9/api-integrations/v1",
                                state_url=postgres_url)
    options = PullOptions(resources=["sent_messages"], credentials=str(duck))
    assert run_pull(options, settings).rows["sent_messages"] == 4
    ledger.mark_sent("pulled", batches[2], "m-3", [SentRecipient(r.address, "x", r.parts) for r in batches[2].recipients])
    ledger.close()
    assert run_pull(options, settings).rows["sent_messages"] == 2  # only the new ones
    with duckdb.connect(str(duck), read_only=True) as db:
        rows = db.execute("SELECT message_id, count(*), min(protocol) FROM smartdialog.sent_messages GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("m-1", 2, "SMS"), ("m-2", 2, "SMS"), ("m-3", 2, "SMS")]
    assert not (tmp_path / "data" / "campaigns.sqlite").exists()
