"""Request pieces shared by the emulator tests."""

from __future__ import annotations

from typing import Any

CUSTOMER = "demo-customer"
SEND_HEADERS = {"Customer-Id": CUSTOMER, "Service-Id": "sms-oneway"}


def send_body(**overrides: Any) -> dict[str, Any]:
    """A valid SendMessage body, with `overrides` applied."""
    body: dict[str, Any] = {"Sender": "DemoOy", "Protocol": "SMS", "Content": "Hello",
                            "Recipients": [{"Address": "+358401234567"}]}
    body.update(overrides)
    return body
