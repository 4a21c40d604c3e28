"""`sdsync pull` as a user runs it: rows per table, the failing step named, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from smartdialog_sync.journal import InboundRow, SQLiteJournal
from tests.receiver.harness import REPO_ROOT


def _sdsync(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "smartdialog_sync.pipelines.cli", "--data-dir", str(data_dir), "--base-url",
               "http://127.0.0.1:9/api-integrations/v1", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_pull_prints_rows_per_table_into_the_default_duckdb(tmp_path) -> None:
    data_dir = tmp_path / "data"
    journal = SQLiteJournal(data_dir / "journal.sqlite")
    journal.write_batch([InboundRow(f"m{i}", None, None, "x", "SMS", None, None, 1) for i in range(7)], [])
    journal.close()
    done = _sdsync(data_dir, "pull", "--resources", "inbound_messages,delivery_reports")
    assert done.returncode == 0, done.stderr
    assert "inbound_messages" in done.stdout and "7" in done.stdout
    assert (data_dir / "sdsync.duckdb").exists()


def test_a_failing_load_names_the_step_and_exits_1(tmp_path) -> None:
    data_dir = tmp_path / "data"
    journal = SQLiteJournal(data_dir / "journal.sqlite")
    journal.write_batch([InboundRow("m1", None, None, "x", "SMS", None, None, 1)], [])
    journal.close()
    done = _sdsync(data_dir, "pull", "--resources", "inbound_messages", "--destination", "postgres",
                   "--credentials", "postgresql://nobody:secret-pw@127.0.0.1:1/nothing")
    assert done.returncode == 1
    assert "pull failed at step load" in done.stderr
    assert "secret-pw" not in done.stderr + done.stdout


def test_bad_usage_exits_2(tmp_path) -> None:
    done = _sdsync(tmp_path, "pull", "--resources", "no_such_table")
    assert done.returncode == 2 and "unknown resource" in done.stderr
    done = _sdsync(tmp_path, "serve", "--public-url", "http://127.0.0.1:1")
    assert done.returncode == 2 and "--customer" in done.stderr


def test_serve_prints_the_delivery_report_url_for_sends(tmp_path) -> None:
    from smartdialog_sync.receiver.secret import load_or_create_secret

    done = _sdsync(tmp_path, "serve", "--print-dlr-url", "--public-url", "https://hooks.example.com/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"https://hooks.example.com/hooks/{load_or_create_secret(tmp_path)}/dlr"
