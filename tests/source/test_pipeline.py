"""The pull's dlt pipeline: named after where it loads, so another DuckDB file gets its own incremental state."""

from __future__ import annotations

from pathlib import Path

import duckdb
from smartdialog_sync.pipelines.pull_pipeline import (
    PullOptions,
    make_pipeline,
    run_pull,
)

from smartdialog_sync.api import resolve_settings
from smartdialog_sync.journal import InboundRow, SQLiteJournal


def _journal(data_dir: Path, *message_ids: str) -> None:
    journal = SQLiteJournal(data_dir / "journal.sqlite")
    journal.write_batch([InboundRow(message_id, None, None, "x", "SMS", None, None, 1) for message_id in message_ids], [])
    journal.close()


def _messages(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return [row[0] for row in conn.execute("SELECT message_id FROM smartdialog.inbound_messages ORDER BY 1").fetchall()]


def _pull(data_dir: Path, target: Path) -> int:
    options = PullOptions(resources=["inbound_messages"], credentials=str(target))
    return run_pull(options, resolve_settings(data_dir=str(data_dir))).rows["inbound_messages"]


def test_a_second_duckdb_file_gets_every_row_not_only_those_not_yet_loaded_elsewhere(tmp_path) -> None:
    data_dir = tmp_path / "data"
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    _journal(data_dir, "m1", "m2", "m3")
    assert _pull(data_dir, first) == 3
    assert _pull(data_dir, second) == 3, "the second file starts from the beginning of the journal"
    _journal(data_dir, "m4")
    assert _pull(data_dir, first) == 1, "the first file still resumes where it stopped"
    assert _pull(data_dir, second) == 1
    assert _messages(first) == _messages(second) == ["m1", "m2", "m3", "m4"]


def test_the_pipeline_name_follows_the_destination_file_dataset_and_type(tmp_path, monkeypatch) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.chdir(tmp_path)

    def name(**options: object) -> str:
        return make_pipeline(PullOptions(**options), data_dir).pipeline_name  # type: ignore[arg-type]

    default = name()
    assert default.startswith("smartdialog_pull_duckdb_smartdialog_")
    assert name(credentials="data/sdsync.duckdb") == default, "the same file, relative or not, is the same pipeline"
    assert name(credentials=str(tmp_path / "other.duckdb")) != default
    assert name(dataset="other") != default
    postgres = name(destination="postgres", credentials="postgresql://loader:pw1@db.example:5432/warehouse")
    assert postgres.startswith("smartdialog_pull_postgres_smartdialog_")
    assert name(destination="postgres", credentials="postgresql://loader:pw2@db.example:5432/warehouse") == postgres, (
        "a new password is the same database")
    assert name(destination="postgres", credentials="postgresql://loader:pw1@db.example:5432/other") != postgres
