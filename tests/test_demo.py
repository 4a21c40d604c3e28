"""`sdsync demo` runs every flow on embedded defaults and leaves a consistent dataset behind."""

from __future__ import annotations

import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb

from smartdialog_sync.pipelines.operations.doctor import privacy_check


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "smartdialog_sync.pipelines.cli", "demo", "--data-dir", str(data_dir), "--contacts", "150", "--recipients", "60"],
        capture_output=True, text=True, timeout=400,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "demo finished" in result.stderr
    assert "about a minute" not in result.stderr
    secret = (data_dir / "receiver_secret").read_text().strip()
    assert secret not in result.stdout + result.stderr, "the receiver's secret is masked"
    echoed = [shlex.split(line[2:]) for line in result.stderr.splitlines() if line.startswith("$ sdsync ")]
    assert [words[1] for words in echoed] == ["contacts", "send", "pull", "report"], result.stderr
    send = echoed[1]
    assert send[send.index("--query") + 1] == "SELECT phone, region, first_name FROM contacts WHERE id <= 60"
    assert send[send.index("--content") + 1].startswith("Hi {{first_name}}, our spring sale")
    assert "/hooks/***/dlr" in send[send.index("--dlr-url") + 1]
    with sqlite3.connect(data_dir / "crm.sqlite") as crm:
        crm_phones = {row[0] for row in crm.execute("SELECT phone FROM contacts WHERE id <= 60")}
    with duckdb.connect(str(data_dir / "sdsync.duckdb"), read_only=True) as db:
        sent = db.execute("SELECT count(*), count(DISTINCT address) FROM smartdialog.sent_messages").fetchone()
        inbound = db.execute("SELECT count(*), count(DISTINCT message_id) FROM smartdialog.inbound_messages").fetchone()
        channels = db.execute("SELECT DISTINCT protocol, service_id FROM smartdialog.sent_messages").fetchall()
        reports = db.execute("SELECT count(DISTINCT recipient_id) FROM smartdialog.delivery_reports").fetchone()[0]
    assert 0 < sent[0] == sent[1] <= len(crm_phones)  # each valid recipient once
    assert channels == [("SMS", "sms-twoway")]
    assert inbound == (40, 40)
    assert reports == sent[0]  # every recipient got its delivery report through the receiver
    page = (data_dir / "report.html").read_text()
    assert "demo-spring-sale" in page and "<svg" in page
    privacy = privacy_check(data_dir)  # the CRM, the server logs and the report are private too
    assert privacy.outcome == "ok", privacy.detail
