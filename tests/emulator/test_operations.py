"""Every operation of the definition answers with its documented status, casing and body."""

from __future__ import annotations

import uuid


from tests.emulator.helpers import CUSTOMER, SEND_HEADERS, send_body


def test_catalog_operations(api) -> None:
    assert api.get("/customers").json() == {"customerUsers": [{"customerId": CUSTOMER, "customerName": "Demo Oy"}]}
    oneway = api.get(f"/services/{CUSTOMER}", headers={"ServiceType": "OneWay"}).json()
    assert [s["id"] for s in oneway] == ["sms-oneway"]
    replyable = api.get(f"/services/{CUSTOMER}", headers={"ServiceType": "TwoWay", "AllowReplyMessage": "true"})
    assert [s["id"] for s in replyable.json()] == ["sms-twoway"]
    assert [s["id"] for s in api.get(f"/services/{CUSTOMER}", headers={"ServiceType": "Group"}).json()] == ["crm-group"]
    regions = api.get("/phonenumberregions").json()
    assert {"value": "FI", "name": "Finland"} in regions
    assert "UTILITY" in api.get("/whatsapp/templates/categories").json()
    templates = api.get(f"/whatsapp/templates/{CUSTOMER}").json()
    assert {t["displayName"] for t in templates} == {"order_ready", "welcome"}
    assert all("rawContent" in t["extensionParameters"] for t in templates)
    one = api.get(f"/whatsapp/templates/{CUSTOMER}", params={"TemplateId": templates[0]["id"]}).json()
    assert [t["id"] for t in one] == [templates[0]["id"]]
    assert api.get(f"/whatsapp/identities/{CUSTOMER}").json() == [{"inputSource": {"address": "+358401000000"}}]


def test_unknown_customer_is_404(api) -> None:
    response = api.get("/services/nobody", headers={"ServiceType": "OneWay"})
    assert response.status_code == 404
    assert response.json()["field"] == "Customer-Id"
    assert api.post("/messages", headers={"Customer-Id": CUSTOMER, "Service-Id": "nope"},
                    json=send_body()).status_code == 404


def test_send_message_answers_pascal_case(api, emulator) -> None:
    response = api.post("/messages", headers=SEND_HEADERS,
                        json=send_body(Recipients=[{"Address": "0401234567"}, {"Address": "+46701234567"}]))
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result) == {"MessageId", "MessagePartCount", "Recipients"}
    assert result["MessagePartCount"] == 1
    assert [r["Address"] for r in result["Recipients"]] == ["0401234567", "+46701234567"]
    rows = emulator.messages(address="+358401234567")
    assert [(r["message_id"], r["recipient_id"], r["content"]) for r in rows] == [
        (result["MessageId"], result["Recipients"][0]["Id"], "Hello")]


def test_reply_and_discussion_reply(api, emulator) -> None:
    received = emulator.inbound("sms-twoway", "+358401234567", "Hi there")["messages"][0]
    reply = api.post(f"/messages/reply/{received['messageId']}",
                     headers={"Customer-Id": CUSTOMER, "Service-Id": "sms-twoway"}, json=send_body())
    assert reply.status_code == 200, reply.text
    assert set(reply.json()) == {"MessageId", "MessagePartCount", "Recipients"}
    unknown = api.post(f"/messages/reply/{uuid.uuid4()}", headers={"Customer-Id": CUSTOMER, "Service-Id": "sms-twoway"},
                       json=send_body())
    assert unknown.status_code == 404
    not_replyable = api.post(f"/messages/reply/{received['messageId']}", headers=SEND_HEADERS, json=send_body())
    assert not_replyable.status_code == 400

    discussion = api.post("/messages/discussion/reply", headers={"CustomerId": CUSTOMER},
                          json={"ThreadId": received["threadId"], "Content": "Thanks!"})
    assert discussion.status_code == 200, discussion.text
    body = discussion.json()
    assert body["ThreadId"] == received["threadId"]
    assert body["Recipients"][0]["Address"] == "+358401234567"
    assert api.post("/messages/discussion/reply", headers={"CustomerId": CUSTOMER},
                    json={"ThreadId": "nope", "Content": "x"}).status_code == 404


def test_whatsapp_template_send_answers_camel_case(api, emulator) -> None:
    response = api.post("/messages/templates/whatsapp", headers=SEND_HEADERS, json={
        "TemplateName": "order_ready", "BodyParameters": ["A-42"], "Recipients": [{"Address": "+358401234567"}]})
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result) == {"messageId", "messagePartCount", "recipients"}
    assert set(result["recipients"][0]) == {"address", "id"}
    assert emulator.messages()[0]["content"] == "Hello! Your order A-42 is ready for pickup."
    wrong_count = api.post("/messages/templates/whatsapp", headers=SEND_HEADERS, json={
        "TemplateName": "order_ready", "Recipients": [{"Address": "+358401234567"}]})
    assert wrong_count.status_code == 400
    assert wrong_count.json()["field"] == "BodyParameters"


def test_create_whatsapp_template_204(api) -> None:
    body = {"DisplayName": "shipped", "Category": "UTILITY", "Language": "fi", "RawContent": "Lähetetty {{1}}"}
    response = api.post(f"/whatsapp/templates/{CUSTOMER}/+358401000000", json=body)
    assert response.status_code == 204
    assert response.content == b""
    names = [t["displayName"] for t in api.get(f"/whatsapp/templates/{CUSTOMER}").json()]
    assert "shipped" in names
    assert api.post(f"/whatsapp/templates/{CUSTOMER}/+358401000000", json=body).status_code == 409
    assert api.post(f"/whatsapp/templates/{CUSTOMER}/+358409999999", json=body).status_code == 404
    too_long = api.post(f"/whatsapp/templates/{CUSTOMER}/+358401000000", json={**body, "DisplayName": "x" * 101})
    assert too_long.status_code == 400
    assert too_long.json()["field"] == "DisplayName"


def test_whatsapp_opt_in_and_out_204(api) -> None:
    path = "/whatsapp/opt-in/sender/+358401000000/recipient/+358401234567"
    assert api.post(path).status_code == 204
    assert api.delete(path).status_code == 204
    assert api.post("/whatsapp/opt-in/sender/+358409999999/recipient/+358401234567").status_code == 404


def test_webhook_registration_and_delete_trigger(api, emulator) -> None:
    body = {"name": "flow", "actionType": "HttpRequest", "description": "test",
            "options": {"endpointUrl": "http://127.0.0.1:9/hook", "httpVerb": "POST"}}
    response = api.post("/service/sms-twoway/pipelines/actions", headers={"Customer": CUSTOMER}, json=body)
    assert response.status_code == 201, response.text
    action_id = response.json()["id"]
    location = response.headers["Location"]
    assert location.startswith(emulator.base_url + "/pipelines/")
    assert location.endswith(f"/actions/{action_id}")
    assert [w["action_id"] for w in emulator.webhooks()] == [action_id]
    path = location[len(emulator.base_url):]
    assert api.delete(path).status_code == 204
    assert emulator.webhooks() == []
    assert api.delete(path).status_code == 404


def test_unknown_path_and_method_answer_json(api) -> None:
    missing = api.get("/no/such/path")
    assert (missing.status_code, missing.json()["error"]) == (404, "Not Found")
    wrong_method = api.delete("/customers")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "Method Not Allowed")
