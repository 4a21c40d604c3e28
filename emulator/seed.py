"""The emulator's seed: customers, services, WhatsApp data, regions and credentials.

The built-in seed is `default_seed.json` next to this module; `--seed FILE` replaces it with a JSON
file of the same shape (see emulator/README.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SEED_PATH = Path(__file__).with_name("default_seed.json")
SERVICE_TYPES = ("OneWay", "TwoWay", "Group")


class SeedError(ValueError):
    """A seed file that cannot be read or does not have the expected shape."""


@dataclass(frozen=True)
class Service:
    """A sending/receiving service of a customer."""

    id: str
    name: str
    type: str
    allow_reply_message: bool
    number: str


@dataclass(frozen=True)
class Template:
    """A WhatsApp template."""

    id: str
    display_name: str
    raw_content: str
    category: str
    language: str


@dataclass(frozen=True)
class Customer:
    """A customer with its services, WhatsApp identities and templates."""

    id: str
    name: str
    services: dict[str, Service]
    whatsapp_identities: tuple[str, ...]
    whatsapp_templates: tuple[Template, ...]


@dataclass(frozen=True)
class Seed:
    """Everything the emulator starts from (and returns to on reset)."""

    static_tokens: tuple[str, ...]
    clients: dict[str, str]  # client_id -> client_secret
    refresh_tokens: tuple[str, ...]
    customers: dict[str, Customer]
    template_categories: tuple[str, ...]
    phone_number_regions: tuple[dict[str, str], ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


def _require(mapping: Any, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise SeedError(f"seed: {where} is missing '{key}'")
    value = mapping[key]
    if not isinstance(value, kind):
        raise SeedError(f"seed: {where}.{key} has the wrong type ({type(value).__name__})")
    return value


def _service(raw: Any, where: str) -> Service:
    service_type = _require(raw, "type", where, str)
    if service_type not in SERVICE_TYPES:
        raise SeedError(f"seed: {where}.type must be one of {', '.join(SERVICE_TYPES)}")
    return Service(
        id=_require(raw, "id", where, str),
        name=_require(raw, "name", where, str),
        type=service_type,
        allow_reply_message=bool(raw.get("allow_reply_message", service_type == "TwoWay")),
        number=str(raw.get("number", "")),
    )


def _template(raw: Any, where: str) -> Template:
    return Template(
        id=_require(raw, "id", where, str),
        display_name=_require(raw, "display_name", where, str),
        raw_content=_require(raw, "raw_content", where, str),
        category=str(raw.get("category", "UTILITY")),
        language=str(raw.get("language", "en")),
    )


def _customer(raw: Any, where: str) -> Customer:
    services = [_service(s, f"{where}.services[{i}]") for i, s in enumerate(_require(raw, "services", where, list))]
    templates = raw.get("whatsapp_templates", [])
    return Customer(
        id=_require(raw, "id", where, str),
        name=_require(raw, "name", where, str),
        services={s.id: s for s in services},
        whatsapp_identities=tuple(str(n) for n in raw.get("whatsapp_identities", [])),
        whatsapp_templates=tuple(_template(t, f"{where}.whatsapp_templates[{i}]") for i, t in enumerate(templates)),
    )


def parse_seed(raw: Any) -> Seed:
    """Build a Seed from its JSON form, raising SeedError naming the first problem."""
    auth = _require(raw, "auth", "top level", dict)
    customers = [_customer(c, f"customers[{i}]") for i, c in enumerate(_require(raw, "customers", "top level", list))]
    clients = auth.get("clients", [])
    return Seed(
        static_tokens=tuple(_require(auth, "static_tokens", "auth", list)),
        clients={_require(c, "client_id", "auth.clients", str): _require(c, "client_secret", "auth.clients", str)
                 for c in clients},
        refresh_tokens=tuple(auth.get("refresh_tokens", [])),
        customers={c.id: c for c in customers},
        template_categories=tuple(raw.get("whatsapp_template_categories", [])),
        phone_number_regions=tuple(
            {"value": _require(r, "value", "phone_number_regions", str), "name": _require(r, "name", "phone_number_regions", str)}
            for r in raw.get("phone_number_regions", [])
        ),
        raw=raw,
    )


def load_seed(path: Path | None = None) -> Seed:
    """Load the seed from `path`, or the built-in default seed when `path` is None."""
    source = path or DEFAULT_SEED_PATH
    try:
        raw = json.loads(Path(source).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"cannot read seed file {source}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SeedError(f"seed file {source} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return parse_seed(raw)
