"""`sdsync state migrate`: a data dir's local stores (ledger, contact state, journal) copied into a real
PostgreSQL, idempotently; then another, empty data dir sharing that state continues from it; a target that
holds different data is refused, naming the conflict."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from smartdialog_sync.pipelines.alerts.store import IncidentStore
from smartdialog_sync.journal import DeadLetter, InboundRow, PostgresJournal, SQLiteJournal
from tests.campaigns.helpers import SEND, make_crm
from tests.support.cli import emulator_env, run_sdsync

QUERY = "SELECT phone, first_name FROM customers ORDER BY id"


def _send(env: dict[str, str], crm: str, content: str) -> Any:
    return run_sdsync(env, *SEND, "--source", crm, "--query", QUERY, "--content", content, "--campaign", "moving",
                      "--batch-size", "10", "--yes")


def _sync(env: dict[str, str], crm: str) -> Any:
    return run_sdsync(env, "contacts", "sync", "--source", crm, "--table", "customers", "--customer", "demo-customer",
                      "--group-service", "crm-group")


def test_local_stores_move_into_postgres_and_another_data_dir_continues_from_them(
    emulator: Any, tmp_path: Path, postgres_url: str
) -> None:
    crm = make_crm(tmp_path / "crm.sqlite", 30)
    local = emulator_env(emulator, tmp_path / "a")
    assert _send(local, crm, "Hei {{first_name}}!").returncode == 0
    assert _sync(local, crm).returncode == 0
    journal = SQLiteJournal(tmp_path / "a" / "journal.sqlite")  # what a receiver journaled: one STOP reply
    journal.write_batch([InboundRow("m-1", "+358401000003", "+358401000000", "STOP", "SMS", 1, None, 1)], [],
                        [DeadLetter("inbound", "messageId must be a non-empty string", 422, b"{}", 2, 1)])
    assert journal.discard_dead_letters(None, 2) == [1]  # discarded: its audit row moves with the journal
    journal.close()
    IncidentStore(tmp_path / "a" / "alerts.sqlite").add_rows([("run_failed", "pull p", "pull p: failed", 1, 2, None)])
    sent = len(emulator.messages())

    moved = run_sdsync(local, "state", "migrate", "--to", postgres_url)
    assert moved.returncode == 0, moved.stderr
    assert "ledger (" in moved.stdout and "contact state (" in moved.stdout and "journal (" in moved.stdout
    assert "copied" in moved.stdout and "set state_url" in moved.stdout
    again = run_sdsync(local, "state", "migrate", "--to", postgres_url)
    assert again.returncode == 0, again.stderr
    assert " 0 copied" in again.stdout and "already there" in again.stdout
    assert all(f" {n} copied" not in again.stdout for n in range(1, 100)), again.stdout

    target = PostgresJournal(postgres_url)
    assert target.count_discarded_letters() == 1 and target.count_dead_letters() == 0
    target.close()
    assert IncidentStore(postgres_url).rows() == [("run_failed", "pull p", "pull p: failed", 1, 2, None)], "alerted once"

    shared = {**emulator_env(emulator, tmp_path / "b"), "SMARTDIALOG__STATE_URL": postgres_url}
    status = run_sdsync(shared, "status", "--json")
    report = json.loads(status.stdout)
    (campaign,) = [c for c in report["campaigns"]["campaigns"] if c["campaign_id"] == "moving"]
    assert campaign["batches"]["sent"] == {"batches": 3, "recipients": 30}, campaign
    resumed = _send(shared, crm, "Hei {{first_name}}!")
    assert resumed.returncode == 0, resumed.stderr
    assert "nothing to do" in resumed.stdout + resumed.stderr
    calls = emulator.stats()["calls_total"]
    resync = _sync(shared, crm)
    assert resync.returncode == 0, resync.stderr
    assert "Sync run 2: completed" in resync.stdout, "the run numbers continue from the migrated state"
    assert re.search(r"creates\s*│\s*0 .*unchanged\s*│\s*30 ", resync.stdout, re.S), resync.stdout
    assert emulator.stats()["calls_total"] == calls, "an unchanged CRM against the migrated state needs no call"
    assert len(emulator.messages()) == sent

    other = emulator_env(emulator, tmp_path / "c")  # another data dir sent a campaign of the same id differently
    emulator.reset()
    assert _send(other, crm, "Something else").returncode == 0
    refused = run_sdsync(other, "state", "migrate", "--to", postgres_url)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "campaign moving" in refused.stderr and refused.stderr.count("\n") == 1, refused.stderr


def test_migrate_refuses_a_target_that_is_not_postgres_and_a_configured_shared_state(
    emulator: Any, tmp_path: Path, postgres_url: str
) -> None:
    env = emulator_env(emulator, tmp_path / "a")
    wrong = run_sdsync(env, "state", "migrate", "--to", "mysql://x@db/sdsync")
    assert wrong.returncode == 2 and "postgresql://" in wrong.stderr
    shared = run_sdsync({**env, "SMARTDIALOG__STATE_URL": postgres_url}, "state", "migrate", "--to", postgres_url)
    assert shared.returncode == 2 and "state_url is set already" in shared.stderr
    where = run_sdsync({**env, "SMARTDIALOG__STATE_URL": postgres_url}, "state", "show")
    assert where.returncode == 0 and "campaign ledger: postgresql://" in where.stdout
    assert "open alert incidents: postgresql://" in where.stdout
