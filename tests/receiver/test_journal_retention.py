"""`sdsync journal prune`: only rows every pull pipeline has loaded, and only past the age."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from smartdialog_sync.journal import DeadLetter, DlrRow, InboundRow, open_journal
from smartdialog_sync.pipelines.pull_pipeline import PullOptions
from tests.source.support import pull
from tests.support.cli import clean_env, run_sdsync

DAY_US = 86_400 * 1_000_000
JOURNAL_TABLES = ["inbound_messages", "delivery_reports"]


def _add(journal: Path, first: int, count: int, age_days: int) -> None:
    received = time.time_ns() // 1000 - age_days * DAY_US
    ids = [f"m{index}" for index in range(first, first + count)]
    store = open_journal(journal)
    store.write_batch(
        [InboundRow(message_id, None, None, "x", "SMS", None, None, received) for message_id in ids],
        [DlrRow(f"k-{message_id}", message_id, "r", None, "Delivered", None, None, "{}", received) for message_id in ids],
    )
    store.close()


def _prune(data_dir: Path, age: str = "30d") -> str:
    done = run_sdsync(clean_env(), "--data-dir", str(data_dir), "journal", "prune", "--older-than", age)
    assert done.returncode == 0, done.stderr
    return " ".join(done.stderr.split())


def _ids(journal: Path) -> list[str]:
    store = open_journal(journal)
    try:
        return [row[1] for row in store.read_inbound(0, 1000)]
    finally:
        store.close()


def test_prune_removes_only_old_rows_that_every_pipeline_has_pulled(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    journal = data_dir / "journal.sqlite"
    _add(journal, 1, 5, age_days=40)
    assert "removed 0 inbound message(s), 0 delivery report(s)" in _prune(data_dir), "no pull yet: nothing goes"

    pull(data_dir, PullOptions(resources=JOURNAL_TABLES, dataset="first"))
    _add(journal, 6, 3, age_days=40)  # old, but not pulled by anyone yet
    pull(data_dir, PullOptions(resources=JOURNAL_TABLES, dataset="second"))  # the second pipeline has all 8
    _add(journal, 9, 2, age_days=1)
    assert "removed 5 inbound message(s), 5 delivery report(s)" in _prune(data_dir), "below the lowest mark only"
    assert _ids(journal) == ["m6", "m7", "m8", "m9", "m10"]

    result = pull(data_dir, PullOptions(resources=JOURNAL_TABLES, dataset="first"))
    assert result.rows["inbound_messages"] == 5, "the first pipeline still finds what it had not pulled"
    assert "removed 3 inbound message(s), 3 delivery report(s)" in _prune(data_dir)
    assert _ids(journal) == ["m9", "m10"], "recent rows stay"
    assert "removed 0 inbound" in _prune(data_dir, "2w")


def test_a_failed_load_records_no_mark_and_forgotten_pipelines_stop_holding_back(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    journal = data_dir / "journal.sqlite"
    _add(journal, 1, 3, age_days=40)
    try:
        pull(data_dir, PullOptions(resources=JOURNAL_TABLES, destination="postgres",
                                   credentials="postgresql://nobody@127.0.0.1:1/nothing"))
    except Exception:
        pass
    store = open_journal(journal)
    assert store.list_pull_marks() == [], "nothing was loaded"
    store.close()

    pull(data_dir, PullOptions(resources=JOURNAL_TABLES, dataset="kept"))
    store = open_journal(journal)
    marks = store.list_pull_marks()
    assert {(mark.table_name, mark.seq) for mark in marks} == {("inbound", 3), ("dlr", 3)}
    store.save_pull_mark("abandoned@elsewhere", "inbound", 0, 1)
    store.close()
    assert "removed 0 inbound message(s), 3 delivery report(s)" in _prune(data_dir)
    def forget(name: str) -> subprocess.CompletedProcess[str]:
        return run_sdsync(clean_env(COLUMNS="250"), "--data-dir", str(data_dir), "journal", "marks", "--forget", name)

    assert forget("abandoned@elsewhere").returncode == 0  # the name `sdsync status` prints
    assert "removed 3 inbound message(s)" in _prune(data_dir)
    unknown = forget("abandoned@elsewhere")
    assert unknown.returncode == 2 and f"the marks are: {marks[0].pipeline}" in unknown.stderr, unknown.stderr
    printed_by_pull = marks[0].pipeline.split("@")[0]  # `sdsync pull` prints the pipeline name alone
    forgot = forget(printed_by_pull)
    assert forgot.returncode == 0 and f"forgot 2 mark(s) of {marks[0].pipeline}" in forgot.stderr, forgot.stderr


def test_prune_keeps_dead_letters_until_they_are_replayed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store = open_journal(data_dir / "journal.sqlite")
    old = time.time_ns() // 1000 - 40 * DAY_US
    store.write_batch([], [], [DeadLetter("inbound", "bad", 422, b"{}", 2, old) for _ in range(2)])
    store.mark_replayed(1, old)
    store.close()
    assert "1 replayed dead letter(s)" in _prune(data_dir)
    store = open_journal(data_dir / "journal.sqlite")
    assert [letter.id for letter in store.list_dead_letters(include_replayed=True)] == [2]
    store.close()
