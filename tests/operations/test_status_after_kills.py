"""`sdsync status` on the states a SIGKILL leaves: an interrupted contact sync, a campaign with unsent batches."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from smartdialog_sync.journal import open_journal
from tests.campaigns.helpers import SEND, make_crm
from tests.support.cli import Sdsync, emulator_env, run_sdsync, start_sdsync
from tests.contacts.crm import contact, sqlite_crm
from tests.contacts.sync_cli import CUSTOMER, GROUP, SyncCli


def _kill_when(process: subprocess.Popen[Any], reached: Callable[[], bool]) -> None:
    """SIGKILL `process` as soon as `reached()` is true (it must not finish first)."""
    deadline = time.monotonic() + 120
    while not reached():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "the kill point was never reached"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL


def test_an_interrupted_contact_sync_needs_attention(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit="100000/60")
    emulator.set_faults(latency_ms=40)
    crm = sqlite_crm(tmp_path)
    crm.write([contact(n) for n in range(1, 301)] + [contact(999, phone="12")])
    cli = SyncCli(emulator, crm, tmp_path)
    calls_before = emulator.stats()["calls_total"]
    _kill_when(cli.start(), lambda: emulator.stats()["calls_total"] - calls_before >= 10)

    sdsync = Sdsync(tmp_path, "--base-url", emulator.base_url, "--data-dir", str(tmp_path / "data"))
    code, report = sdsync.status_json("--state", str(cli.state))
    assert code == 1
    (group,) = report["contacts"]["groups"]
    assert (group["customer"], group["group_service"], group["interrupted"]) == (CUSTOMER, GROUP, True)
    assert group["last_run"]["status"] == "running" and group["last_run"]["run_id"] == 1
    ops = group["open_ops"]
    assert ops["planned"] + ops["inflight"] > 0 and ops["interrupted"] == 0
    assert group["calls_left"] == ops["planned"] + 2 * ops["inflight"]
    assert group["rejected_rows"] == 1, "written before the first call, so the killed run has it"
    assert 0 < group["contacts_known"] + ops["planned"] + ops["inflight"] <= 300
    (reason,) = report["attention"]
    assert reason.startswith(f"contacts {CUSTOMER}/{GROUP}: run 1 was interrupted (running; ")
    done = sdsync.status("--state", str(cli.state))
    assert done.returncode == 1
    assert reason in done.stdout and "Needs attention" in done.stdout
    assert "1 thing(s) need attention" in done.stderr

    # While the rerun holds the state file, status says so and does not disturb it.
    calls_before = emulator.stats()["calls_total"]
    finished = cli.start()
    while emulator.stats()["calls_total"] == calls_before and finished.poll() is None:
        time.sleep(0.01)
    code, report = sdsync.status_json("--state", str(cli.state))
    assert finished.poll() is None, "the rerun was still running while status read"
    assert (code, report["contacts"]["busy"], report["contacts"]["groups"]) == (0, True, [])
    assert finished.wait(timeout=300) == 0, (tmp_path / "sdsync.log").read_text()[-3000:]
    code, report = sdsync.status_json("--state", str(cli.state))
    assert code == 0, report["attention"]
    (group,) = report["contacts"]["groups"]
    assert group["last_run"]["status"] == "completed" and group["last_run"]["rejected"] == 1
    assert group["open_ops"] == {"planned": 0, "inflight": 0, "interrupted": 0} and group["calls_left"] == 0
    assert group["contacts_known"] == 300 and not group["interrupted"]
    assert group["rejected_rows"] == 1
    assert "1 rejected rows" in sdsync.status("--state", str(cli.state)).stdout


def _sent_batches(ledger: Path) -> int:
    if not ledger.exists():
        return 0
    connection = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT count(*) FROM campaign_batches WHERE status = 'sent'").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not created yet
        return 0
    finally:
        connection.close()


def test_a_campaign_left_unsent_by_a_kill(start_emulator: Any, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit="100000/60")
    data = tmp_path / "data"
    env = emulator_env(emulator, data, rate_limit="4/1")
    crm = make_crm(tmp_path / "crm.sqlite", 1000)
    args = [*SEND, "--source", crm, "--query", "SELECT phone, first_name FROM customers ORDER BY id",
            "--content", "Hei {{first_name}}!", "--campaign", "spring-1", "--batch-size", "50", "--yes"]
    process = start_sdsync(env, *args)
    _kill_when(process, lambda: _sent_batches(data / "campaigns.sqlite") >= 3)

    sdsync = Sdsync(tmp_path, env=env)
    code, report = sdsync.status_json()
    assert code == 0, "a campaign killed just now is shown, not yet flagged"
    (campaign,) = report["campaigns"]["campaigns"]
    assert (campaign["campaign_id"], campaign["kind"], campaign["customer"]) == ("spring-1", "sms", "demo-customer")
    sent, in_flight, unsent = campaign["sent"], campaign["in_flight"], campaign["unsent"]
    assert sent["batches"] >= 3 and sent["batches"] + in_flight["batches"] + unsent["batches"] == 20
    assert sent["recipients"] + in_flight["recipients"] + unsent["recipients"] == 1000
    assert unsent["batches"] + in_flight["batches"] > 0
    assert (campaign["oldest_in_flight_age_s"] is None) == (in_flight["batches"] == 0)
    text = sdsync.status().stdout
    assert "spring-1 (sms, demo-customer/sms-oneway, created " in text
    assert f"batches sent {sent['batches']} ({sent['recipients']:,} recipients)" in text

    late = sdsync.status("--campaign-hours", "0")
    assert late.returncode == 1
    pending = unsent["batches"] + in_flight["batches"]
    assert f"campaign spring-1: {pending} batch(es) not confirmed sent, created " in late.stdout

    rerun = run_sdsync(env, *args)
    assert rerun.returncode == 0, rerun.stderr
    code, report = sdsync.status_json("--campaign-hours", "0")
    assert code == 0, report["attention"]
    (campaign,) = report["campaigns"]["campaigns"]
    assert campaign["sent"] == {"batches": 20, "recipients": 1000}
    assert campaign["unsent"]["batches"] == campaign["in_flight"]["batches"] == 0
    assert campaign["scheduled_at_service"] is None

    open_journal(data / "journal.sqlite").close()  # the receiver's (no STOP): a second campaign needs opt-outs
    later = (datetime.now(timezone.utc) + timedelta(days=3)).replace(microsecond=0)
    scheduled = run_sdsync(env, *SEND, "--source", crm, "--query", "SELECT phone FROM customers WHERE id < 120",
                           "--content", "Tervetuloa", "--campaign", "later-1", "--batch-size", "50",
                           "--at", later.isoformat(), "--yes")
    assert scheduled.returncode == 0, scheduled.stderr
    code, report = sdsync.status_json("--campaign-hours", "0")
    assert code == 0, report["attention"]
    campaign = {entry["campaign_id"]: entry for entry in report["campaigns"]["campaigns"]}["later-1"]
    assert campaign["sent"] == {"batches": 3, "recipients": 120}
    assert campaign["scheduled_at_service"] == {"batches": 3, "recipients": 120, "first_at": later.isoformat()}
    assert f"3 sent batch(es) (120 recipients) are scheduled at SmartDialog, the first for {later.isoformat()}" in (
        sdsync.status().stdout)
