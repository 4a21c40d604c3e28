"""The journal's read-only opt-out query, on SQLite and PostgreSQL: the same stop replies as the pulled dataset's
query (sql/campaign_opt_outs.sql on DuckDB), the latest time per sender, and nothing created where no journal is."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlalchemy

from smartdialog_sync.destinations.campaigns.suppression import opt_out_sources, opted_out_numbers
from smartdialog_sync.journal import InboundRow, JournalError, OptOutSender, open_journal, read_opt_out_senders
from tests.receiver.harness import journal_url, postgres_url  # noqa: F401

KEYWORDS = ("STOP", "STOPP", "SLUTA", "LOPETA", "LOPETÄ")
REPLIES = [  # (sender, content): stop replies are " stop ", "Lopeta!", "\tSTOPP\n", "lopetä.", "sluta?!" and the later "STOP"
    ("+358401000001", " stop "), ("+358401000002", "Lopeta!"), ("+358401000003", "stop the music"),
    ("+358401000004", "\tSTOPP\n"), ("+358401000005", "lopetä."), ("+358401000006", "sluta?!"), (None, "STOP"),
    ("+358401000007", "nonstop"), ("+358401000008", None), ("+358401000001", "STOP"),
]
STOPPED = ["+358401000001", "+358401000002", "+358401000004", "+358401000005", "+358401000006"]


def _rows() -> list[InboundRow]:
    return [InboundRow(f"m{i}", sender, "+358400000000", content, "sms", None, None, 1_000_000 * (i + 1))
            for i, (sender, content) in enumerate(REPLIES)]


def test_the_journal_finds_the_stop_replies_the_pulled_dataset_finds(journal_url: str, tmp_path: Path) -> None:  # noqa: F811
    store = open_journal(journal_url)
    try:
        store.write_batch(_rows(), [])
    finally:
        store.close()
    senders = read_opt_out_senders(journal_url, KEYWORDS)
    assert senders is not None and [row.sender for row in senders] == STOPPED
    assert senders[0] == OptOutSender("+358401000001", 10_000_000), "the time of the latest stop reply"

    dataset = tmp_path / "pulled.duckdb"
    with duckdb.connect(str(dataset)) as conn:
        conn.execute("CREATE SCHEMA smartdialog")
        conn.execute("CREATE TABLE smartdialog.inbound_messages (sender VARCHAR, content VARCHAR)")
        conn.executemany("INSERT INTO smartdialog.inbound_messages VALUES (?, ?)", REPLIES)
    [pulled] = opt_out_sources(tmp_path, dataset)
    assert opted_out_numbers(pulled, KEYWORDS) == set(STOPPED), "one definition of a stop reply"


def test_reading_opt_outs_creates_no_journal(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    missing = tmp_path / "journal.sqlite"
    assert read_opt_out_senders(missing, KEYWORDS) is None and read_opt_out_senders(f"sqlite:///{missing}", KEYWORDS) is None
    assert list(tmp_path.iterdir()) == []
    assert read_opt_out_senders(postgres_url, KEYWORDS) is None
    engine = sqlalchemy.create_engine(postgres_url, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("SELECT to_regclass('journal_inbound')")).scalar() is None
    engine.dispose()


def test_a_journal_that_cannot_be_read_is_an_error_without_its_password(postgres_url: str) -> None:  # noqa: F811
    closed = sqlalchemy.make_url(postgres_url).set(port=9, password="pw-3b1f").render_as_string(hide_password=False)
    with pytest.raises(JournalError, match=r"cannot read the journal postgresql://postgres:\*\*\*@127.0.0.1:9/") as failed:
        read_opt_out_senders(closed, KEYWORDS)
    assert "pw-3b1f" not in str(failed.value) and "\n" not in str(failed.value)
