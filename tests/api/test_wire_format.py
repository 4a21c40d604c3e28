"""Each of the 20 operations, on a real socket: exact method, path encoding, header names, body casing,
and the answer parsed into the models."""

from __future__ import annotations

import pytest

from smartdialog_sync.api import models
from tests.api.conftest import TOKEN
from tests.api.wire_server import Reply, WireServer

BASE = "/api-integrations/v1"


def test_get_user_customers(client, wire: WireServer) -> None:
    wire.reply(Reply(200, {"customerUsers": [{"customerId": "c1", "customerName": "Demo Oy"}]}))
    assert client.get_user_customers() == [models.Customer(customer_id="c1", customer_name="Demo Oy")]
    request = wire.only()
    assert (request.method, request.path) == ("GET", f"{BASE}/customers")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_get_customer_services_headers(client, wire: WireServer) -> None:
    wire.reply(Reply(200, [{"id": "s1", "name": "Two-way"}]))
    services = client.get_customer_services("cust 1", "TwoWay", allow_reply_message=True)
    assert services == [models.Service(id="s1", name="Two-way")]
    request = wire.only()
    assert request.path == f"{BASE}/services/cust%201"
    assert request.headers["ServiceType"] == "TwoWay"
    assert request.headers["AllowReplyMessage"] == "true"


def test_get_customer_services_without_reply_filter(client, wire: WireServer) -> None:
    wire.reply(Reply(200, []))
    client.get_customer_services("c1", "Group")
    assert "AllowReplyMessage" not in wire.only().headers


def test_templates_with_nested_content(client, wire: WireServer) -> None:
    wire.reply(Reply(200, [{"id": "order_ready", "displayName": "Order", "extensionParameters": {"rawContent": "Hi {{1}}"}}]))
    [template] = client.get_customer_whatsapp_templates("c1", template_id="order_ready")
    assert (template.id, template.display_name, template.raw_content) == ("order_ready", "Order", "Hi {{1}}")
    assert wire.only().path == f"{BASE}/whatsapp/templates/c1?TemplateId=order_ready"


def test_categories_identities_regions(client, wire: WireServer) -> None:
    wire.reply(
        Reply(200, ["MARKETING", "UTILITY"]),
        Reply(200, [{"inputSource": {"address": "+358401000000"}}]),
        Reply(200, [{"value": "FI", "name": "Finland"}]),
    )
    assert client.get_whatsapp_template_categories() == ["MARKETING", "UTILITY"]
    assert client.get_customer_whatsapp_identities("c1") == ["+358401000000"]
    assert client.get_phone_number_regions() == [models.PhoneNumberRegion(value="FI", name="Finland")]
    assert [r.path for r in wire.requests] == [
        f"{BASE}/whatsapp/templates/categories",
        f"{BASE}/whatsapp/identities/c1",
        f"{BASE}/phonenumberregions",
    ]


SEND_ANSWER = {"MessageId": "m1", "MessagePartCount": 2, "Recipients": [{"Address": "+358401234567", "Id": "r1"}]}


def test_send_message_pascal_case(client, wire: WireServer) -> None:
    wire.reply(Reply(200, SEND_ANSWER))
    result = client.send_message(
        "c1",
        "s1",
        models.SendMessageRequest(
            sender="Shop",
            content="Hi {{name}}",
            recipients=[models.Recipient(address="+358401234567", personalization={"name": "Anna"})],
            customer_data="batch-1",
            dlr_url="http://127.0.0.1/dlr?x=1",
            request_id="req-1",
            ad_message=False,
        ),
    )
    assert result.message_id == "m1" and result.message_part_count == 2
    assert result.recipients == [models.RecipientResult(address="+358401234567", id="r1")]
    request = wire.only()
    assert (request.method, request.path) == ("POST", f"{BASE}/messages")
    assert request.headers["Customer-Id"] == "c1" and request.headers["Service-Id"] == "s1"
    assert request.json() == {
        "Sender": "Shop",
        "Content": "Hi {{name}}",
        "Protocol": "SMS",
        "Recipients": [{"Address": "+358401234567", "Personalization": {"name": "Anna"}}],
        "CustomerData": "batch-1",
        "DlrUrl": "http://127.0.0.1/dlr?x=1",
        "RequestId": "req-1",
        "AdMessage": False,
    }


