"""Pulling journaled inbound messages into DuckDB: seconds for N messages (default 1,000,000).

Fills a SQLite journal (as the receiver writes it) with N messages, one in 20 with an attachment, then
times the same pipeline `sdsync pull` runs (inbound_messages and delivery_reports into a DuckDB file),
and checks the row counts in DuckDB.

    python -m bench.pull_million [--messages 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import duckdb

from smartdialog_sync.state.files import DATASET_FILE as DUCKDB_FILE_NAME
from smartdialog_sync.pipelines.pull_pipeline import PullOptions, PullProgress, run_pull
from smartdialog_sync.journal import InboundRow, SQLiteJournal
from smartdialog_sync.api import resolve_settings

BATCH = 50_000
BASE_US = 1_795_000_000_000_000


def fill_journal(path: Path, messages: int) -> None:
    """Write `messages` inbound rows into the journal at `path`, in transactions of 50,000."""
    journal = SQLiteJournal(path)
    attachment = json.dumps([{"name": "photo.jpg", "mimeType": "image/jpeg", "resourceLocation": "https://files/p.jpg"}])
    for start in range(0, messages, BATCH):
        rows = [
            InboundRow(f"msg-{i:08d}", "+358401234567", "+358409876543", f"Reply number {i}: yes please",
                       "SMS", BASE_US + i * 1000, attachment if i % 20 == 0 else None, BASE_US + i * 1000 + 500)
            for i in range(start, min(start + BATCH, messages))
        ]
        journal.write_batch(rows, [])
    journal.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="sdsync-pull-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    journal_path = work / "journal.sqlite"
    if not journal_path.exists():
        started = time.perf_counter()
        fill_journal(journal_path, args.messages)
        print(f"journal: {args.messages:,} messages written in {time.perf_counter() - started:.1f} s")
    settings = resolve_settings(data_dir=str(work), base_url="http://127.0.0.1:9/api-integrations/v1")
    options = PullOptions(resources=["inbound_messages", "delivery_reports"], journal_url=str(journal_path))
    steps: dict[str, float] = {}
    started = time.perf_counter()

    class StepClock(PullProgress):
        def step(self, name: str) -> None:
            steps[name] = time.perf_counter()

    result = run_pull(options, settings, StepClock())
    elapsed = time.perf_counter() - started
    marks = sorted(steps.items(), key=lambda item: item[1]) + [("end", started + elapsed)]
    split = ", ".join(f"{name} {end - begin:.1f} s" for (name, begin), (_, end) in zip(marks, marks[1:]))
    with duckdb.connect(str(work / DUCKDB_FILE_NAME), read_only=True) as conn:
        loaded = conn.execute("SELECT count(*), count(DISTINCT message_id) FROM smartdialog.inbound_messages").fetchone()
        attachments = conn.execute("SELECT count(*) FROM smartdialog.inbound_messages__attachments").fetchone()[0]
    print(f"machine: {os.cpu_count()} cores")
    print(f"pulled {result.rows['inbound_messages']:,} messages (+{attachments:,} attachments) into DuckDB "
          f"in {elapsed:.1f} s ({split}); {loaded[0]:,} rows, {loaded[1]:,} distinct message ids")
    if not args.keep:
        import shutil

        shutil.rmtree(work)


if __name__ == "__main__":
    main()
