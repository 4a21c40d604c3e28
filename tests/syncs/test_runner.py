"""Running declared syncs: a contact sync and a pull from their definitions, the runs recorded on both engines."""

from __future__ import annotations

import os
import stat
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from smartdialog_sync.pipelines.progress.log import LogProgress
from smartdialog_sync.pipelines.syncs.runner import run_declared_sync
from smartdialog_sync.pipelines.syncs.runs import SyncRuns, open_sync_runs
from smartdialog_sync.receiver.payloads import inbound_row

from smartdialog_sync.journal import open_journal
from smartdialog_sync.state.location import StateLocation
from tests.support.cli import Sdsync
from tests.receiver.harness import postgres_url  # noqa: F401  (fixture)
from tests.syncs.conftest import PHONES

CONTACTS = """
[syncs.crm_nightly]
kind = "contacts"
query = "SELECT phone, first_name FROM people"
customer = "demo-customer"
group_service = "crm-group"
schedule = "0 2 * * *"
timezone = "Europe/Helsinki"
"""


def test_a_contact_sync_runs_from_its_definition_with_the_crm_url_in_secrets_toml(
    project, on_emulator, crm: str, tmp_path: Path
) -> None:
    offer = ('[syncs.offer]\nkind = "campaign"\nsource = "env:CRM_URL"\nquery = "SELECT phone FROM people"\n'
             'customer = "demo-customer"\nservice = "sms-oneway"\nsender = "DemoOy"\ncontent = "Hi"\n')
    project(CONTACTS + offer, f'[syncs.crm_nightly]\nsource = "{crm}"\n')
    outcome = run_declared_sync("crm_nightly")
    with open_sync_runs(StateLocation(tmp_path / "data")) as runs:
        runs.start("offer", "campaign", "offer-2026-12-07")  # and then killed: no outcome
    assert (outcome.status, outcome.error) == ("completed", None), outcome
    assert outcome.summary.startswith("creates 3, updates 0, deletes 0, rejected 0")
    assert sorted(contact["phone"] for contact in on_emulator.contacts()) == PHONES
    done = Sdsync(tmp_path, env={"SMARTDIALOG__DATA_DIR": str(tmp_path / "data")}).run("syncs", "list")
    assert done.returncode == 0, done.stderr
    [row] = [line for line in done.stdout.splitlines() if "crm_nightly" in line]
    assert "0 2 * * * (Europe/Helsinki)" in row and "completed: creates 3" in row
    assert outcome.started_at[:16].replace("T", " ") in row
    [killed] = [line for line in done.stdout.splitlines() if line.startswith("│ offer")]
    assert "by hand" in killed and "running (or killed):" in killed
    assert f"{_next_two_am_in_helsinki():%Y-%m-%d %H:%M}" in row


def _next_two_am_in_helsinki() -> datetime:
    helsinki = ZoneInfo("Europe/Helsinki")
    now = datetime.now(helsinki)
    day = now.date() if now.hour < 2 else now.date() + timedelta(days=1)
    return datetime.combine(day, time(2), helsinki).astimezone(timezone.utc)


def test_a_pull_runs_from_its_definition_with_credentials_from_env(
    project, on_emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    journal = open_journal(str(data / "journal.sqlite"))
    body = b'{"messageId": "m-1", "sender": "+358401110001", "recipient": "+358401000001", "content": "hi"}'
    journal.write_batch([inbound_row(body)], [])
    journal.close()
    monkeypatch.setenv("PULL_TARGET", str(tmp_path / "warehouse.duckdb"))
    project('[syncs.hourly]\nkind = "pull"\nresources = ["inbound_messages"]\ncredentials = "env:PULL_TARGET"\n'
            'schedule = "0 * * * *"\n')
    lines: list[str] = []
    outcome = run_declared_sync("hourly", progress=LogProgress(lines.append))
    assert (outcome.status, outcome.summary) == ("completed", "loaded 1 row(s) into 1 table(s)"), outcome
    assert lines == ["pull: extract", "pull: normalize", "pull: load"], "the pull's steps, as Dagster logs them"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT message_id, content FROM smartdialog.inbound_messages").fetchall() == [("m-1", "hi")]


def test_a_failed_run_is_recorded_and_returned(project, on_emulator, crm: str, tmp_path: Path) -> None:
    project(CONTACTS.replace("people", "nowhere"), f'[syncs.crm_nightly]\nsource = "{crm}"\n')
    outcome = run_declared_sync("crm_nightly")
    assert outcome.status == "failed" and "no such table: nowhere" in outcome.summary
    with pytest.raises(type(outcome.error)):
        outcome.raise_for_failure()
    runs = SyncRuns(StateLocation(tmp_path / "data").target(None, "sync_runs.sqlite", "runs"))
    assert runs.last_runs()["crm_nightly"].status == "failed"
    runs.close()


def test_run_records_are_kept_on_postgresql_too(postgres_url: str, tmp_path: Path) -> None:
    state = StateLocation(tmp_path, postgres_url)
    with open_sync_runs(state) as runs:
        first = runs.start("crm_nightly", "contacts", None)
        runs.finish(first, "completed", "creates 3")
        second = runs.start("crm_nightly", "contacts", None)
    with open_sync_runs(state) as runs:  # another process, another machine: the same records
        last = runs.last_runs()["crm_nightly"]
    assert second > first and (last.status, last.finished_at, last.summary) == ("running", None, None)


def test_the_crm_password_from_secrets_toml_never_lands_in_the_run_records(project, on_emulator, tmp_path: Path) -> None:
    project(CONTACTS.replace("[syncs.crm_nightly]", '[syncs.crm_nightly]\nsource = "postgresql://crm@127.0.0.1:1/crm"'),
            '[syncs.crm_nightly]\npassword = "pw-secret-42"\n')
    outcome = run_declared_sync("crm_nightly")
    assert outcome.status == "failed" and "postgresql://crm:***@127.0.0.1:1/crm" in outcome.summary, outcome
    assert b"pw-secret-42" not in (tmp_path / "data" / "sync_runs.sqlite").read_bytes()


def test_the_run_records_file_is_private_and_reading_an_absent_one_creates_nothing(tmp_path: Path) -> None:
    state = StateLocation(tmp_path / "data")
    with open_sync_runs(state) as runs:
        assert runs.last_runs() == {}
    assert not (tmp_path / "data").exists()
    umask = os.umask(0o022)  # a usual umask: the store itself must keep its file private
    try:
        with open_sync_runs(state) as runs:
            runs.start("crm_nightly", "contacts", None)
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / "sync_runs.sqlite").stat().st_mode) == 0o600
