"""Request body schemas, written by hand from the API definition (plus the emulator's documented limits).

Extensions to the JSON-schema subset: `nonEmpty` (a required string must not be blank).
"""

from __future__ import annotations

from typing import Any

MAX_RECIPIENTS = 1000

_STRING = {"type": "string"}
_REQUIRED_STRING = {"type": "string", "nonEmpty": True}

_RECIPIENT = {
    "type": "object",
    "required": ["Address"],
    "properties": {"Address": _REQUIRED_STRING, "Personalization": {"type": "object"}},
}

SEND_MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["Sender", "Protocol", "Content", "Recipients"],
    "properties": {
        "Sender": _REQUIRED_STRING,
        "Content": _REQUIRED_STRING,
        "Protocol": {"type": "string", "enum": ["SMS"]},
        "SendDateTime": _STRING,
        "Recipients": {"type": "array", "items": _RECIPIENT, "minItems": 1, "maxItems": MAX_RECIPIENTS},
        "AttachmentUri": _STRING,
        "CustomerData": {"type": "string", "maxLength": 255},
        "AdMessage": {"type": "boolean"},
        "DlrUrl": _STRING,
        "RequestId": {"type": "string", "maxLength": 1000},
    },
}

DISCUSSION_REPLY: dict[str, Any] = {
    "type": "object",
    "required": ["ThreadId", "Content"],
    "properties": {
        "ThreadId": _REQUIRED_STRING,
        "Content": _REQUIRED_STRING,
        "CustomerData": {"type": "string", "maxLength": 255},
    },
}

_BUTTON_TYPE = {"type": "string", "enum": ["Call", "QuickReply", "Url"]}

WHATSAPP_TEMPLATE_SEND: dict[str, Any] = {
    "type": "object",
    "required": ["TemplateName", "Recipients"],
    "properties": {
        "TemplateName": _REQUIRED_STRING,
        "Recipients": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_RECIPIENTS,
            "items": {"type": "object", "required": ["Address"], "properties": {"Address": _REQUIRED_STRING}},
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
        "CustomerData": {"type": "string", "maxLength": 255},
        "RequestId": {"type": "string", "maxLength": 1000},
    },
}

CREATE_WHATSAPP_TEMPLATE: dict[str, Any] = {
    "type": "object",
    "required": ["DisplayName", "Category", "Language", "RawContent"],
    "properties": {
        "DisplayName": {"type": "string", "maxLength": 100, "nonEmpty": True},
        "RawContent": _REQUIRED_STRING,
        "Category": _REQUIRED_STRING,
        "Language": _REQUIRED_STRING,
        "Buttons": {
            "type": "array",
            "items": {"type": "object", "properties": {"Type": _BUTTON_TYPE, "Label": _STRING, "Data": _STRING}},
        },
        "AttachmentUrl": _STRING,
    },
}

NEW_MESSAGE_WEBHOOK: dict[str, Any] = {
    "type": "object",
    "required": ["actionType", "description", "name", "options"],
    "properties": {
        "name": _STRING,
        "actionType": _STRING,
        "description": _STRING,
        "options": {
            "type": "object",
            "required": ["endpointUrl", "httpVerb"],
            "properties": {"endpointUrl": _REQUIRED_STRING, "httpVerb": _REQUIRED_STRING},
        },
    },
}

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

CREATE_CONTACT: dict[str, Any] = {
    "type": "object",
    "required": ["phone"],
    "properties": {"phone": _REQUIRED_STRING, **_CONTACT_PROPERTIES},
}

UPDATE_CONTACT: dict[str, Any] = {"type": "object", "properties": _CONTACT_PROPERTIES}

# Contact fields stored and returned by GetGroupContact (the response schema of the definition).
CONTACT_RESPONSE_FIELDS = (
    "phone", "email", "firstName", "lastName", "gender", "birthYear", "streetAddress", "zipCode",
    "city", "countryCode", "failedMessages", "customContactProperties",
)
