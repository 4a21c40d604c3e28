"""The commands raise alerts through the one hook: a failed `sdsync pull` alerts once under its pipeline's name,
and its next good run resolves the incident."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from smartdialog_sync.journal import DeadLetter, open_journal
from tests.support.cli import Sdsync


def test_a_failed_pull_alerts_once_and_its_next_good_run_resolves_it(emulator: Any, webhook: Any, tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    refused = Sdsync(tmp_path, "--base-url", emulator.base_url, "--data-dir", data,
                     env={"SMARTDIALOG__ACCESS_TOKEN": "refused-token", "ALERTS__WEBHOOK_URL": webhook.url})
    for _ in range(2):
        done = refused.run("pull", "--resources", "customers")
        assert done.returncode == 1, done.stderr
    (alert,) = webhook.texts()
    assert alert.startswith("sdsync alert [run_failed] pull smartdialog_pull_duckdb_smartdialog_"), alert
    assert "pull failed at step extract: GetUserCustomers: request failed (HTTP 401)" in alert
    assert webhook.url.split("/services/")[1] not in done.stdout + done.stderr
    good = Sdsync(tmp_path, "--base-url", emulator.base_url, "--data-dir", data, env={"ALERTS__WEBHOOK_URL": webhook.url})
    assert good.run("pull", "--resources", "customers").returncode == 0
    with sqlite3.connect(tmp_path / "data" / "alerts.sqlite") as db:
        assert db.execute("SELECT count(*) FROM alert_incidents").fetchone() == (0,), "resolved by the good pull"


def test_status_alert_raises_the_journal_incidents_once(webhook: Any, tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "data" / "journal.sqlite")
    journal.write_batch([], [], [DeadLetter("inbound", "messageId must be a non-empty string", 422, b"{}", 2, 1)])
    journal.close()
    sdsync = Sdsync(tmp_path, "--data-dir", str(tmp_path / "data"), env={"ALERTS__WEBHOOK_URL": webhook.url})
    for _ in range(2):
        assert sdsync.status("--alert").returncode == 1
    (alert,) = webhook.texts()
    assert "[dead_letters] journal: 1 dead letter(s) waiting" in alert


def test_status_alert_reads_the_journal_given_with_journal(webhook: Any, tmp_path: Path) -> None:
    elsewhere = tmp_path / "receiver" / "journal.sqlite"
    journal = open_journal(elsewhere)
    journal.write_batch([], [], [DeadLetter("inbound", "messageId must be a non-empty string", 422, b"{}", 2, 1)])
    journal.close()
    sdsync = Sdsync(tmp_path, "--data-dir", str(tmp_path / "data"), env={"ALERTS__WEBHOOK_URL": webhook.url})
    assert sdsync.status("--journal", str(elsewhere), "--alert").returncode == 1
    (alert,) = webhook.texts()
    assert "[dead_letters] journal: 1 dead letter(s) waiting" in alert
