"""The emulator's mutable state (contacts, messages, webhooks, tokens...) and its optional JSON state file."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smartdialog_sync.emulator.errors import not_found
from smartdialog_sync.emulator.seed import Customer, Seed, Service

FINAL_STATUSES = ("Delivered", "Failed", "Expired")


@dataclass
class State:
    """Everything an API call can change. Plain dicts and lists so it serialises to JSON as is."""

    contacts: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # "customer/group" -> E.164 -> contact
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # message id -> sent message
    request_ids: dict[str, dict[str, Any]] = field(default_factory=dict)  # "customer\nrequest id" -> {message_id, at}
    inbound: dict[str, dict[str, Any]] = field(default_factory=dict)  # message id -> received message
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)  # thread id -> discussion
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)  # action id -> registration
    pipelines: dict[str, str] = field(default_factory=dict)  # "customer/service" -> pipeline id
    templates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # customer -> templates
    opt_ins: list[str] = field(default_factory=list)  # "sender recipient"
    stopped: list[str] = field(default_factory=list)  # "customer service address" that replied STOP
    access_tokens: dict[str, float] = field(default_factory=dict)  # issued token -> expiry (epoch seconds)
    refresh_tokens: list[str] = field(default_factory=list)
    refresh_grants: dict[str, dict[str, Any]] = field(default_factory=dict)  # refresh token -> {client_id, oid, scope}
    auth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> authorization request, redeemed

    @classmethod
    def from_seed(cls, seed: Seed) -> "State":
        """A fresh state for `seed`."""
        templates = {c.id: [asdict(t) for t in c.whatsapp_templates] for c in seed.customers.values()}
        return cls(templates=templates, refresh_tokens=list(seed.refresh_tokens))

    def to_json(self) -> dict[str, Any]:
        """The state as a JSON-serialisable dict (sharing, not copying, the nested values)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "State":
        """Rebuild a state saved with `to_json` (unknown keys are ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class Catalog:
    """Read-only lookups in the seed that answer 404 for unknown customers and services."""

    def __init__(self, seed: Seed) -> None:
        self.seed = seed

    def customer(self, customer_id: str, field_name: str = "Customer-Id") -> Customer:
        """The customer `customer_id`, or a 404."""
        customer = self.seed.customers.get(customer_id)
        if customer is None:
            raise not_found(f"unknown customer {customer_id!r}", field_name)
        return customer

    def service(self, customer: Customer, service_id: str, field_name: str = "Service-Id",
                types: tuple[str, ...] | None = None) -> Service:
        """The service `service_id` of `customer` (optionally of one of `types`), or a 404."""
        service = customer.services.get(service_id)
        if service is None or (types is not None and service.type not in types):
            kind = "/".join(types) + " " if types else ""
            raise not_found(f"unknown {kind}service {service_id!r} for customer {customer.id!r}", field_name)
        return service

    def find_service(self, service_id: str, customer_id: str | None = None) -> tuple[Customer, Service]:
        """The first customer (or `customer_id`) that has service `service_id`, or a 404."""
        for customer in self.seed.customers.values():
            if customer_id in (None, customer.id) and service_id in customer.services:
                return customer, customer.services[service_id]
        raise not_found(f"unknown service {service_id!r}", "service")


class StateFile:
    """A JSON file holding the state, rewritten atomically after every change."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> State | None:
        """The saved state, or None when the file does not exist yet."""
        if not self.path.exists():
            return None
        return State.from_json(json.loads(self.path.read_text(encoding="utf-8")))

    def save(self, state: State) -> None:
        """Write `state` to a temporary file and move it over the state file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(state.to_json(), separators=(",", ":")))
        os.replace(tmp, self.path)