def test_send_message_schedule_is_iso_utc(client, wire: WireServer) -> None:
    from datetime import datetime

    wire.reply(Reply(200, SEND_ANSWER))
    client.send_message(
        "c1", "s1", {"sender": "S", "content": "x", "recipients": [{"address": "1"}], "send_date_time": datetime(2030, 1, 2, 3, 4, 5)}
    )
    assert wire.only().json()["SendDateTime"] == "2030-01-02T03:04:05Z"


def test_send_reply_message_path(client, wire: WireServer) -> None:
    wire.reply(Reply(200, SEND_ANSWER))
    client.send_reply_message("parent/1", "c1", "s1", {"sender": "S", "content": "x", "recipients": [{"address": "1"}]})
    request = wire.only()
    assert request.path == f"{BASE}/messages/reply/parent%2F1"
    assert request.headers["Customer-Id"] == "c1"


def test_discussion_reply_uses_customerid_header(client, wire: WireServer) -> None:
    wire.reply(Reply(200, {**SEND_ANSWER, "ThreadId": "t1"}))
    result = client.send_discussion_reply_message("c1", {"thread_id": "t1", "content": "ok"})
    assert result.thread_id == "t1"
    request = wire.only()
    assert request.path == f"{BASE}/messages/discussion/reply"
    assert request.headers["CustomerId"] == "c1" and "Customer-Id" not in request.headers
    assert request.json() == {"ThreadId": "t1", "Content": "ok"}


def test_whatsapp_template_send_camel_case_answer(client, wire: WireServer) -> None:
    wire.reply(Reply(200, {"messageId": "w1", "messagePartCount": 1, "recipients": [{"address": "+358401234567", "id": "r9"}]}))
    result = client.send_whatsapp_template_message(
        "c1",
        "s1",
        {
            "template_name": "order_ready",
            "recipients": [{"address": "+358401234567"}],
            "body_parameters": ["A-1"],
            "header_parameters": ["H"],
            "buttons": [{"type": "Url", "data": "x"}],
            "use_sms_fallback": True,
            "request_id": "wa-1",
        },
    )
    assert (result.message_id, result.recipients[0].id) == ("w1", "r9")
    assert wire.only().json() == {
        "TemplateName": "order_ready",
        "Recipients": [{"Address": "+358401234567"}],
        "BodyParameters": ["A-1"],
        "HeaderParameters": ["H"],
        "Buttons": [{"Type": "Url", "Data": "x"}],
        "UseSmsFallback": True,
        "RequestId": "wa-1",
    }
    assert wire.only().path == f"{BASE}/messages/templates/whatsapp"


def test_create_whatsapp_template_204(client, wire: WireServer) -> None:
    wire.reply(Reply(204))
    client.create_whatsapp_template(
        "c1",
        "+358401000000",
        {"display_name": "Hello", "raw_content": "Hi", "category": "UTILITY", "language": "fi",
         "buttons": [{"type": "QuickReply", "label": "Yes", "data": "yes"}]},
    )
    request = wire.only()
    assert request.path == f"{BASE}/whatsapp/templates/c1/%2B358401000000"
    assert request.json() == {
        "DisplayName": "Hello", "RawContent": "Hi", "Category": "UTILITY", "Language": "fi",
        "Buttons": [{"Type": "QuickReply", "Label": "Yes", "Data": "yes"}],
    }


