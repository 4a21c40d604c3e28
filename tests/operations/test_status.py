"""`sdsync status` on real stores: a fresh data dir, a receiver's journal and webhooks, a pull, the limiter."""

from __future__ import annotations

import shlex
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.cli import Sdsync


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")) if folder.exists() else []


def test_a_fresh_data_dir_shows_nothing_run_yet_and_creates_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sdsync = Sdsync(tmp_path, "--data-dir", str(data))
    done = sdsync.status()
    assert done.returncode == 0, done.stderr
    assert "nothing run yet" in done.stdout
    assert "All is well" in done.stdout
    assert done.stdout.count("not present (nothing run yet)") >= 5
    code, report = sdsync.status_json("--backlog-hours", "0", "--campaign-hours", "0")
    assert code == 0
    assert report["nothing_run_yet"] is True and report["attention"] == []
    assert [report[name]["present"] for name in ("limiter", "journal", "contacts", "campaigns")] == [False] * 4
    assert report["pulls"] == [] and report["webhooks"] == []
    assert not data.exists(), "status never creates the data dir or a store"

    data.mkdir()
    assert sdsync.status().returncode == 0
    assert _files(data) == []


def _wait_for_journal_rows(sdsync: Sdsync, rows: int) -> dict[str, Any]:
    """Poll `status --json` (reading the journal while the receiver writes it) until it holds `rows` inbound rows."""
    deadline = time.monotonic() + 30
    while True:
        _, report = sdsync.status_json()
        if report["journal"].get("inbound", 0) >= rows or time.monotonic() > deadline:
            return report
        time.sleep(0.2)


