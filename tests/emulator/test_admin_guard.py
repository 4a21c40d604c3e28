"""The admin endpoints cannot be driven by a web page: foreign Host headers (DNS rebinding) and non-JSON
bodies (cross-site forms, "simple" fetches) are refused; listings never show a receiver's secret."""

from __future__ import annotations

import secrets

from smartdialog_sync.emulator.callbacks import redact_url


def test_a_foreign_host_header_is_refused(emulator) -> None:
    before = emulator.admin.get("/config").json()["rate_limit"]
    for host in ("attacker.example", f"attacker.example:{emulator.port}", "127.0.0.1:1", "localhost"):
        answer = emulator.admin.post("/config", json={"rate_limit": "1/60"}, headers={"Host": host})
        assert answer.status_code == 403, (host, answer.text)
        assert emulator.admin.get("/stats", headers={"Host": host}).status_code == 403
    assert emulator.admin.get("/config").json()["rate_limit"] == before


def test_the_loopback_names_with_the_port_are_accepted(emulator) -> None:
    for host in (f"127.0.0.1:{emulator.port}", f"localhost:{emulator.port}", f"LOCALHOST:{emulator.port}"):
        assert emulator.admin.get("/stats", headers={"Host": host}).status_code == 200, host


def test_changes_need_a_json_body(emulator) -> None:
    before = emulator.admin.get("/faults").json()
    body = '{"error_rate": 1}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        answer = emulator.admin.post("/faults", content=body, headers={"Content-Type": content_type})
        assert answer.status_code == 415, (content_type, answer.text)
    assert emulator.admin.post("/reset").status_code == 415  # no body, no content type
    assert emulator.admin.get("/faults").json() == before
    assert emulator.admin.post("/faults", content=body, headers={"Content-Type": "application/json; charset=utf-8"}).status_code == 200
    emulator.reset()


def test_webhook_and_callback_listings_mask_the_receiver_secret(emulator) -> None:
    secret = secrets.token_urlsafe(32)
    endpoint = f"http://user:pw@127.0.0.1:9/hooks/{secret}/inbound?token=abc&x=1"
    body = {"name": "n", "actionType": "HttpRequest", "description": "d", "options": {"endpointUrl": endpoint, "httpVerb": "POST"}}
    with emulator.api() as api:
        assert api.post("/service/sms-twoway/pipelines/actions", headers={"Customer": "demo-customer"}, json=body).status_code == 201
    listed = emulator.admin.get("/webhooks").text
    assert secret not in listed and "pw@" not in listed and "abc" not in listed
    (webhook,) = emulator.webhooks()
    assert webhook["endpoint_url"] == "http://user:***@127.0.0.1:9/hooks/***/inbound?token=%2A%2A%2A&x=1"
    plain = "http://127.0.0.1:9/dlr/123e4567-e89b-12d3-a456-426614174000/receive-delivery-reports"
    assert redact_url(plain) == plain  # a UUID or a long word in a path is not taken for a secret