@pytest.mark.parametrize("method_name, verb", [("whatsapp_opt_in", "POST"), ("whatsapp_opt_out", "DELETE")])
def test_deprecated_opt_in_out(client, wire: WireServer, method_name: str, verb: str) -> None:
    wire.reply(Reply(204))
    with pytest.warns(DeprecationWarning):
        getattr(client, method_name)("Shop", "+358401234567")
    request = wire.only()
    assert (request.method, request.path) == (verb, f"{BASE}/whatsapp/opt-in/sender/Shop/recipient/%2B358401234567")


CONTACT_PATH = f"{BASE}/groupcontact/cust/crm%20group"


def test_group_contact_crud(client, wire: WireServer) -> None:
    wire.reply(
        Reply(200, "2f1d3c4e-0000-4000-8000-000000000001"),
        Reply(200, {"phone": "+358401234567", "firstName": "Anna", "failedMessages": 0}),
        Reply(200, True),
        Reply(200, True),
        Reply(200, True),
    )
    contact = models.GroupContact(
        phone="+358401234567", first_name="Anna", gender="Female", birth_year=1990, country_code="FIN",
        custom_contact_properties=[models.CustomContactProperty(name="tier", value="gold")], phone_number_regions=["FI"],
    )
    assert client.create_group_contact("cust", "crm group", contact) == "2f1d3c4e-0000-4000-8000-000000000001"
    record = client.get_group_contact("cust", "crm group", "+358401234567", region="FI")
    assert record is not None and record.first_name == "Anna" and record.failed_messages == 0
    assert client.update_group_contact("cust", "crm group", "+358401234567", contact) is True
    assert client.delete_group_contact("cust", "crm group", "+358401234567") is True
    assert client.delete_all_group_contacts("cust", "crm group") is True
    create, get, update, delete, delete_all = wire.requests
    assert (create.method, create.path) == ("POST", CONTACT_PATH)
    assert create.json() == {
        "phone": "+358401234567", "firstName": "Anna", "gender": "Female", "birthYear": 1990, "countryCode": "FIN",
        "customContactProperties": [{"name": "tier", "value": "gold"}], "phoneNumberRegions": ["FI"],
    }
    assert (get.method, get.path) == ("GET", f"{CONTACT_PATH}/%2B358401234567?Region=FI")
    assert (update.method, update.path) == ("PUT", f"{CONTACT_PATH}/%2B358401234567")
    assert "phone" not in update.json() and update.json()["firstName"] == "Anna"
    assert (delete.method, delete.path) == ("DELETE", f"{CONTACT_PATH}/%2B358401234567")
    assert (delete_all.method, delete_all.path) == ("DELETE", CONTACT_PATH)


def test_get_group_contact_404_is_none(client, wire: WireServer) -> None:
    wire.reply(Reply(404, {"error": "not found"}))
    assert client.get_group_contact("cust", "g", "+358401234567") is None


def test_webhook_register_and_delete_through_location(client, wire: WireServer) -> None:
    location = f"{wire.base_url}/pipelines/p-7/actions/a-9"
    wire.reply(Reply(201, {"id": "a-9"}, {"Location": location}), Reply(204))
    registration = client.new_message_webhook("c1", "sms two way", "https://example.test/hook/abc")
    assert registration == models.WebhookRegistration(action_id="a-9", pipeline_id="p-7", location=location)
    client.delete_trigger(registration.pipeline_id, registration.action_id)
    create, delete = wire.requests
    assert (create.method, create.path) == ("POST", f"{BASE}/service/sms%20two%20way/pipelines/actions")
    assert create.headers["Customer"] == "c1"
    assert create.json() == {
        "name": "smartdialog-sync webhook",
        "actionType": "HttpRequest",
        "description": "Created by smartdialog-sync. Removed by `sdsync serve --unregister`.",
        "options": {"endpointUrl": "https://example.test/hook/abc", "httpVerb": "POST"},
    }
    assert (delete.method, delete.path) == ("DELETE", f"{BASE}/pipelines/p-7/actions/a-9")
