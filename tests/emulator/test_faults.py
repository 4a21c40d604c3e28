"""Fault injection: 5xx before processing, latency, and a dropped connection after processing."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.conftest import assert_no_exception_logged
from tests.emulator.helpers import SEND_HEADERS, send_body


def test_injected_errors_happen_before_processing(emulator) -> None:
    emulator.set_faults(error_rate=1.0, error_statuses=[503], seed=1)
    with emulator.api() as api:
        response = api.post("/messages", headers=SEND_HEADERS, json=send_body())
    assert response.status_code == 503
    assert emulator.messages() == []
    assert emulator.stats()["faults_injected"]["errors"] == 1


def test_error_rate_is_a_share_and_deterministic_by_seed(emulator) -> None:
    def run() -> list[int]:
        emulator.set_faults(error_rate=0.3, error_statuses=[500, 503], seed=7)
        with emulator.api() as api:
            return [api.get("/customers").status_code for _ in range(60)]

    first = run()
    assert first == run()
    errors = [s for s in first if s != 200]
    assert set(errors) == {500, 503}
    assert 6 <= len(errors) <= 30


def test_latency(emulator) -> None:
    emulator.set_faults(latency_ms=300)
    with emulator.api() as api:
        started = time.monotonic()
        assert api.get("/customers").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_after_processing_changes_state_but_sends_nothing(emulator) -> None:
    emulator.set_faults(drop_after_processing_rate=1.0, seed=1)
    with emulator.api() as api:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            api.post("/messages", headers=SEND_HEADERS, json=send_body(RequestId="dropped-1"))
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            api.post("/groupcontact/demo-customer/crm-group", json={"phone": "+358401234567"})
    [row] = emulator.messages()
    assert row["request_id"] == "dropped-1"
    assert [c["phone"] for c in emulator.contacts()] == ["+358401234567"]
    assert emulator.stats()["faults_injected"]["dropped"] == 2
    emulator.set_faults()
    with emulator.api() as api:
        retried = api.post("/messages", headers=SEND_HEADERS, json=send_body(RequestId="dropped-1"))
    assert retried.status_code == 409
    assert retried.json()["messageId"] == row["message_id"]


def test_faults_from_cli_flags(start_emulator) -> None:
    emu = start_emulator(error_rate=1.0, error_statuses=[500], fault_seed=3)
    with emu.api() as api:
        assert api.get("/customers").status_code == 500
    assert emu.admin.get("/faults").json()["error_rate"] == 1.0
    emu.reset()
    assert emu.admin.get("/faults").json()["error_rate"] == 1.0


def test_bad_fault_settings_are_400(emulator) -> None:
    response = emulator.admin.post("/faults", json={"error_rate": 2})
    assert (response.status_code, response.json()["field"]) == (400, "error_rate")
    response = emulator.admin.post("/faults", json={"error_statuses": [404]})
    assert (response.status_code, response.json()["field"]) == (400, "error_statuses")


def test_a_client_that_hangs_up_mid_body_is_no_server_error(start_emulator) -> None:
    emulator = start_emulator()
    with socket.create_connection((emulator.host, emulator.port)) as raw:
        raw.sendall(b"POST /api-integrations/v1/messages HTTP/1.1\r\nHost: " + f"{emulator.host}:{emulator.port}".encode()
                    + b"\r\nAuthorization: Bearer sandbox-token\r\nCustomer-Id: demo-customer\r\nService-Id: sms-oneway"
                    b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Sender\": ")
    deadline = time.monotonic() + 30
    while emulator.stats()["client_disconnects"] == 0:
        assert time.monotonic() < deadline, "the emulator never saw the hang-up"
        time.sleep(0.05)
    assert emulator.messages() == []
    assert emulator.stats()["responses_by_status"] == {}  # a hang-up is no answered call
    assert_no_exception_logged("emulator", emulator.output())  # the hang-up is counted, not logged as an error
