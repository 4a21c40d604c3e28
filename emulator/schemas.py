"""Request body schemas, written by hand from the API definition (plus the emulator's documented limits).

Extensions to the JSON-schema subset: `nonEmpty` (a required string must not be blank).
"""

from __future__ import annotations

from typing import Any

MAX_RECIPIENTS = 1000

_STRING = {"type": "string"}
_REQUIRED_STRING = {"type": "string", "nonEmpty": True}
_CUSTOMER_DATA = {"type": "string", "maxLength": 255}
_REQUEST_ID = {"type": "string", "maxLength": 1000}


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    """A JSON object schema: its `properties`, of which `required` must be present."""
    return {"type": "object", "required": required, "properties": properties}


_RECIPIENT = _object(["Address"], {"Address": _REQUIRED_STRING, "Personalization": {"type": "object"}})

SEND_MESSAGE: dict[str, Any] = _object(["Sender", "Protocol", "Content", "Recipients"], {
    "Sender": _REQUIRED_STRING,
    "Content": _REQUIRED_STRING,
    "Protocol": {"type": "string", "enum": ["SMS"]},
    "SendDateTime": _STRING,
    "Recipients": {"type": "array", "items": _RECIPIENT, "minItems": 1, "maxItems": MAX_RECIPIENTS},
    "AttachmentUri": _STRING,
    "CustomerData": _CUSTOMER_DATA,
    "AdMessage": {"type": "boolean"},
    "DlrUrl": _STRING,
    "RequestId": _REQUEST_ID,
})

DISCUSSION_REPLY: dict[str, Any] = _object(["ThreadId", "Content"], {
    "ThreadId": _REQUIRED_STRING,
    "Content": _REQUIRED_STRING,
    "CustomerData": _CUSTOMER_DATA,
})

_BUTTON_TYPE = {"type": "string", "enum": ["Call", "QuickReply", "Url"]}

WHATSAPP_TEMPLATE_SEND: dict[str, Any] = _object(["TemplateName", "Recipients"], {
    "TemplateName": _REQUIRED_STRING,
    "Recipients": {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_RECIPIENTS,
        "items": _object(["Address"], {"Address": _REQUIRED_STRING}),
    },
    "BodyParameters": {"type": "array", "items": _STRING},
    "HeaderParameters": {"type": "array", "items": _STRING},
    "Buttons": {
        "type": "array",
        "items": {"type": "object", "properties": {"Type": _BUTTON_TYPE, "Data": _STRING}},
    },
    "SendDateTime": _STRING,
    "AttachmentUri": _STRING,
    "UseSmsFallback": {"type": "boolean"},
    "DlrUrl": _STRING,
    "CustomerData": _CUSTOMER_DATA,
    "RequestId": _REQUEST_ID,
})

CREATE_WHATSAPP_TEMPLATE: dict[str, Any] = _object(["DisplayName", "Category", "Language", "RawContent"], {
    "DisplayName": {"type": "string", "maxLength": 100, "nonEmpty": True},
    "RawContent": _REQUIRED_STRING,
    "Category": _REQUIRED_STRING,
    "Language": _REQUIRED_STRING,
    "Buttons": {
        "type": "array",
        "items": {"type": "object", "properties": {"Type": _BUTTON_TYPE, "Label": _STRING, "Data": _STRING}},
    },
    "AttachmentUrl": _STRING,
})

NEW_MESSAGE_WEBHOOK: dict[str, Any] = _object(["actionType", "description", "name", "options"], {
    "name": _STRING,
    "actionType": _STRING,
    "description": _STRING,
    "options": _object(["endpointUrl", "httpVerb"], {"endpointUrl": _REQUIRED_STRING, "httpVerb": _REQUIRED_STRING}),
})

_CONTACT_PROPERTIES: dict[str, Any] = {
    "active": {"type": "boolean"},
    "email": _STRING,
    "firstName": _STRING,
    "lastName": _STRING,
    "gender": {"type": "string", "enum": ["Male", "Female", "Other"]},
    "birthYear": {"type": "integer", "format": "int32"},
    "streetAddress": _STRING,
    "zipCode": _STRING,
    "city": _STRING,
    "countryCode": _STRING,
    "customContactProperties": {
        "type": "array",
        "items": {"type": "object", "properties": {"name": _STRING, "value": _STRING}},
    },
    "phoneNumberRegions": {"type": "array", "items": _STRING},
}

CREATE_CONTACT: dict[str, Any] = _object(["phone"], {"phone": _REQUIRED_STRING, **_CONTACT_PROPERTIES})

UPDATE_CONTACT: dict[str, Any] = {"type": "object", "properties": _CONTACT_PROPERTIES}

# Contact fields stored and returned by GetGroupContact (the response schema of the definition).
CONTACT_RESPONSE_FIELDS = (
    "phone", "email", "firstName", "lastName", "gender", "birthYear", "streetAddress", "zipCode",
    "city", "countryCode", "failedMessages", "customContactProperties",
)
