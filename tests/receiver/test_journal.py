"""The journal stores (SQLite, PostgreSQL) and group commit, on real databases."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from smartdialog_sync.journal import GroupCommitJournal, InboundRow, JournalUrlError, Registration, open_journal
from smartdialog_sync.receiver.payloads import dlr_row, inbound_row

pytestmark = pytest.mark.compat


def _row(message_id: str) -> InboundRow:
    return inbound_row(f'{{"messageId": "{message_id}", "content": "hello", "timestamp": "2026-01-02T03:04:05Z"}}'.encode())


async def _append_concurrently(journal: GroupCommitJournal, rows: list) -> None:
    journal.start(asyncio.get_running_loop())
    try:
        await asyncio.gather(*(journal.append(row) for row in rows))
    finally:
        journal.stop()


def test_concurrent_appends_share_commits(journal_url: str) -> None:
    journal = GroupCommitJournal(lambda: open_journal(journal_url))
    asyncio.run(_append_concurrently(journal, [_row(f"m{i}") for i in range(500)]))
    assert journal.rows == 500
    assert journal.commits < 50, "group commit should write many rows per transaction"
    store = open_journal(journal_url)
    rows = store.read_inbound(0, 1000)
    store.close()
    assert sorted(row[1] for row in rows) == sorted(f"m{i}" for i in range(500))
    sequence = [row[0] for row in rows]
    assert sequence == sorted(sequence) and len(set(sequence)) == 500


def test_one_commit_per_request_mode(journal_url: str) -> None:
    journal = GroupCommitJournal(lambda: open_journal(journal_url), max_batch=1)
    asyncio.run(_append_concurrently(journal, [_row(f"m{i}") for i in range(20)]))
    assert journal.commits == 20


def test_redelivered_message_and_report_are_stored_once(journal_url: str) -> None:
    report = [("messageId", "m1"), ("recipientId", "r1"), ("status", "Delivered"), ("statusTime", "2026-01-01T00:00:00Z")]
    journal = GroupCommitJournal(lambda: open_journal(journal_url))
    rows = [_row("m1"), _row("m1"), _row("m2"), dlr_row(report), dlr_row(report), dlr_row(report[:2] + [("status", "Failed")])]
    asyncio.run(_append_concurrently(journal, rows))
    asyncio.run(_append_concurrently(GroupCommitJournal(lambda: open_journal(journal_url)), [_row("m1"), dlr_row(report)]))
    store = open_journal(journal_url)
    assert store.count_rows() == (2, 2)
    assert [row[1] for row in store.read_inbound(0, 10)] == ["m1", "m2"]
    assert store.read_inbound(store.read_inbound(0, 1)[0][0], 10)[0][1] == "m2", "reads continue after a sequence"
    store.close()


def test_unopenable_journal_fails_at_start(tmp_path) -> None:
    (tmp_path / "dir.sqlite").mkdir()
    journal = GroupCommitJournal(lambda: open_journal(tmp_path / "dir.sqlite"))

    async def start() -> None:
        journal.start(asyncio.get_running_loop())

    with pytest.raises(sqlite3.OperationalError):
        asyncio.run(start())


def test_registrations_round_trip(journal_url: str) -> None:
    store = open_journal(journal_url)
    first = Registration("c", "s", "f" * 64, "http://x/hooks/***/inbound", "p1", "a1", "http://api/pipelines/p1/actions/a1", 1)
    store.save_registration(first)
    store.save_registration(first._replace(action_id="a2"))
    assert store.get_registration("c", "s") == first._replace(action_id="a2")
    assert store.list_registrations() == [first._replace(action_id="a2")]
    with store.registration_lock():
        store.delete_registration("c", "s")
    assert store.get_registration("c", "s") is None
    store.close()


def test_unknown_journal_scheme_is_refused() -> None:
    with pytest.raises(JournalUrlError, match="unsupported journal URL"):
        open_journal("mysql://localhost/x")


DROPPED = "terminating connection due to administrator command|server closed the connection|connection is lost"


def test_writer_reconnects_after_the_database_dropped_its_connection(postgres_url: str) -> None:
    import psycopg
    import psycopg2
    import sqlalchemy

    journal = GroupCommitJournal(lambda: open_journal(postgres_url))

    async def scenario() -> None:
        journal.start(asyncio.get_running_loop())
        try:
            await journal.append(_row("before"))
            engine = sqlalchemy.create_engine(postgres_url, poolclass=sqlalchemy.pool.NullPool)
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                             " WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            engine.dispose()
            # the write on the dropped connection (SQLAlchemy 2.0 drives postgresql:// with psycopg2, 2.1 with psycopg)
            with pytest.raises((psycopg.OperationalError, psycopg2.OperationalError), match=DROPPED):
                await journal.append(_row("during"))
            await journal.append(_row("after"))  # the next write reconnects
        finally:
            journal.stop()

    asyncio.run(scenario())
    store = open_journal(postgres_url)
    assert sorted(row[1] for row in store.read_inbound(0, 10)) == ["after", "before"]
    store.close()
