"""Webhook registration against the emulator: idempotent across restarts, removable, secret-free records."""

from __future__ import annotations

import time

import httpx
import pytest

from smartdialog_sync.journal import open_journal
from tests.support.cli import clean_env, run_sdsync

pytestmark = pytest.mark.compat


def _registering(receiver_factory, emulator, *more: str):
    receiver = receiver_factory(env={"SMARTDIALOG__BASE_URL": emulator.base_url})
    receiver.extra_args = ["--public-url", receiver.root_url, "--customer", "demo-customer", *more]
    return receiver


def test_registration_survives_restarts_without_a_second_webhook(emulator, receiver_factory, tmp_path) -> None:
    receiver = _registering(receiver_factory, emulator).start()
    (webhook,) = emulator.webhooks()
    assert webhook["service"] == "sms-twoway", "all two-way services when no --service is given"
    assert webhook["endpoint_url"] == receiver.inbound_url.replace(receiver.secret, "***"), "listed without the secret"
    receiver.kill()
    receiver.start()
    receiver.stop()
    receiver.start()
    assert [hook["action_id"] for hook in emulator.webhooks()] == [webhook["action_id"]]

    emulator.inbound("sms-twoway", "+358401234567", "Kyllä kiitos", count=3)
    store = open_journal(tmp_path / "data" / "journal.sqlite")
    deadline = time.monotonic() + 15
    while store.count_rows()[0] < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.count_rows()[0] == 3, "inbound messages reach the journal through the registered webhook"
    (saved,) = store.list_registrations()
    store.close()
    assert (saved.pipeline_id, saved.action_id) == (webhook["pipeline_id"], webhook["action_id"])
    assert receiver.secret not in saved.endpoint_url_masked and "/hooks/***/inbound" in saved.endpoint_url_masked
    assert receiver.secret not in receiver.output()


def test_unregister_removes_the_webhook(emulator, receiver_factory, tmp_path) -> None:
    receiver = _registering(receiver_factory, emulator, "--service", "sms-twoway").start()
    receiver.stop()
    assert len(emulator.webhooks()) == 1
    done = run_sdsync(clean_env(), "--base-url", emulator.base_url, "--data-dir", str(tmp_path / "data"), "serve",
                      "--unregister", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "removed 1 webhook registration" in done.stderr
    assert emulator.webhooks() == []
    store = open_journal(tmp_path / "data" / "journal.sqlite")
    assert store.list_registrations() == []
    store.close()


def test_unregister_on_exit(emulator, receiver_factory) -> None:
    receiver = _registering(receiver_factory, emulator, "--unregister-on-exit").start()
    assert len(emulator.webhooks()) == 1
    assert receiver.stop() == 0
    assert emulator.webhooks() == []


def test_a_changed_public_url_replaces_the_registration(emulator, receiver_factory) -> None:
    receiver = _registering(receiver_factory, emulator).start()
    receiver.stop()
    receiver.extra_args[1] = "http://127.0.0.1:1/elsewhere"
    receiver.start()
    (webhook,) = emulator.webhooks()
    assert webhook["endpoint_url"].startswith("http://127.0.0.1:1/elsewhere/hooks/")
    with httpx.Client() as client:
        assert client.post(receiver.inbound_url, json={"messageId": "still-served"}).status_code == 200


def test_a_failed_registration_stops_the_receiver_without_showing_the_secret(emulator, receiver_factory) -> None:
    receiver = receiver_factory(env={"SMARTDIALOG__BASE_URL": emulator.base_url})
    receiver.extra_args = ["--public-url", receiver.root_url, "--customer", "no-such-customer", "--service", "x"]
    try:
        receiver.start()
    except RuntimeError:
        pass
    assert receiver.process is not None and receiver.process.wait(30) != 0
    assert "webhook registration failed" in receiver.output()
    assert receiver.secret not in receiver.output()
    assert emulator.webhooks() == []
