"""`sdsync pull` as a user runs it: rows per table, no dlt warnings, the pipeline to inspect, the failing step
named, exit codes, a light command module."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from smartdialog_sync.receiver.payloads import dlr_row

from smartdialog_sync.api import SmartDialogClient, models, resolve_settings
from smartdialog_sync.journal import InboundRow, SQLiteJournal
from tests.receiver.harness import REPO_ROOT
from tests.support.cli import clean_env, run_sdsync

UNREACHABLE_API = "http://127.0.0.1:9/api-integrations/v1"


def _sdsync(data_dir: Path, *args: str, base_url: str = UNREACHABLE_API) -> subprocess.CompletedProcess[str]:
    return run_sdsync(clean_env(COLUMNS="500"),  # rich wraps long lines at the terminal width
                      "--data-dir", str(data_dir), "--base-url", base_url, *args, timeout=300)


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
    assert "dlt pipeline --pipelines-dir" in done.stderr and " trace" in done.stderr, "where to look"
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


def _fill(data_dir: Path, emulator) -> None:
    """A journal with messages and a delivery report holding nulls, and two managed contacts with gaps."""
    journal = SQLiteJournal(data_dir / "journal.sqlite")
    report = [("messageId", "m1"), ("recipientId", "r1"), ("status", "Delivered")]
    journal.write_batch([InboundRow(f"m{i}", None, None, None, "SMS", None, None, 1) for i in range(3)],
                        [dlr_row(report)])
    journal.close()
    with SmartDialogClient(resolve_settings(base_url=emulator.base_url, data_dir=str(data_dir))) as api:
        api.create_group_contact("demo-customer", "crm-group", models.GroupContact(phone="+358401110001", first_name="A"))
        api.create_group_contact("demo-customer", "crm-group", models.GroupContact(phone="+358401110002", birth_year=1990))


def test_a_full_pull_prints_no_dlt_warning_and_the_pipeline_to_inspect(emulator, tmp_path) -> None:
    data_dir = tmp_path / "data"
    _fill(data_dir, emulator)
    done = _sdsync(data_dir, "pull", "--phone", "+358401110001", "--phone", "+358401110002", "--phone", "+358401110009",
                   "--group-customer", "demo-customer", "--group-service", "crm-group", base_url=emulator.base_url)
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "could not have their types inferred" not in output
    assert "warning" not in output.lower(), output
    assert "group_contacts" in done.stdout and "delivery_reports" in done.stdout

    command = next(line.strip() for line in done.stdout.splitlines() if line.strip().startswith("dlt pipeline"))
    args = shlex.split(command)
    assert args[2:4] == ["--pipelines-dir", str((data_dir / "pipelines").resolve())]
    assert (data_dir / "pipelines" / args[4]).is_dir(), "the working folder printed is the pipeline's"
    dlt_cli = str(Path(sys.executable).parent / "dlt")
    for subcommand, expected in (("info", args[4]), ("trace", "Step load COMPLETED"), ("schema", "group_contacts")):
        shown = subprocess.run([dlt_cli, *args[1:-1], subcommand], cwd=tmp_path, capture_output=True, text=True,
                               timeout=120)
        assert shown.returncode == 0 and expected in shown.stdout, (subcommand, shown.stdout[-2000:], shown.stderr)


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize(("args", "expected"), [
    (["--destination", "nosuchdest"], "unknown dlt destination 'nosuchdest'"),
    (["--destination", "postgres", "--credentials", "not-a-url"], "postgresql://USER"),
    (["--credentials", "/no/such/folder/x.duckdb"], "no folder for the DuckDB file"),
])
def test_a_bad_destination_is_one_line_and_exit_2(tmp_path, args, expected) -> None:
    line = _one_error_line(_sdsync(tmp_path, "pull", "--resources", "inbound_messages", *args))
    assert expected in line


def test_a_destination_missing_a_setting_is_one_line_and_exit_2_before_extracting(tmp_path) -> None:
    journal = SQLiteJournal(tmp_path / "journal.sqlite")
    journal.write_batch([InboundRow("m1", None, None, "x", "SMS", None, None, 1)], [])
    journal.close()
    line = _one_error_line(_sdsync(tmp_path, "pull", "--resources", "inbound_messages", "--destination", "postgres"))
    assert "DESTINATION__POSTGRES__CREDENTIALS" in line
    done = _sdsync(tmp_path, "pull", "--resources", "inbound_messages")
    assert done.returncode == 0 and "inbound_messages" in done.stdout, "the failed pull moved no cursor"


def test_the_pull_command_imports_no_heavy_module() -> None:
    heavy = ("dlt", "duckdb", "pyarrow", "pydantic", "httpx", "sqlalchemy", "pandas")
    code = ("import sys, smartdialog_sync.pipelines.commands.pull; "
            f"print(sorted(name for name in {heavy!r} if name in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
