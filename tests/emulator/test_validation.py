"""Requests are validated against the definition: 400 with {"error", "field"}."""

from __future__ import annotations

import pytest

from tests.emulator.helpers import SEND_HEADERS, send_body


@pytest.mark.parametrize(
    ("headers", "body", "field"),
    [
        ({"Customer-Id": "demo-customer"}, send_body(), "Service-Id"),
        ({"Service-Id": "sms-oneway"}, send_body(), "Customer-Id"),
        (SEND_HEADERS, {k: v for k, v in send_body().items() if k != "Sender"}, "Sender"),
        (SEND_HEADERS, {k: v for k, v in send_body().items() if k != "Protocol"}, "Protocol"),
        (SEND_HEADERS, send_body(Protocol="MMS"), "Protocol"),
        (SEND_HEADERS, send_body(Content=42), "Content"),
        (SEND_HEADERS, send_body(AdMessage="yes"), "AdMessage"),
        (SEND_HEADERS, send_body(Recipients=[{"Personalization": {}}]), "Recipients[0].Address"),
        (SEND_HEADERS, send_body(Recipients=[{"Address": "not a phone"}]), "Recipients[0].Address"),
        (SEND_HEADERS, send_body(CustomerData="x" * 256), "CustomerData"),
        (SEND_HEADERS, send_body(RequestId="r" * 1001), "RequestId"),
        (SEND_HEADERS, send_body(DlrUrl="ftp://example.com/dlr"), "DlrUrl"),
        (SEND_HEADERS, send_body(DlrUrl="http://[bad/dlr"), "DlrUrl"),
        (SEND_HEADERS, send_body(DlrUrl="http://127.0.0.1:99999/dlr"), "DlrUrl"),
        (SEND_HEADERS, send_body(DlrUrl="http:///dlr"), "DlrUrl"),
        (SEND_HEADERS, send_body(Recipients=[]), "Recipients"),
    ],
)
def test_send_message_rejects(api, headers, body, field) -> None:
    response = api.post("/messages", headers=headers, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert response.json()["error"]


def test_limits_at_the_boundary_are_accepted(api) -> None:
    response = api.post("/messages", headers=SEND_HEADERS,
                        json=send_body(CustomerData="x" * 255, RequestId="r" * 1000))
    assert response.status_code == 200, response.text


def test_recipients_limit_is_1000(api, emulator) -> None:
    recipients = [{"Address": f"+3584012{i:05d}"} for i in range(1001)]
    too_many = api.post("/messages", headers=SEND_HEADERS, json=send_body(Recipients=recipients))
    assert too_many.status_code == 400
    assert too_many.json()["field"] == "Recipients"
    allowed = api.post("/messages", headers=SEND_HEADERS, json=send_body(Recipients=recipients[:1000]))
    assert allowed.status_code == 200
    assert len(allowed.json()["Recipients"]) == 1000


def test_body_must_be_json(api) -> None:
    response = api.post("/messages", headers={**SEND_HEADERS, "Content-Type": "application/json"}, content=b"{nope")
    assert response.status_code == 400
    assert response.json()["field"] == "body"


def test_other_operations_validate(api) -> None:
    services = api.get("/services/demo-customer", headers={"ServiceType": "Email"})
    assert (services.status_code, services.json()["field"]) == (400, "ServiceType")
    missing_type = api.get("/services/demo-customer")
    assert (missing_type.status_code, missing_type.json()["field"]) == (400, "ServiceType")
    contact = api.post("/groupcontact/demo-customer/crm-group", json={"phone": "+358401234567", "gender": "X"})
    assert (contact.status_code, contact.json()["field"]) == (400, "gender")
    birth = api.post("/groupcontact/demo-customer/crm-group", json={"phone": "+358401234567", "birthYear": "1990"})
    assert (birth.status_code, birth.json()["field"]) == (400, "birthYear")
    no_phone = api.post("/groupcontact/demo-customer/crm-group", json={"firstName": "A"})
    assert (no_phone.status_code, no_phone.json()["field"]) == (400, "phone")
    webhook = api.post("/service/sms-twoway/pipelines/actions", headers={"Customer": "demo-customer"},
                       json={"name": "n", "actionType": "HttpRequest", "description": "d", "options": {"httpVerb": "POST"}})
    assert (webhook.status_code, webhook.json()["field"]) == (400, "options.endpointUrl")
    no_customer = api.post("/service/sms-twoway/pipelines/actions", json={})
    assert (no_customer.status_code, no_customer.json()["field"]) == (400, "Customer")
    discussion = api.post("/messages/discussion/reply", json={"ThreadId": "t", "Content": "c"})
    assert (discussion.status_code, discussion.json()["field"]) == (400, "CustomerId")
    template = api.post("/messages/templates/whatsapp", headers=SEND_HEADERS,
                        json={"TemplateName": "welcome", "Recipients": [{"Address": "+358401234567"}],
                              "Buttons": [{"Type": "Bogus"}]})
    assert (template.status_code, template.json()["field"]) == (400, "Buttons[0].Type")


def test_deeply_nested_or_non_utf8_body_is_400(api) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    assert api.post("/messages", headers=SEND_HEADERS, content=nested).status_code == 400
    assert api.post("/messages", headers=SEND_HEADERS, content=b"\xff\xfe{").status_code == 400
