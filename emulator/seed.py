"""The emulator's seed: customers, services, WhatsApp data, regions and credentials.

The built-in seed is `default_seed.json` next to this module; `--seed FILE` replaces it with a JSON
file of the same shape (see emulator/README.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from smartdialog_sync.constants import SERVICE_TYPES

DEFAULT_SEED_PATH = Path(__file__).with_name("default_seed.json")


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
class OAuthClient:
    """An app registration: confidential with a secret, public (PKCE only) without one."""

    client_id: str
    client_secret: Optional[str]
    name: str
    redirect_uris: tuple[str, ...]  # empty: any loopback http URI, any port


@dataclass(frozen=True)
class User:
    """The account that signs in on the consent page."""

    oid: str
    name: str
    emails: tuple[str, ...]


DEFAULT_USER = User("00000000-0000-4000-8000-000000000001", "Sandbox User", ("sandbox.user@example.test",))


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
    clients: dict[str, OAuthClient]
    users: tuple[User, ...]
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


def _client(raw: Any, where: str) -> OAuthClient:
    client_id = _require(raw, "client_id", where, str)
    secret = raw.get("client_secret")
    if secret is not None and not isinstance(secret, str):
        raise SeedError(f"seed: {where}.client_secret must be a string")
    return OAuthClient(client_id, secret, str(raw.get("name", client_id)),
                       tuple(str(uri) for uri in raw.get("redirect_uris", [])))


def _user(raw: Any, where: str) -> User:
    return User(_require(raw, "oid", where, str), _require(raw, "name", where, str),
                tuple(str(e) for e in raw.get("emails", [])))


def parse_seed(raw: Any) -> Seed:
    """Build a Seed from its JSON form, raising SeedError naming the first problem."""
    auth = _require(raw, "auth", "top level", dict)
    customers = [_customer(c, f"customers[{i}]") for i, c in enumerate(_require(raw, "customers", "top level", list))]
    clients = [_client(c, f"auth.clients[{i}]") for i, c in enumerate(auth.get("clients", []))]
    users = tuple(_user(u, f"auth.users[{i}]") for i, u in enumerate(auth.get("users", [])))
    return Seed(
        static_tokens=tuple(_require(auth, "static_tokens", "auth", list)),
        clients={c.client_id: c for c in clients},
        users=users or (DEFAULT_USER,),
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
