"""Request validation: a small JSON-schema subset (type, required, enum, maxLength, items, properties).

The schemas themselves live in `emulator.schemas`, written from the API definition by hand.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from smartdialog_sync.emulator.errors import bad_request
from smartdialog_sync.timestamps import parse_timestamp

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_TYPE_NAMES = {"string": str, "object": dict, "array": list, "boolean": bool}


def _type_ok(value: Any, expected: str) -> bool:
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, _TYPE_NAMES[expected])


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def validate(schema: dict[str, Any], value: Any, path: str = "") -> None:
    """Raise a 400 ApiError naming the first field of `value` that does not match `schema`."""
    field = path or "body"
    expected = schema.get("type")
    if expected and not _type_ok(value, expected):
        raise bad_request(f"{field} must be of type {expected}", field)
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        raise bad_request(f"{field} must be one of {allowed}", field)
    if expected == "string":
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise bad_request(f"{field} is longer than {schema['maxLength']} characters", field)
        if schema.get("nonEmpty") and not value.strip():
            raise bad_request(f"{field} must not be empty", field)
    if expected == "integer" and schema.get("format") == "int32" and not INT32_MIN <= value <= INT32_MAX:
        raise bad_request(f"{field} is out of the int32 range", field)
    if expected == "array":
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise bad_request(f"{field} has more than {schema['maxItems']} items", field)
        if "minItems" in schema and len(value) < schema["minItems"]:
            raise bad_request(f"{field} needs at least {schema['minItems']} item(s)", field)
        for index, item in enumerate(value):
            validate(schema.get("items", {}), item, _join(path, index))
    if expected == "object":
        for key in schema.get("required", ()):
            if key not in value or value[key] is None:
                raise bad_request(f"missing required field {_join(path, key)}", _join(path, key))
        for key, sub in schema.get("properties", {}).items():
            if key in value and value[key] is not None:
                validate(sub, value[key], _join(path, key))
        if "additionalProperties" in schema:
            for key, item in value.items():
                if key not in schema.get("properties", {}):
                    validate(schema["additionalProperties"], item, _join(path, key))


async def json_body(request: Request, schema: dict[str, Any]) -> dict[str, Any]:
    """Parse the request body as JSON and validate it against `schema`."""
    raw = await request.body()
    if not raw.strip():
        raise bad_request("request body is required", "body")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_request("request body is not valid JSON", "body") from None
    validate(schema, body)
    return body


def header(request: Request, name: str, required: bool = True) -> str | None:
    """The value of header `name`; a missing required header (or an empty one) is a 400."""
    value = request.headers.get(name)
    if value is None or not value.strip():
        if required:
            raise bad_request(f"missing required header {name}" if value is None else f"header {name} is empty", name)
        return None
    return value


def header_bool(request: Request, name: str) -> bool | None:
    """An optional boolean header ("true"/"false", any case)."""
    value = header(request, name, required=False)
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise bad_request(f"header {name} must be true or false", name)
    return lowered == "true"


def parse_send_datetime(value: str | None, field: str = "SendDateTime") -> datetime | None:
    """Parse an ISO 8601 send time (naive = UTC); None or "" means now. A past or malformed time is a 400."""
    if value is None or value == "":
        return None
    try:
        moment = parse_timestamp(value)
    except ValueError:
        raise bad_request(f"{field} is not an ISO 8601 date-time", field) from None
    if moment < datetime.now(timezone.utc):
        raise bad_request(f"{field} is in the past", field)
    return moment


def check_http_url(value: str | None, field: str) -> None:
    """`value` (when given) must be an absolute http(s) URL with a host (and a valid port), else a 400."""
    if value is None:
        return
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:
        valid = False
    if not valid:
        raise bad_request(f"{field} must be an absolute http(s) URL", field)
