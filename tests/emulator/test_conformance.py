"""Schemathesis run of the official API definition against the running emulator.

No 5xx, and every documented response (status, headers, content type, body schema) conforms.
Undocumented statuses (400/404/409, where the definition is silent) are allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks

DEFINITION = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "smartdialog" / "apiDefinition.swagger.json"
if not DEFINITION.exists():
    pytest.skip(f"API definition not found at {DEFINITION}", allow_module_level=True)

load_all_checks()
CONFORMANCE_CHECKS = [CHECKS.get_one(name) for name in (
    "not_a_server_error", "response_schema_conformance", "response_headers_conformance", "content_type_conformance")]

schema = schemathesis.openapi.from_path(DEFINITION)

# Half of the generated cases name the seeded customer and services, so the checks reach past the 404s.
KNOWN_PATH_VALUES = {"Customer-Id": "demo-customer", "Customer": "demo-customer", "Group Service": "crm-group",
                     "Service": "sms-twoway", "IdentityNumber": "+358401000000", "Sender": "+358401000000"}
KNOWN_HEADER_VALUES = {"Customer-Id": "demo-customer", "Service-Id": "sms-twoway", "CustomerId": "demo-customer",
                       "Customer": "demo-customer", "ServiceType": "TwoWay", "AllowReplyMessage": "true",
                       "Phone": "+358401234567"}
KNOWN_PATH_VALUES["Phone"] = KNOWN_PATH_VALUES["Recipient"] = "+358401234567"


def _realistic_body(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with values the seed and the phone parser accept, so success answers get checked too."""
    fixed = {k: v for k, v in body.items() if k not in ("SendDateTime", "DlrUrl", "BodyParameters", "Buttons")}
    if "phone" in body:
        fixed.update(phone="+358401234567", phoneNumberRegions=[])
    if "phoneNumberRegions" in body:
        fixed["phoneNumberRegions"] = []
    if isinstance(body.get("Recipients"), list):
        fixed["Recipients"] = [{"Address": "+358401234567"}]
    if "TemplateName" in body:
        fixed["TemplateName"] = "welcome"
    if "Category" in body:
        fixed["Category"] = "UTILITY"
    if isinstance(body.get("options"), dict):
        fixed["options"] = {"endpointUrl": "http://127.0.0.1:9/hook", "httpVerb": "POST"}
    for name in ("Sender", "Content", "DisplayName", "Language", "RawContent"):
        if name in body:
            fixed[name] = "Text"
    return fixed


@schema.hook("flatmap_body")
def seeded_body(context: Any, body: Any) -> st.SearchStrategy:
    if not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body, _realistic_body(body)])


def _generated_or_known(values: dict[str, Any] | None, known: dict[str, str]) -> st.SearchStrategy:
    if not values:
        return st.just(values)
    return st.sampled_from([values, {**values, **{k: v for k, v in known.items() if k in values}}])


@schema.hook("flatmap_path_parameters")
def seeded_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy:
    return _generated_or_known(path_parameters, KNOWN_PATH_VALUES)


@schema.hook("flatmap_headers")
def seeded_headers(context: Any, headers: dict[str, Any] | None) -> st.SearchStrategy:
    return _generated_or_known(headers, KNOWN_HEADER_VALUES)


@pytest.mark.timeout(120)
@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_definition_conformance(case, emulator) -> None:
    case.call_and_validate(base_url=emulator.base_url, headers={"Authorization": f"Bearer {emulator.token}"},
                           checks=CONFORMANCE_CHECKS)


