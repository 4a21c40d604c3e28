"""Callbacks to a real HTTP server: inbound webhooks (POST) and delivery reports (GET on DlrUrl)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone


from tests.support.callback_server import CallbackServer
from tests.emulator.helpers import SEND_HEADERS, send_body

WEBHOOK_KEYS = {"sender", "recipient", "content", "timestamp", "protocol", "attachments", "messageId"}


def register(api, url: str, service: str = "sms-twoway") -> str:
    body = {"name": "test", "actionType": "HttpRequest", "description": "test",
            "options": {"endpointUrl": url, "httpVerb": "POST"}}
    response = api.post(f"/service/{service}/pipelines/actions", headers={"Customer": "demo-customer"}, json=body)
    assert response.status_code == 201, response.text
    return response.headers["Location"]


def test_inbound_reaches_every_webhook_of_the_service(api, emulator) -> None:
    with CallbackServer() as receiver:
        register(api, receiver.url + "/one")
        register(api, receiver.url + "/two")
        result = emulator.inbound("sms-twoway", "0401234567", "hello", count=2)
        assert result["webhooks"] == 2
        received = receiver.wait_for(4)
    assert sorted(r.path for r in received) == ["/one", "/one", "/two", "/two"]
    payload = received[0].body
    assert set(payload) == WEBHOOK_KEYS
    assert payload["sender"] == "+358401234567"
    assert payload["recipient"] == "+358401000001"
    assert payload["content"] == "hello"
    assert payload["protocol"] == "SMS"
    assert datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert len({r.body["messageId"] for r in received}) == 2


def test_deleted_webhook_is_not_called(api, emulator) -> None:
    with CallbackServer() as receiver:
        location = register(api, receiver.url + "/gone")
        register(api, receiver.url + "/kept")
        assert api.delete(location[len(emulator.base_url):]).status_code == 204
        assert emulator.inbound("sms-twoway", "+358401234567", "hi")["webhooks"] == 1
        received = receiver.wait_for(1)
    assert [r.path for r in received] == ["/kept"]
    assert [entry["url"] for entry in emulator.callbacks()] == [receiver.url + "/kept"]


def test_failed_webhook_is_retried_with_backoff(api, emulator) -> None:
    with CallbackServer(fail_first=2) as receiver:
        register(api, receiver.url + "/hook")
        emulator.inbound("sms-twoway", "+358401234567", "retry me")
        [delivered] = receiver.wait_for(1)
    assert delivered.body["content"] == "retry me"
    log = emulator.callbacks()
    assert [entry["outcome"] for entry in log] == ["failed", "failed", "delivered"]
    assert [entry["attempt"] for entry in log] == [1, 2, 3]
    gaps = [datetime.fromisoformat(b["at"].replace("Z", "+00:00")) - datetime.fromisoformat(a["at"].replace("Z", "+00:00"))
            for a, b in zip(log, log[1:])]
    assert gaps[1] > gaps[0]
    assert emulator.stats()["callbacks"] == {"delivered": 1, "failed": 2, "given_up": 0, "duplicated": 0, "dropped": 0,
                                             "undelivered": 0, "pending": 0}


def test_unreachable_webhook_gives_up_after_the_retry_window(api, emulator) -> None:
    emulator.configure(callback_retry_seconds=0.5)
    register(api, "http://127.0.0.1:9/closed")
    emulator.inbound("sms-twoway", "+358401234567", "nobody home")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and emulator.stats()["callbacks"]["given_up"] == 0:
        time.sleep(0.1)
    log = emulator.callbacks()
    assert log[-1]["outcome"] == "gave_up"
    assert log[0]["status"] is None and "Connect" in log[0]["error"]


def test_duplicate_rate_redelivers(api, emulator) -> None:
    emulator.configure(duplicate_rate=1.0)
    with CallbackServer() as receiver:
        register(api, receiver.url + "/hook")
        emulator.inbound("sms-twoway", "+358401234567", "twice")
        first, second = receiver.wait_for(2)
    assert first.body == second.body
    assert emulator.stats()["callbacks"]["duplicated"] == 1


def test_stop_reply_makes_later_sends_fail(api, emulator) -> None:
    emulator.inbound("sms-twoway", "+358401234567", "STOP")
    with CallbackServer() as receiver:
        api.post("/messages", headers=SEND_HEADERS, json=send_body(DlrUrl=receiver.url + "/dlr"))
        [report] = receiver.wait_for(1)
    assert report.query["status"] == ["Failed"]
    assert report.query["errorCode"] == ["OPTED_OUT"]


def test_delivery_reports_by_get_keep_the_url_query(api, emulator) -> None:
    emulator.configure(dlr_delay_seconds=0.05)
    recipients = [{"Address": f"+3584012345{i:02d}"} for i in range(40)]
    with CallbackServer() as receiver:
        result = api.post("/messages", headers=SEND_HEADERS,
                          json=send_body(Recipients=recipients, DlrUrl=receiver.url + "/dlr?campaign=c1&x=1")).json()
        reports = receiver.wait_for(40)
    assert {r.method for r in reports} == {"GET"}
    assert all(r.query["campaign"] == ["c1"] and r.query["x"] == ["1"] for r in reports)
    by_recipient = {r.query["recipientId"][0]: r.query for r in reports}
    assert set(by_recipient) == {r["Id"] for r in result["Recipients"]}
    statuses = [q["status"][0] for q in by_recipient.values()]
    assert set(statuses) <= {"Delivered", "Failed"}
    assert statuses.count("Delivered") > statuses.count("Failed") > 0
    for query in by_recipient.values():
        assert query["messageId"] == [result["MessageId"]]
        assert query["address"][0].startswith("+3584012345")
        assert datetime.fromisoformat(query["statusTime"][0].replace("Z", "+00:00")).tzinfo is not None
        assert ("errorCode" in query) == (query["status"] == ["Failed"])
    rows = {r["recipient_id"]: r for r in emulator.messages()}
    assert all(rows[rid]["status"] == q["status"][0] for rid, q in by_recipient.items())


def test_delivery_outcomes_are_deterministic_by_seed(api, emulator) -> None:
    recipients = [{"Address": f"+3584012345{i:02d}"} for i in range(30)]

    def outcomes() -> list[str]:
        emulator.reset()
        emulator.configure(dlr_delay_seconds=0.0)
        api.post("/messages", headers=SEND_HEADERS, json=send_body(Recipients=recipients))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            rows = emulator.messages()
            if all(r["status"] in ("Delivered", "Failed") for r in rows):
                return [r["status"] for r in rows]
            time.sleep(0.05)
        raise AssertionError("delivery reports did not arrive")

    assert outcomes() == outcomes()


def test_dlr_ratios_are_configurable(api, emulator) -> None:
    emulator.configure(dlr_delay_seconds=0.0, dlr_delivered_ratio=0, dlr_failed_ratio=0, dlr_expired_ratio=1)
    with CallbackServer() as receiver:
        api.post("/messages", headers=SEND_HEADERS, json=send_body(DlrUrl=receiver.url + "/dlr"))
        [report] = receiver.wait_for(1)
    assert report.query["status"] == ["Expired"]


def test_scheduled_message_reports_only_when_due(api, emulator) -> None:
    emulator.configure(dlr_delay_seconds=0.0)
    due = datetime.now(timezone.utc) + timedelta(seconds=3)
    with CallbackServer() as receiver:
        api.post("/messages", headers=SEND_HEADERS, json=send_body(SendDateTime=due.isoformat(),
                                                                  DlrUrl=receiver.url + "/dlr"))
        [row] = emulator.messages()
        assert row["status"] == "Scheduled" or datetime.now(timezone.utc) >= due
        [report] = receiver.wait_for(1)
    reported = datetime.fromisoformat(report.query["statusTime"][0].replace("Z", "+00:00"))
    assert reported >= due - timedelta(milliseconds=1)  # statusTime has millisecond precision
    assert report.query["status"][0] in ("Delivered", "Failed")


def test_inbound_admin_validation_and_listing(emulator) -> None:
    assert emulator.admin.post("/inbound", json={"service": "sms-oneway", "sender": "+358401234567",
                                                 "content": "x"}).status_code == 400
    assert emulator.admin.post("/inbound", json={"service": "nope", "sender": "+358401234567",
                                                 "content": "x"}).status_code == 404
    assert emulator.admin.post("/inbound", json={"service": "sms-twoway", "sender": "+358401234567",
                                                 "content": "x", "count": 0}).status_code == 400
    sent = emulator.inbound("sms-twoway", "+358401234567", "listed", recipient="+358401000009")["messages"]
    listed = emulator.admin.get("/inbound").json()
    assert [(m["messageId"], m["recipient"], m["threadId"]) for m in listed] == [
        (sent[0]["messageId"], "+358401000009", sent[0]["threadId"])]


def test_failed_delivery_report_is_retried(api, emulator) -> None:
    emulator.configure(dlr_delay_seconds=0.0)
    with CallbackServer(fail_first=1) as receiver:
        result = api.post("/messages", headers=SEND_HEADERS, json=send_body(DlrUrl=receiver.url + "/dlr")).json()
        [report] = receiver.wait_for(1)
    assert report.query["recipientId"] == [result["Recipients"][0]["Id"]]
    assert [(e["kind"], e["outcome"]) for e in emulator.callbacks()] == [("dlr", "failed"), ("dlr", "delivered")]


def test_slow_receivers_do_not_block_the_api(api, emulator) -> None:
    with CallbackServer(hold=True) as receiver:
        register(api, receiver.url + "/slow")
        emulator.inbound("sms-twoway", "+358401234567", "slow", count=5)
        receiver.wait_arrived(5)  # all five callbacks are open and unanswered while the API is used
        assert api.get("/customers").status_code == 200
        assert api.post("/messages", headers=SEND_HEADERS, json=send_body()).status_code == 200
        assert receiver.received == [] and emulator.stats()["callbacks"]["delivered"] == 0
        receiver.release()
        receiver.wait_for(5)


def test_inbound_with_attachments_and_protocol(api, emulator) -> None:
    attachment = {"name": "photo.jpg", "mimeType": "image/jpeg", "resourceLocation": "https://files.example/1"}
    with CallbackServer() as receiver:
        register(api, receiver.url + "/hook")
        response = emulator.admin.post("/inbound", json={"service": "sms-twoway", "sender": "+358401234567",
                                                         "content": "see photo", "protocol": "WhatsApp",
                                                         "attachments": [attachment]})
        assert response.status_code == 200, response.text
        [delivered] = receiver.wait_for(1)
    assert delivered.body["protocol"] == "WhatsApp"
    assert delivered.body["attachments"] == [attachment]
    bad = emulator.admin.post("/inbound", json={"service": "sms-twoway", "sender": "+358401234567",
                                                "content": "x", "attachments": [{"size": 1}]})
    assert (bad.status_code, bad.json()["field"]) == (400, "attachments")
