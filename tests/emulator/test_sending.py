"""Send behaviour: duplicate RequestId, personalization, part counting, scheduling."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.emulator.helpers import SEND_HEADERS, send_body


def test_duplicate_request_id_is_409_naming_the_original(api, emulator) -> None:
    first = api.post("/messages", headers=SEND_HEADERS, json=send_body(RequestId="order-1"))
    assert first.status_code == 200
    again = api.post("/messages", headers=SEND_HEADERS, json=send_body(RequestId="order-1", Content="other"))
    assert again.status_code == 409
    assert again.json()["requestId"] == "order-1"
    assert again.json()["messageId"] == first.json()["MessageId"]
    assert len(emulator.messages()) == 1
    whatsapp = api.post("/messages/templates/whatsapp", headers=SEND_HEADERS, json={
        "TemplateName": "welcome", "Recipients": [{"Address": "+358401234567"}], "RequestId": "order-1"})
    assert whatsapp.status_code == 409
    assert api.post("/messages", headers=SEND_HEADERS, json=send_body(RequestId="order-2")).status_code == 200


def test_personalization_renders_per_recipient(api, emulator) -> None:
    body = send_body(Content="Hi {{name}}, order {{ order }} {{missing}}ready", Recipients=[
        {"Address": "+358401234567", "Personalization": {"name": "Aino", "order": 42}},
        {"Address": "+358401234568", "Personalization": {"name": "Eero"}},
    ])
    assert api.post("/messages", headers=SEND_HEADERS, json=body).status_code == 200
    assert emulator.messages("+358401234567")[0]["content"] == "Hi Aino, order 42 ready"
    assert emulator.messages("+358401234568")[0]["content"] == "Hi Eero, order  ready"
    nested = send_body(Recipients=[{"Address": "+358401234567", "Personalization": {"x": {"y": 1}}}])
    rejected = api.post("/messages", headers=SEND_HEADERS, json=nested)
    assert (rejected.status_code, rejected.json()["field"]) == (400, "Recipients[0].Personalization.x")


@pytest.mark.parametrize(
    ("content", "parts", "encoding"),
    [("a" * 160, 1, "GSM-7"), ("a" * 161, 2, "GSM-7"), ("€" * 80, 1, "GSM-7"), ("€" * 81, 2, "GSM-7"),
     ("ä" * 160, 1, "GSM-7"), ("ç" * 70, 1, "UCS-2"), ("ç" * 71, 2, "UCS-2"), ("😀" * 35, 1, "UCS-2"),
     ("😀" * 36, 2, "UCS-2")],
)
def test_part_count(api, emulator, content, parts, encoding) -> None:
    result = api.post("/messages", headers=SEND_HEADERS, json=send_body(Content=content)).json()
    assert result["MessagePartCount"] == parts
    [row] = emulator.messages()
    assert (row["parts"], row["encoding"]) == (parts, encoding)


def test_part_count_is_the_longest_personalized_text(api, emulator) -> None:
    body = send_body(Content="{{text}}", Recipients=[
        {"Address": "+358401234567", "Personalization": {"text": "short"}},
        {"Address": "+358401234568", "Personalization": {"text": "x" * 200}},
    ])
    assert api.post("/messages", headers=SEND_HEADERS, json=body).json()["MessagePartCount"] == 2
    assert sorted(r["parts"] for r in emulator.messages()) == [1, 2]


def test_future_send_is_scheduled(api, emulator) -> None:
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert api.post("/messages", headers=SEND_HEADERS, json=send_body(SendDateTime=later)).status_code == 200
    [row] = emulator.messages()
    assert row["status"] == "Scheduled"
    assert row["scheduled"] is True


@pytest.mark.parametrize("when", ["2020-01-01T00:00:00Z", "tomorrow", "2026-13-01T00:00:00"])
def test_past_or_malformed_send_time_is_400(api, when) -> None:
    response = api.post("/messages", headers=SEND_HEADERS, json=send_body(SendDateTime=when))
    assert (response.status_code, response.json()["field"]) == (400, "SendDateTime")


def test_request_id_is_forgotten_after_its_ttl(api, emulator) -> None:
    emulator.configure(request_id_ttl_seconds=1.5)
    assert api.post("/messages", headers=SEND_HEADERS, json=send_body(RequestId="ttl-1")).status_code == 200
    assert api.post("/messages", headers=SEND_HEADERS, json=send_body(RequestId="ttl-1")).status_code == 409
    time.sleep(1.6)
    assert api.post("/messages", headers=SEND_HEADERS, json=send_body(RequestId="ttl-1")).status_code == 200


def test_request_id_ttl_defaults_to_seven_days(emulator) -> None:
    assert emulator.admin.get("/config").json()["request_id_ttl_seconds"] == 7 * 24 * 3600
