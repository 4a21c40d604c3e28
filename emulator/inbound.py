"""Simulated inbound messages to a two-way service, delivered to its NewMessage webhooks."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from smartdialog_sync.emulator.callbacks import utc_now_iso
from smartdialog_sync.emulator.errors import bad_request
from smartdialog_sync.emulator.sending import e164_address

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime

STOP_WORDS = ("STOP",)
MAX_COUNT = 10_000


def _thread_id(runtime: "Runtime", customer_id: str, service_id: str, address: str) -> str:
    for thread in runtime.state.threads.values():
        if (thread["customer"], thread["service"], thread["address"]) == (customer_id, service_id, address):
            return thread["thread_id"]
    thread_id = str(uuid.uuid4())
    runtime.state.threads[thread_id] = {
        "thread_id": thread_id, "customer": customer_id, "service": service_id, "address": address}
    return thread_id


def _attachments(value: Any) -> list[dict[str, str]]:
    """Validate the optional attachments: [{"name", "mimeType", "resourceLocation"}] (strings)."""
    if value is None:
        return []
    keys = ("name", "mimeType", "resourceLocation")
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and set(item) <= set(keys) and all(isinstance(v, str) for v in item.values())
        for item in value
    ):
        raise bad_request("attachments must be a list of {name, mimeType, resourceLocation} strings", "attachments")
    return value


def simulate_inbound(runtime: "Runtime", data: Any) -> dict[str, Any]:
    """Receive `count` messages from `sender` on two-way `service` and call every webhook of the service.

    A STOP message also marks the sender as opted out for the customer: later sends to it fail
    with errorCode OPTED_OUT.
    """
    if not isinstance(data, dict):
        raise bad_request("body must be a JSON object", "body")
    for name in ("service", "sender", "content"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise bad_request(f"{name} is required (a non-empty string)", name)
    count = data.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise bad_request(f"count must be an integer from 1 to {MAX_COUNT}", "count")
    protocol = data.get("protocol") or "SMS"
    attachments = _attachments(data.get("attachments"))
    customer, service = runtime.catalog.find_service(data["service"], data.get("customer"))
    if service.type != "TwoWay":
        raise bad_request(f"service {service.id!r} is not a TwoWay service", "service")
    sender = e164_address(data["sender"], "sender")
    recipient = data.get("recipient") or service.number
    thread_id = _thread_id(runtime, customer.id, service.id, sender)
    if data["content"].strip().upper() in STOP_WORDS and f"{customer.id} {sender}" not in runtime.state.stopped:
        runtime.state.stopped.append(f"{customer.id} {sender}")
    webhooks = [w for w in runtime.state.webhooks.values()
                if (w["customer"], w["service"]) == (customer.id, service.id)]
    received = []
    for _ in range(count):
        payload = {
            "sender": sender, "recipient": recipient, "content": data["content"], "timestamp": utc_now_iso(),
            "protocol": protocol, "attachments": attachments, "messageId": str(uuid.uuid4()),
        }
        runtime.state.inbound[payload["messageId"]] = {
            **payload, "customer": customer.id, "service": service.id, "threadId": thread_id}
        for webhook in webhooks:
            runtime.callbacks.deliver_webhook(webhook["endpoint_url"], payload)
        received.append({**payload, "threadId": thread_id})
    runtime.commit()
    return {"messages": received, "webhooks": len(webhooks)}
