"""Values PostgreSQL cannot store (NUL, a timestamp in year 0 UTC) never block `sdsync pull --destination postgres`."""

from __future__ import annotations

import subprocess

import httpx
import pytest
import sqlalchemy

from tests.support.cli import clean_env, run_sdsync

pytestmark = pytest.mark.compat


def _pull(data_dir, destination_url: str) -> subprocess.CompletedProcess[str]:
    return run_sdsync(clean_env(), "--data-dir", str(data_dir), "--base-url", "http://127.0.0.1:9/api-integrations/v1",
                      "pull", "--destination", "postgres", "--credentials", destination_url,
                      "--resources", "inbound_messages,delivery_reports", timeout=300)


def _query(url: str, sql: str) -> list[tuple]:
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()


def test_unstorable_values_do_not_block_a_postgres_pull(receiver_factory, postgres_url) -> None:
    receiver = receiver_factory().start()
    odd = {"messageId": "odd-1", "content": "nul \x00 inside", "timestamp": "0001-01-01T00:00:00+14:00",
           "sender": "+358401234567\x00", "attachments": [{"name": "a\x00.png", "mimeType": "image/png"}]}
    report = {"messageId": "odd-1", "recipientId": "r\x00", "status": "Deli\x00vered", "statusTime": "0001-01-01T00:00:00+14:00"}
    with httpx.Client(timeout=10) as client:
        assert client.post(receiver.inbound_url, json=odd).status_code == 200
        assert client.get(receiver.dlr_url, params=report).status_code == 200
    first = _pull(receiver.data_dir, postgres_url)
    assert first.returncode == 0, first.stderr

    with httpx.Client(timeout=10) as client:
        later = {"messageId": "later-1", "content": "fine", "timestamp": "2026-12-01T23:54:32.522Z"}
        assert client.post(receiver.inbound_url, json=later).status_code == 200
    second = _pull(receiver.data_dir, postgres_url)
    assert second.returncode == 0, second.stderr
    rows = _query(postgres_url, "SELECT message_id, content, sender, timestamp IS NULL FROM smartdialog.inbound_messages"
                                " ORDER BY message_id")
    assert rows == [("later-1", "fine", None, False), ("odd-1", "nul  inside", "+358401234567", True)]
    assert _query(postgres_url, "SELECT name FROM smartdialog.inbound_messages__attachments") == [("a.png",)]
    assert _query(postgres_url, "SELECT recipient_id, status, status_time IS NULL FROM smartdialog.delivery_reports") == [
        ("r", "Delivered", True)
    ]