def test_every_operation_has_a_documented_success_answer(emulator) -> None:
    """One valid call per operation: the documented status, headers and body schema (all checks)."""
    auth = {"Authorization": f"Bearer {emulator.token}"}
    customer = {"Customer-Id": "demo-customer"}
    sends = {"Customer-Id": "demo-customer", "Service-Id": "sms-twoway"}
    sms = {"Sender": "DemoOy", "Protocol": "SMS", "Content": "Hi {{name}}",
           "Recipients": [{"Address": "+358401234567", "Personalization": {"name": "Aino"}}]}
    contact = {"phone": "0401234567", "firstName": "Aino", "gender": "Female", "birthYear": 1990}
    group = {"Customer": "demo-customer", "Group Service": "crm-group"}
    webhook = {"name": "n", "actionType": "HttpRequest", "description": "d",
               "options": {"endpointUrl": "http://127.0.0.1:9/hook", "httpVerb": "POST"}}
    seen: set[str] = set()

    def call(path: str, method: str, status: int, **case: Any) -> Any:
        operation = schema[path][method]
        response = operation.Case(**case).call_and_validate(base_url=emulator.base_url, headers=auth)
        assert response.status_code == status, response.text
        seen.add(operation.definition.raw["operationId"])
        return response

    received = emulator.inbound("sms-twoway", "+358401234567", "hello")["messages"][0]
    call("/customers", "GET", 200)
    call("/services/{Customer-Id}", "GET", 200, path_parameters=customer, headers={"ServiceType": "TwoWay"})
    call("/phonenumberregions", "GET", 200)
    call("/whatsapp/templates/categories", "GET", 200)
    call("/whatsapp/templates/{Customer-Id}", "GET", 200, path_parameters=customer)
    call("/whatsapp/identities/{Customer-Id}", "GET", 200, path_parameters=customer)
    call("/whatsapp/templates/{Customer-Id}/{IdentityNumber}", "POST", 204,
         path_parameters={**customer, "IdentityNumber": "+358401000000"},
         body={"DisplayName": "t1", "Category": "UTILITY", "Language": "en", "RawContent": "Hi {{1}}"})
    call("/messages", "POST", 200, headers=sends, body=sms)
    call("/messages/reply/{ParentMessageId}", "POST", 200, headers=sends, body=sms,
         path_parameters={"ParentMessageId": received["messageId"]})
    call("/messages/discussion/reply", "POST", 200, headers={"CustomerId": "demo-customer"},
         body={"ThreadId": received["threadId"], "Content": "Thanks"})
    call("/messages/templates/whatsapp", "POST", 200, headers=sends,
         body={"TemplateName": "order_ready", "BodyParameters": ["A1"], "Recipients": [{"Address": "+358401234567"}]})
    opt = {"Sender": "+358401000000", "Recipient": "+358401234567"}
    call("/whatsapp/opt-in/sender/{Sender}/recipient/{Recipient}", "POST", 204, path_parameters=opt)
    call("/whatsapp/opt-in/sender/{Sender}/recipient/{Recipient}", "DELETE", 204, path_parameters=opt)
    call("/groupcontact/{Customer}/{Group Service}", "POST", 200, path_parameters=group, body=contact)
    one = {**group, "Phone": "+358401234567"}
    call("/groupcontact/{Customer}/{Group Service}/{Phone}", "GET", 200, path_parameters=one)
    call("/groupcontact/{Customer}/{Group Service}/{Phone}", "PUT", 200, path_parameters=one, body={"city": "Oulu"})
    call("/groupcontact/{Customer}/{Group Service}/{Phone}", "DELETE", 200, path_parameters=one)
    call("/groupcontact/{Customer}/{Group Service}", "DELETE", 200, path_parameters=group)
    created = call("/service/{Service}/pipelines/actions", "POST", 201, path_parameters={"Service": "sms-twoway"},
                   headers={"Customer": "demo-customer"}, body=webhook)
    [location] = created.headers["location"]  # schemathesis.Response: lower-case names, lists of values
    pipeline_id, action_id = location.split("/pipelines/")[1].split("/actions/")
    call("/pipelines/{Pipeline-Id}/actions/{Action-Id}", "DELETE", 204,
         path_parameters={"Pipeline-Id": pipeline_id, "Action-Id": action_id})
    assert len(seen) == 20
