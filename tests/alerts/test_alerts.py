"""Alerts: each kind once per incident, again after a good run; undeliverable alerts never fail the job."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from smartdialog_sync.api.config import ClientSettings, Secret
from smartdialog_sync.journal import DeadLetter, InboundRow, open_journal
from smartdialog_sync.pipelines.alerts import JobOutcome, alerting, notify
from smartdialog_sync.pipelines.alerts.settings import AlertSettings
from smartdialog_sync.pipelines.servers import free_port
from tests.alerts.conftest import WEBHOOK_SECRET_PATH


def _settings(tmp_path: Path, state_url: str | None = None) -> ClientSettings:
    return ClientSettings(data_dir=tmp_path, state_url=state_url)


def test_each_job_kind_alerts_once_until_a_good_run(tmp_path: Path, webhook, state_url: str | None) -> None:
    settings, alerts = _settings(tmp_path, state_url), AlertSettings(webhook_url=Secret(webhook.url))
    failed = JobOutcome("contacts", "cust/group", error="stopped: service unavailable")
    markup = JobOutcome("campaign", "<!channel>\nx", error="CRM said <http://evil|click> & more")
    rejecting = JobOutcome("contacts", "cust/group", rows=100, rejected=11)
    unsent = JobOutcome("campaign", "spring", unsent_batches=3)
    for outcome in (failed, failed, rejecting, rejecting, unsent, unsent):
        notify(settings, outcome, alert_settings=alerts)
    texts = webhook.texts()
    assert len(texts) == 3, texts
    assert "[run_failed] contacts cust/group: the run failed: stopped: service unavailable" in texts[0]
    assert "[rejected_rows] contacts cust/group: 11 of 100 rows rejected (11%, more than 10%)" in texts[1]
    assert "[unsent_batches] campaign spring: 3 batch(es) not confirmed sent" in texts[2]
    notify(settings, JobOutcome("contacts", "cust/group", rows=100, rejected=10), alert_settings=alerts)  # 10 %: good
    notify(settings, JobOutcome("contacts", "other/group", error="x"), alert_settings=alerts)  # another subject
    notify(settings, failed, alert_settings=alerts)  # recurs after the good run: alerts again
    assert [text.split("]")[0] for text in webhook.texts()[3:]] == ["sdsync alert [run_failed"] * 2
    assert "other/group" in webhook.texts()[3] and "cust/group" in webhook.texts()[4]
    notify(settings, markup, alert_settings=alerts)  # CRM/server text is shown literally, never as Slack markup
    assert webhook.texts()[5] == ("sdsync alert [run_failed] campaign &lt;!channel&gt; x: the run failed: CRM said "
                                  "&lt;http://evil|click&gt; &amp; more")


def test_journal_dead_letters_and_backlog_alert_once(tmp_path: Path, webhook) -> None:
    settings, alerts = _settings(tmp_path), AlertSettings(webhook_url=Secret(webhook.url), backlog_hours=1)
    journal = open_journal(tmp_path / "journal.sqlite")
    two_hours_ago = (time.time_ns() // 1000) - 2 * 3600 * 1_000_000
    journal.write_batch([InboundRow("m1", None, None, "hi", "SMS", None, None, two_hours_ago)], [],
                        [DeadLetter("inbound", "messageId must be a non-empty string", 422, b"{}", 2, two_hours_ago)])
    journal.close()
    notify(settings, None, alert_settings=alerts)
    notify(settings, JobOutcome("pull", "p"), alert_settings=alerts)  # any job's notify looks at the journal
    texts = webhook.texts()
    assert len(texts) == 2, texts
    assert (tmp_path / "alerts.sqlite").stat().st_mode & 0o077 == 0, "the incident store is private"
    assert "[dead_letters] journal: 1 dead letter(s) waiting" in texts[0]
    assert "[journal_backlog] journal: 1 row(s) waiting more than 1 h for any pull" in texts[1]


def test_email_alert(tmp_path: Path, smtp_server) -> None:
    port, mailbox = smtp_server
    alerts = AlertSettings(smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, email_from="sdsync@example.com",
                           email_to=("ops@example.com",))
    notify(_settings(tmp_path), JobOutcome("pull", "smartdialog_pull_duckdb", error="boom"), alert_settings=alerts)
    notify(_settings(tmp_path), JobOutcome("pull", "smartdialog_pull_duckdb", error="boom"), alert_settings=alerts)
    assert len(mailbox.messages) == 1
    recipients, message = mailbox.messages[0]
    assert recipients == ["ops@example.com"]
    assert message["Subject"] == "sdsync alert: run_failed pull smartdialog_pull_duckdb"
    assert "the run failed: boom" in message.get_payload()


def test_undeliverable_alert_is_logged_masked_and_retried(tmp_path: Path, webhook, caplog) -> None:
    closed = f"http://127.0.0.1:{free_port()}{WEBHOOK_SECRET_PATH}"
    alerts = AlertSettings(webhook_url=Secret(closed), smtp_host="127.0.0.1", smtp_port=free_port(), smtp_starttls=False,
                           smtp_user="ops", smtp_password=Secret("smtp-pass-123"), email_to=("ops@example.com",))
    settings = _settings(tmp_path)
    caplog.set_level(logging.WARNING)
    with pytest.raises(RuntimeError, match="the job's own error"):
        with alerting(settings, "campaign", "spring", alert_settings=alerts):
            raise RuntimeError("the job's own error")  # the job's error stands, not the alert's
    with alerting(settings, "campaign", "other", alert_settings=alerts) as watch:
        watch.outcome = JobOutcome("campaign", "other", unsent_batches=1)
    logged = caplog.text
    assert "alert run_failed campaign spring not delivered: webhook http://127.0.0.1/***: ConnectError" in logged
    assert "email via 127.0.0.1" in logged
    assert "very-secret-token" not in logged and "smtp-pass-123" not in logged
    # delivered on a later call once the webhook answers: the incident is still open
    working = AlertSettings(webhook_url=Secret(webhook.url))
    notify(settings, JobOutcome("campaign", "spring", error="the job's own error"), alert_settings=working)
    assert len(webhook.texts()) == 1 and "campaign spring" in webhook.texts()[0]


def test_dry_run_and_no_configuration_alert_nothing(tmp_path: Path, webhook) -> None:
    alerts = AlertSettings(webhook_url=Secret(webhook.url))
    with pytest.raises(ValueError):
        with alerting(_settings(tmp_path), "campaign", "spring", dry_run=True, alert_settings=alerts):
            raise ValueError("bad input in a dry run")
    assert notify(_settings(tmp_path), JobOutcome("pull", "p", error="x"), alert_settings=AlertSettings()).delivered == []
    assert webhook.texts() == [] and not (tmp_path / "alerts.sqlite").exists()


def test_one_notify_reads_the_open_incidents_once(tmp_path: Path, webhook) -> None:
    import sqlalchemy as sa

    alerts = AlertSettings(webhook_url=Secret(webhook.url))
    notify(_settings(tmp_path), JobOutcome("campaign", "spring", unsent_batches=1), alert_settings=alerts)
    reads: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("SELECT") and "FROM alert_incidents" in statement:
            reads.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    try:
        notify(_settings(tmp_path), JobOutcome("campaign", "spring"), alert_settings=alerts)  # resolves it
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
    assert len(reads) == 1, reads
    notify(_settings(tmp_path), JobOutcome("campaign", "spring", unsent_batches=1), alert_settings=alerts)
    assert len(webhook.texts()) == 2, "resolved by the good run, so it alerts again"
