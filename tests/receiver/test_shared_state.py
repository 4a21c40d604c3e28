"""The journal in the shared state: receivers on several machines (data dirs) with no --journal journal into
the state's PostgreSQL with one webhook secret, a pull from another empty data dir loads what they received,
every machine sees its marks; a local journal moves there with `migrate_journal`."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from smartdialog_sync.journal import DeadLetter, DlrRow, InboundRow, PostgresJournal, Registration, SQLiteJournal, migrate_journal
from smartdialog_sync.state.migration import StateConflict
from tests.support.cli import clean_env, run_sdsync

UNREACHABLE_API = "http://127.0.0.1:9/api-integrations/v1"


def _sdsync(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`sdsync --data-dir DATA_DIR ARGS` as a process with `env` on top of a clean environment."""
    return run_sdsync(clean_env(COLUMNS="500", **env), "--data-dir", str(data_dir), *args, timeout=300)


def test_receivers_on_two_machines_journal_into_the_state_and_a_pull_on_a_third_loads_it(
    postgres_url, receiver_factory, emulator, tmp_path
) -> None:
    env = {"SMARTDIALOG__STATE_URL": postgres_url, "SMARTDIALOG__BASE_URL": emulator.base_url}
    first = receiver_factory(data_dir=tmp_path / "a", env=env)
    public_url = first.root_url  # both instances stand behind this one URL
    register = ["--public-url", public_url, "--customer", "demo-customer", "--service", "sms-twoway"]
    first.extra_args = register
    first.start()
    second = receiver_factory(data_dir=tmp_path / "b", env=env)
    second.extra_args = register
    second.start()
    assert first.secret == second.secret, "one secret for every receiver on the shared journal"
    (webhook,) = emulator.webhooks()  # the second found the first's registration valid for it too
    emulator.inbound("sms-twoway", "+358401234567", "Kyllä kiitos", count=3)
    for index in range(4):
        answer = httpx.post(second.inbound_url, json={"messageId": f"direct-{index}", "content": "hi"}, timeout=10)
        assert answer.status_code == 200, answer.text
    assert httpx.get(second.dlr_url, params={"messageId": "sent-1", "recipientId": "r1", "status": "Delivered"},
                     timeout=10).status_code == 200
    store = PostgresJournal(postgres_url)
    deadline = time.monotonic() + 15
    while store.count_rows() != (7, 1) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.count_rows() == (7, 1)
    (saved,) = store.list_registrations()
    store.close()
    assert saved.action_id == webhook["action_id"]
    for data_dir in (tmp_path / "a", tmp_path / "b"):
        assert not (data_dir / "journal.sqlite").exists() and not (data_dir / "receiver_secret").exists()

    third = tmp_path / "c"
    pulled = _sdsync(third, {**env, "SMARTDIALOG__BASE_URL": UNREACHABLE_API}, "pull", "--resources",
                     "inbound_messages,delivery_reports")
    assert pulled.returncode == 0, pulled.stderr
    with duckdb.connect(str(third / "sdsync.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT message_id) FROM smartdialog.inbound_messages").fetchall() == [(7, 7)]
        assert conn.execute("SELECT count(*) FROM smartdialog.delivery_reports").fetchall() == [(1,)]
    elsewhere = tmp_path / "d"
    marks = _sdsync(elsewhere, env, "journal", "marks")
    assert marks.returncode == 0, marks.stderr
    assert "smartdialog_pull_duckdb" in marks.stdout and str(third) in marks.stdout, marks.stdout
    status = _sdsync(elsewhere, env, "status", "--json")
    report = json.loads(status.stdout)
    assert report["state"].startswith("PostgreSQL postgresql://") and report["journal"]["inbound"] == 7
    assert [entry["inbound"] for entry in report["journal"]["not_pulled"]] == [0], "the pull's mark is seen here"
    assert not (elsewhere / "journal.sqlite").exists()


def test_a_journal_option_with_an_unsupported_url_exits_2(tmp_path) -> None:
    for args in (["journal", "marks"], ["serve", "--port", "1"], ["pull", "--resources", "inbound_messages"]):
        done = _sdsync(tmp_path / "data", {"SMARTDIALOG__BASE_URL": UNREACHABLE_API}, *args, "--journal", "mysql://h/x")
        assert done.returncode == 2, (args, done.stderr)
        assert "mysql://..." in done.stderr and "Traceback" not in done.stderr
        assert not list(tmp_path.rglob("*mysql*")), "never a file named after the URL"


def _local_journal(path: Path) -> None:
    store = SQLiteJournal(path)
    store.write_batch([InboundRow(f"m{i}", "+358401", "+358402", f"text {i}", "SMS", 10 + i, None, 100 + i)
                       for i in range(5)],
                      [DlrRow("d1", "sent-1", "r1", "+358401", "Delivered", 5, None, "{}", 200)],
                      [DeadLetter("inbound", "not JSON", 400, b"\xff{", 2, 300)])
    store.save_registration(Registration("demo-customer", "sms-twoway", "f" * 64, "https://h/hooks/***/inbound",
                                         "p1", "a1", "https://loc", 400))
    store.save_pull_mark("smartdialog_pull_x@host:/d", "inbound", 3, 500)
    store.close()


def test_migrate_journal_copies_everything_once_with_its_numbers_and_refuses_other_data(postgres_url, tmp_path) -> None:
    source = tmp_path / "data" / "journal.sqlite"
    _local_journal(source)
    (source.parent / "receiver_secret").write_text("s" * 43 + "\n")
    first = migrate_journal(source, postgres_url)
    assert first.copied == {"inbound": 5, "dlr": 1, "dead_letters": 1, "registrations": 1, "pull_marks": 1,
                            "receiver_secret": 1}
    again = migrate_journal(source, postgres_url)
    assert sum(again.copied.values()) == 0 and again.already_there == first.copied, "idempotent"
    target = PostgresJournal(postgres_url)
    local = SQLiteJournal(source)
    try:
        assert target.read_inbound(0, 100) == local.read_inbound(0, 100), "same rows with the same sequence numbers"
        assert target.list_pull_marks() == local.list_pull_marks()
        assert target.list_dead_letters(True) == local.list_dead_letters(True)
        assert target.receiver_secret("other" * 9) == "s" * 43, "the receivers on the state keep the local URLs"
        local.save_registration(Registration("demo-customer", "sms-twoway", "0" * 64, "https://h2/hooks/***/inbound",
                                             "p2", "a2", None, 700))
        local.write_batch([InboundRow("late", None, None, "x", "SMS", None, None, 800)], [])
    finally:
        target.close()
        local.close()
    with pytest.raises(StateConflict, match="registrations for demo-customer/sms-twoway"):
        migrate_journal(source, postgres_url)
    target = PostgresJournal(postgres_url)
    assert [row[1] for row in target.read_inbound(0, 100)] == ["m0", "m1", "m2", "m3", "m4"], "nothing copied"
    target.write_batch([InboundRow("new", None, None, "x", "SMS", None, None, 600)], [])
    assert target.read_inbound(5, 10)[0][:2] == (6, "new"), "new rows continue after the copied numbers"
    target.close()
    other = tmp_path / "other" / "journal.sqlite"
    _local_journal(other)
    other_store = SQLiteJournal(other)
    other_store.write_batch([InboundRow("m9", None, None, "x", "SMS", None, None, 1)], [])  # would be seq 6: taken
    other_store.close()
    with pytest.raises(StateConflict, match="journal_inbound .*'m9' \\(number 6\\)"):
        migrate_journal(other, postgres_url)
