"""The receiver as a real `sdsync serve` process: what it stores, what it refuses, what it never shows."""

from __future__ import annotations

import json
import stat
import uuid

import httpx
import pytest

from smartdialog_sync.journal import open_journal
from smartdialog_sync.receiver.secret import SECRET_FILE_NAME

pytestmark = pytest.mark.compat


def _message(message_id: str, **extra: object) -> dict:
    return {"messageId": message_id, "sender": "+358401234567", "recipient": "+358409999999", "content": "hei",
            "timestamp": "2026-11-27T05:00:00Z", "protocol": "SMS", **extra}


@pytest.fixture
def receiver(receiver_factory, journal_url):
    return receiver_factory(journal_url).start()


def test_stores_messages_and_reports_once(receiver, journal_url) -> None:
    attachments = [{"name": "a.jpg", "mimeType": "image/jpeg", "resourceLocation": "https://files/a.jpg"}]
    with httpx.Client(timeout=10) as client:
        assert client.post(receiver.inbound_url, json=_message("m1", attachments=attachments)).status_code == 200
        assert client.post(receiver.inbound_url, json=_message("m1")).status_code == 200, "a redelivery is 2xx too"
        params = {"messageId": "m1", "recipientId": "r1", "address": "+358401234567", "status": "Delivered",
                  "statusTime": "2026-11-27T05:00:01Z", "campaign": "spring"}
        assert client.get(receiver.dlr_url, params=params).status_code == 200
        assert client.get(receiver.dlr_url, params=params).status_code == 200
    store = open_journal(journal_url)
    (inbound,) = store.read_inbound(0, 10)
    (report,) = store.read_dlr(0, 10)
    store.close()
    assert inbound[1:6] == ("m1", "+358401234567", "+358409999999", "hei", "SMS")
    assert json.loads(inbound[7]) == attachments
    assert report[2:6] == ("m1", "r1", "+358401234567", "Delivered")
    assert json.loads(report[8]) == params, "every query parameter is kept raw"


BAD_REQUESTS = [
    pytest.param("POST", "wrong-secret", b'{"messageId": "x"}', 404, id="wrong-secret"),
    pytest.param("POST", "inbound", b'{"messageId": ', 400, id="malformed-json"),
    pytest.param("POST", "inbound", b"", 400, id="empty-body"),
    pytest.param("POST", "inbound", b'["messageId"]', 422, id="not-an-object"),
    pytest.param("POST", "inbound", b'{"content": "no id"}', 422, id="missing-messageId"),
    pytest.param("POST", "inbound", b'{"messageId": 12}', 422, id="numeric-messageId"),
    pytest.param("POST", "inbound", b'{"messageId": "x", "content": 5}', 422, id="numeric-content"),
    pytest.param("POST", "inbound", b'{"messageId": "x", "timestamp": "yesterday"}', 422, id="bad-timestamp"),
    pytest.param("POST", "inbound", b'{"messageId": "x", "attachments": {"name": "a"}}', 422, id="attachments-object"),
    pytest.param("POST", "inbound", b'{"messageId": "x", "attachments": [{"name": 1}]}', 422, id="attachment-name"),
    pytest.param("POST", "inbound", b'{"messageId": "' + b"x" * 300_000 + b'"}', 413, id="oversized-body"),
    pytest.param("GET", "dlr?status=Delivered", b"", 422, id="report-without-messageId"),
    pytest.param("GET", "inbound", b"", 405, id="wrong-method"),
    pytest.param("POST", "/other", b'{"messageId": "x"}', 404, id="other-path"),
    pytest.param("POST", "/hooks", b'{"messageId": "x"}', 404, id="no-secret"),
]


@pytest.mark.parametrize(("method", "target", "body", "status"), BAD_REQUESTS)
def test_bad_requests_are_refused_and_nothing_is_written(
    shared_receiver, method: str, target: str, body: bytes, status: int
) -> None:
    receiver = shared_receiver
    store = open_journal(receiver.data_dir / "journal.sqlite")
    before = store.count_rows()
    if target == "wrong-secret":
        url = receiver.root_url + "/hooks/" + "A" * len(receiver.secret) + "/inbound"
    elif target.startswith("/"):
        url = receiver.root_url + target
    else:
        url = receiver.inbound_url.rsplit("/", 1)[0] + "/" + target
    with httpx.Client(timeout=10) as client:
        answer = client.request(method, url, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == status, answer.text
        assert store.count_rows() == before, "nothing written"
        marker = f"after-{uuid.uuid4()}"
        assert client.post(receiver.inbound_url, json=_message(marker)).status_code == 200, "still serving"
    assert store.count_rows() == (before[0] + 1, before[1])
    assert store.read_inbound(0, 10_000)[-1][1] == marker
    store.close()
    assert receiver.secret not in receiver.output()


def test_secret_is_private_stable_and_never_printed(receiver_factory, tmp_path) -> None:
    receiver = receiver_factory().start()
    secret_file = tmp_path / "data" / SECRET_FILE_NAME
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(receiver.secret) >= 43, "32 random bytes, url-safe"
    with httpx.Client(timeout=10) as client:
        client.post(receiver.inbound_url, content=b"{broken")
        client.post(receiver.inbound_url, json=_message("m1"))
    receiver.kill()
    again = receiver_factory().start()
    assert again.secret == receiver.secret, "the secret survives restarts"
    assert "/hooks/***/inbound" in receiver.output()
    assert receiver.secret not in receiver.output() + again.output()
    database = (tmp_path / "data" / "journal.sqlite").read_bytes()
    assert receiver.secret.encode() not in database
