"""Health, readiness and Prometheus metrics of a real `sdsync serve`, without the secret."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.compat


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_what_the_receiver_answered(receiver_factory, journal_url) -> None:
    receiver = receiver_factory(journal_url).start()
    with httpx.Client(timeout=10) as client:
        for index in range(5):
            assert client.post(receiver.inbound_url, json={"messageId": f"m{index}"}).status_code == 200
        assert client.post(receiver.inbound_url, json={"messageId": "m0"}).status_code == 200  # redelivery
        assert client.post(receiver.inbound_url, content=b"{broken").status_code == 400
        assert client.post(receiver.inbound_url, json={"messageId": 7}).status_code == 422
        report = {"messageId": "m1", "recipientId": "r1", "status": "Delivered"}
        assert client.get(receiver.dlr_url, params=report).status_code == 200
        assert client.get(receiver.dlr_url, params=report).status_code == 200  # redelivery
        assert client.post(receiver.root_url + "/hooks/wrong/inbound", json={"messageId": "x"}).status_code == 404
        scrape = client.get(receiver.root_url + "/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    samples = _samples(scrape.text)
    assert samples[("sdsync_receiver_acknowledged_total", (("kind", "inbound"),))] == 6
    assert samples[("sdsync_receiver_acknowledged_total", (("kind", "dlr"),))] == 2
    assert samples[("sdsync_receiver_duplicates_total", (("kind", "inbound"),))] == 1
    assert samples[("sdsync_receiver_duplicates_total", (("kind", "dlr"),))] == 1
    assert samples[("sdsync_receiver_rejected_total", (("kind", "inbound"), ("reason", "malformed")))] == 1
    assert samples[("sdsync_receiver_rejected_total", (("kind", "inbound"), ("reason", "invalid")))] == 1
    assert samples[("sdsync_receiver_rejected_total", (("kind", "inbound"), ("reason", "wrong_secret")))] == 1
    assert samples[("sdsync_receiver_dead_lettered_total", (("kind", "inbound"),))] == 2
    assert samples[("sdsync_journal_rows", (("table", "inbound"),))] == 5
    assert samples[("sdsync_journal_rows", (("table", "dlr"),))] == 1
    assert samples[("sdsync_journal_rows", (("table", "dead_letters"),))] == 2
    commits = samples[("sdsync_journal_commit_rows_count", ())]
    assert commits >= 1 and samples[("sdsync_journal_commit_rows_sum", ())] == 10, "8 rows and 2 dead letters"
    assert samples[("sdsync_journal_commit_seconds_count", ())] == commits
    assert receiver.secret not in scrape.text


def test_health_and_readiness_need_no_secret(receiver_factory, tmp_path) -> None:
    receiver = receiver_factory().start()
    with httpx.Client(timeout=30) as client:
        assert client.get(receiver.root_url + "/healthz").json() == {"status": "alive"}
        ready = client.get(receiver.root_url + "/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "journal": "writable", "registration": "not configured"}
        blocker = sqlite3.connect(tmp_path / "data" / "journal.sqlite", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # another process holds the journal's write lock
        try:
            blocked = client.get(receiver.root_url + "/readyz")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert blocked.status_code == 503 and blocked.json()["status"] == "not ready"
        assert client.get(receiver.root_url + "/readyz").status_code == 200, "ready again once the lock is gone"


def test_readiness_reports_the_webhook_registration(emulator, receiver_factory, tmp_path) -> None:
    receiver = receiver_factory(env={"SMARTDIALOG__BASE_URL": emulator.base_url})
    receiver.extra_args = ["--public-url", receiver.root_url, "--customer", "demo-customer"]
    receiver.start()
    with httpx.Client(timeout=10) as client:
        ready = client.get(receiver.root_url + "/readyz")
        assert ready.status_code == 200 and ready.json()["registration"] == "registered (1 service(s))"
        from smartdialog_sync.journal import open_journal

        store = open_journal(tmp_path / "data" / "journal.sqlite")
        store.delete_registration("demo-customer", "sms-twoway")
        store.close()
        gone = client.get(receiver.root_url + "/readyz")
    assert gone.status_code == 503 and json.loads(gone.text)["registration"] == "missing"