def test_journal_webhooks_pull_and_limiter(emulator: Any, receiver_factory: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    receiver = receiver_factory(env={"SMARTDIALOG__BASE_URL": emulator.base_url})
    receiver.extra_args = ["--public-url", receiver.root_url, "--customer", "demo-customer"]
    receiver.start()
    sdsync = Sdsync(tmp_path, "--base-url", emulator.base_url, "--data-dir", str(data))
    emulator.inbound("sms-twoway", "+358401234567", "Kyllä", count=3)

    report = _wait_for_journal_rows(sdsync, 3)
    journal = report["journal"]
    assert (journal["present"], journal["inbound"], journal["dead_letters"]) == (True, 3, 0)
    assert journal["size_bytes"] > 0
    (backlog,) = journal["not_pulled"]
    assert (backlog["pipeline"], backlog["inbound"], backlog["delivery_reports"]) == (None, 3, 0)
    assert backlog["oldest_age_s"] >= 0
    (hook,) = report["webhooks"]
    (registered,) = emulator.webhooks()
    assert (hook["customer"], hook["service"], hook["action_id"]) == ("demo-customer", "sms-twoway", registered["action_id"])
    assert receiver.secret not in hook["endpoint"] and "/hooks/***/inbound" in hook["endpoint"]
    (window,) = report["limiter"]["connections"]
    assert window["this_connection"] is True and window["calls_in_window"] >= 1, "the receiver's registration calls"

    done = sdsync.status()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not yet pulled (no pull has run): 3 inbound, 0 delivery reports" in done.stdout
    assert receiver.secret not in done.stdout

    late = sdsync.status("--backlog-hours", "0")
    assert late.returncode == 1
    assert "journal: 3 row(s) not yet pulled by any pull (none has run)" in late.stdout
    assert "1 thing(s) need attention" in late.stderr

    pulled = sdsync.run("pull", "--resources", "inbound_messages,delivery_reports")
    assert pulled.returncode == 0, pulled.stderr
    code, report = sdsync.status_json("--backlog-hours", "0")
    assert code == 0, report["attention"]
    (pull,) = report["pulls"]
    assert pull["pipeline"].startswith("smartdialog_pull_duckdb_smartdialog_")
    assert pull["last_run"]["outcome"] == "completed"
    assert pull["last_run"]["rows"]["inbound_messages"] == 3
    (backlog,) = report["journal"]["not_pulled"]
    mark = f"{pull['pipeline']}@{socket.gethostname()}:{data.resolve() / 'pipelines'}"
    assert (backlog["pipeline"], backlog["inbound"], backlog["delivery_reports"]) == (mark, 0, 0), "the pull's mark"
    assert backlog["marked_at"] is not None and backlog["oldest_age_s"] is None
    assert pull["info_command"] == shlex.join(["dlt", "pipeline", "--pipelines-dir", str(data.resolve() / "pipelines"),
                                               pull["pipeline"], "info"])
    info = subprocess.run(shlex.split(pull["info_command"]), cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=sdsync.env)
    assert info.returncode == 0 and f"Found pipeline {pull['pipeline']}" in info.stdout, info.stderr

    emulator.inbound("sms-twoway", "+358401234568", "Another", count=2)
    report = _wait_for_journal_rows(sdsync, 5)
    (backlog,) = report["journal"]["not_pulled"]
    assert (backlog["pipeline"], backlog["inbound"]) == (mark, 2)
    text = sdsync.status().stdout
    assert f"not yet pulled by {mark}: 2 inbound" in text
    assert "inbound_messages 3" in text and pull["info_command"] in text

    # A public URL with rich markup in it (registered again on restart): printed as it is, never interpreted.
    receiver.stop()
    receiver.extra_args[1] = receiver.root_url + "/[bold]x[/]"
    receiver.start()
    text = sdsync.status().stdout
    assert "/[bold]x[/]/hooks/***/inbound" in text, text


def test_a_postgres_journal_and_limiter(emulator: Any, receiver_factory: Any, postgres_url: str, tmp_path: Path) -> None:
    receiver = receiver_factory(journal_url=postgres_url, env={"SMARTDIALOG__BASE_URL": emulator.base_url,
                                                              "SMARTDIALOG__LIMITER_URL": postgres_url})
    receiver.extra_args = ["--public-url", receiver.root_url, "--customer", "demo-customer"]
    receiver.start()
    emulator.inbound("sms-twoway", "+358401234567", "Hei", count=2)
    sdsync = Sdsync(tmp_path, "--base-url", emulator.base_url, "--data-dir", str(tmp_path / "data"),
                    env={"SMARTDIALOG__LIMITER_URL": postgres_url})
    deadline = time.monotonic() + 30
    while True:
        code, report = sdsync.status_json("--journal", postgres_url)
        if report["journal"].get("inbound") == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert code == 0, report["attention"]
    assert report["journal"]["inbound"] == 2 and report["journal"]["size_bytes"] > 0
    assert len(report["webhooks"]) == 1
    (window,) = report["limiter"]["connections"]
    assert window["this_connection"] and window["calls_in_window"] >= 1
    assert "postgres@" in report["limiter"]["location"]


def test_a_failed_pull_needs_attention_with_its_root_cause(emulator: Any, tmp_path: Path) -> None:
    sdsync = Sdsync(tmp_path, "--base-url", emulator.base_url, "--data-dir", str(tmp_path / "data"),
                    env={"SMARTDIALOG__ACCESS_TOKEN": "refused-token"})
    assert sdsync.run("pull", "--resources", "customers").returncode == 1
    code, report = sdsync.status_json()
    assert code == 1
    (pull,) = report["pulls"]
    run = pull["last_run"]
    assert (run["outcome"], run["failed_step"], run["rows"]) == ("failed", "extract", {})
    assert run["error"].startswith("GetUserCustomers: request failed (HTTP 401)"), run["error"]
    (reason,) = report["attention"]
    assert reason.startswith(f"pull {pull['pipeline']}: the last run failed at step extract: GetUserCustomers")
    assert reason.endswith("run the same `sdsync pull` once the cause is fixed, its good run supersedes this one")
    assert "FAILED at step extract" in sdsync.status().stdout
    fixed = Sdsync(tmp_path, "--base-url", emulator.base_url, "--data-dir", str(tmp_path / "data"))
    assert fixed.run("pull", "--resources", "customers").returncode == 0
    code, report = fixed.status_json()
    assert code == 0 and report["pulls"][0]["last_run"]["outcome"] == "completed", report["attention"]


def test_dead_letters_need_attention_until_replayed(receiver_factory: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    receiver = receiver_factory().start()
    sdsync = Sdsync(tmp_path, "--data-dir", str(data))
    code, report = sdsync.status_json()
    assert code == 0 and report["journal"]["dead_letters"] == 0
    with httpx.Client(timeout=30) as client:
        refused = client.post(receiver.inbound_url, content=b"NaN", headers={"content-type": "application/json"})
    assert 400 <= refused.status_code < 500
    code, report = sdsync.status_json()
    assert code == 1 and report["journal"]["dead_letters"] == 1
    (reason,) = report["attention"]
    assert reason.startswith("journal: 1 dead letter(s) waiting: see `sdsync journal dead-letters`")
    assert reason.endswith("discard those that will never validate with --discard ID... (or --discard --all)")
    assert "1 dead letters waiting for a replay" in sdsync.status().stdout
    assert sdsync.run("journal", "dead-letters", "--discard", "--all").returncode == 0
    code, report = sdsync.status_json()
    assert code == 0 and report["journal"]["dead_letters"] == 0, report["attention"]


def test_reading_a_closed_sqlite_store_creates_no_file(tmp_path: Path) -> None:
    from smartdialog_sync.journal import open_journal

    data = tmp_path / "data"
    open_journal(data / "journal.sqlite").close()
    assert _files(data) == ["journal.sqlite"]
    code, report = Sdsync(tmp_path, "--data-dir", str(data)).status_json()
    assert code == 0 and report["journal"]["inbound"] == 0
    assert _files(data) == ["journal.sqlite"], "no -wal/-shm file appears"


def test_an_unreadable_pull_state_names_the_folder_to_remove(tmp_path: Path) -> None:
    from smartdialog_sync.pipelines.operations.options import StatusOptions
    from smartdialog_sync.pipelines.operations.status import collect_status

    broken = tmp_path / "pipelines" / "smartdialog_pull_duckdb_x"
    broken.mkdir(parents=True)
    (broken / "state.json").write_text("{not json")
    (reason,) = collect_status(StatusOptions(data_dir=tmp_path))["attention"]
    assert reason.startswith("pull smartdialog_pull_duckdb_x: cannot read its state: JSONDecodeError"), reason
    assert reason.endswith(f"(`rm -r {broken}`) and its next pull restores the state from its destination")


def test_an_unreadable_store_is_reported_not_raised(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "campaigns.sqlite").write_bytes(b"this is not a database" * 100)
    done = Sdsync(tmp_path, "--data-dir", str(data)).status()
    assert done.returncode == 1, done.stderr
    assert "campaigns: cannot read the store: DatabaseError: file is not a database" in done.stdout
    assert "Traceback" not in done.stderr
