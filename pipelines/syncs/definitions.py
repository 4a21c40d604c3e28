"""The `[syncs.NAME]` definitions of the dlt config, read through dlt's providers and validated.

Every key of `[syncs.NAME]` may sit in `.dlt/config.toml`, in `.dlt/secrets.toml` (a CRM URL with its
password, or only `password`) or in an environment variable `SYNCS__NAME__KEY`; as everywhere in dlt, the
environment wins over secrets.toml, which wins over config.toml. A value `env:NAME` of a secret key is read
from environment variable NAME when the sync runs, so a password never has to be written into a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smartdialog_sync.errors import SdsyncError, UsageError

from .schedule import check_cron, check_zone

KINDS = ("contacts", "campaign", "pull")
MODES = ("upsert", "mirror", "create-only", "update-only")
ENV_PREFIX = "SYNCS__"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{0,63}$")  # a Dagster job name and the start of a campaign id
SECRET_KEYS = ("source", "password", "credentials", "journal_url", "opt_outs_url")
SELECTORS = ("query", "table", "sql_file")  # a contact sync names its CRM rows with exactly one of these

COMMON_KEYS = {"kind": "str", "schedule": "str", "timezone": "str"}
KEYS: dict[str, dict[str, str]] = {
    "contacts": {
        "source": "str", "password": "str", "query": "str", "table": "str", "sql_file": "str", "customer": "str",
        "group_service": "str", "mode": "str", "default_region": "str", "max_calls": "int", "key": "str",
        "map": "list", "custom_properties": "list", "workers": "int",
    },
    "campaign": {
        "source": "str", "password": "str", "query": "str", "customer": "str", "service": "str", "sender": "str",
        "content": "str", "phone_column": "str", "region_column": "str", "timezone_column": "str",
        "suppression_query": "str", "local_time": "str", "quiet_hours": "str", "dlr_url": "str",
        "customer_data": "str", "ad": "bool", "max_parts": "int", "batch_size": "int", "workers": "int",
        "opt_outs_url": "str", "variants": "list", "holdout": "str", "purpose": "str", "frequency_cap": "str",
        "ignore_opt_outs": "bool", "spread": "str", "send_rate": "str", "gsm_safe": "bool",
    },
    "pull": {
        "destination": "str", "dataset": "str", "resources": "list", "credentials": "str", "journal_url": "str",
        "max_calls": "int", "transform": "bool",
    },
}
REQUIRED = {
    "contacts": ("source", "customer", "group_service"),
    "campaign": ("source", "query", "customer", "service", "sender"),
    "pull": (),
}
INT_RANGES = {("contacts", "workers"): (1, 16), ("campaign", "workers"): (1, 8), ("contacts", "max_calls"): (1, None),
              ("pull", "max_calls"): (0, None), ("campaign", "batch_size"): (1, 1000), ("campaign", "max_parts"): (1, None)}


@dataclass(frozen=True)
class SyncDefinition:
    """One validated `[syncs.NAME]`: its kind, schedule and typed options (secrets as given, maybe `env:NAME`)."""

    name: str
    kind: str
    schedule: str | None = None
    timezone: str = "UTC"
    options: dict[str, Any] = field(default_factory=dict, repr=False)

    def get(self, key: str, default: Any = None) -> Any:
        """An option's value; a secret key's `env:NAME` is read from the environment now."""
        value = self.options.get(key, default)
        if key in SECRET_KEYS and isinstance(value, str):
            return resolve_env_reference(value, f"[syncs.{self.name}] {key}")
        return value

    def crm_url(self) -> str:
        """The CRM's SQLAlchemy URL: `source`, with `password` (from secrets.toml or env:NAME) put in."""
        url = self.get("source")
        password = self.get("password")
        if password is None:
            return url
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(url).set(password=password).render_as_string(hide_password=False)
        except (ArgumentError, ValueError):
            raise UsageError(f"[syncs.{self.name}] source: not a database URL a password can be added to") from None


def resolve_env_reference(value: str, what: str = "a value") -> str:
    """`env:NAME` → the value of environment variable NAME (so secrets stay out of config and run records)."""
    if not value.startswith("env:"):
        return value
    name = value[4:]
    if name not in os.environ:
        raise UsageError(f"{what}: environment variable {name} is not set")
    return os.environ[name]


def read_raw_syncs() -> dict[str, dict[str, Any]]:
    """Every `[syncs.NAME]` table as dlt's providers hold it, merged in dlt's order (environment first)."""
    import dlt

    merged: dict[str, dict[str, Any]] = {}
    for provider in reversed(list(dlt.config.config_providers)):  # the lowest priority first, then overwritten
        if provider.name == "Environment Variables":
            continue  # read below: dlt's environment provider cannot list a section's keys
        table, _ = provider.get_value("syncs", Any, None)
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise UsageError(f"[syncs] in {provider.name} must hold [syncs.NAME] tables, not a value")
        for name, keys in table.items():
            if not isinstance(keys, Mapping):
                raise UsageError(f"[syncs.{name}] in {provider.name} must be a table of keys, not a value")
            merged.setdefault(str(name), {}).update({str(key): value for key, value in keys.items()})
    for variable, value in os.environ.items():
        name, separator, key = variable[len(ENV_PREFIX):].partition("__")
        if variable.startswith(ENV_PREFIX) and separator and name and key and "__" not in key:
            found = next((known for known in merged if known.lower() == name.lower()), name.lower())
            merged.setdefault(found, {})[key.lower()] = value
    return merged


def check_definitions() -> tuple[list[SyncDefinition], list[str]]:
    """Every declared sync that is valid, and one line per problem (naming the sync and the key)."""
    definitions, problems = [], []
    for name, raw in sorted(read_raw_syncs().items()):
        try:
            definitions.append(parse_definition(name, raw))
        except UsageError as exc:
            problems.append(str(exc))
    return definitions, problems


def read_definitions() -> list[SyncDefinition]:
    """Every declared sync; UsageError (exit 2) naming each bad key when any definition is invalid."""
    definitions, problems = check_definitions()
    if problems:
        raise UsageError("; ".join(problems))
    return definitions


def declared_sync(name: str) -> SyncDefinition:
    """The sync declared as `[syncs.NAME]`, validated (the others are not read); UsageError when unknown."""
    raw = read_raw_syncs()
    if name not in raw:
        declared = ", ".join(sorted(raw)) or "none"
        raise UsageError(f"no sync named {name!r} in [syncs] of .dlt/config.toml (declared: {declared})")
    return parse_definition(name, raw[name])


def parse_definition(name: str, raw: Mapping[str, Any]) -> SyncDefinition:
    """Validate one `[syncs.NAME]` table; the first problem raises UsageError as `[syncs.NAME] KEY: why`."""
    where = f"[syncs.{name}]"
    if not NAME.match(name):
        raise UsageError(f"{where}: a sync name is 1-64 letters, digits or '_', starting with a letter or digit")
    kind = raw.get("kind")
    if kind not in KINDS:
        got = "missing" if kind is None else f"{kind!r} is not a kind"
        raise UsageError(f"{where} kind: {got}; use one of {', '.join(KINDS)}")
    known = {**COMMON_KEYS, **KEYS[kind]}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise UsageError(f"{where} {unknown[0]}: unknown key for a {kind} sync (known: {', '.join(sorted(known))})")
    for key in REQUIRED[kind]:
        if raw.get(key) in (None, ""):
            raise UsageError(f"{where} {key}: missing (a {kind} sync needs {', '.join(REQUIRED[kind])})")
    values = {key: _typed(where, kind, key, known[key], value) for key, value in raw.items()}
    _check_kind(where, kind, values)
    for key, check in (("schedule", check_cron), ("timezone", check_zone)):
        problem = check(values[key]) if key in values else None
        if problem:
            raise UsageError(f"{where} {key}: {problem}")
    options = {key: value for key, value in values.items() if key not in COMMON_KEYS}
    return SyncDefinition(name, kind, values.get("schedule"), values.get("timezone", "UTC"), options)


def _check_kind(where: str, kind: str, values: dict[str, Any]) -> None:
    if kind == "contacts":
        chosen = [key for key in SELECTORS if key in values]
        if len(chosen) != 1:
            named = f"{', '.join(chosen)}: more than one" if chosen else "query: missing"
            raise UsageError(f"{where} {named}; give exactly one of {', '.join(SELECTORS)}")
        if values.get("mode", "upsert") not in MODES:
            raise UsageError(f"{where} mode: {values['mode']!r} is not a mode; use one of {', '.join(MODES)}")
    if kind == "campaign":
        _check_campaign(where, values)


def _check_campaign(where: str, values: dict[str, Any]) -> None:
    """The checks `sdsync send` makes of its options before it reads the CRM, named by the definition's key."""
    from smartdialog_sync.destinations.campaigns.arms import arms_of_options
    from smartdialog_sync.destinations.campaigns.request import (
        check_common_fields,
        parse_timing,
    )
    from smartdialog_sync.destinations.campaigns.frequency import (
        FrequencyCap,
        parse_purpose,
    )
    from smartdialog_sync.destinations.campaigns.spread import Spread

    if bool(values.get("content")) == bool(values.get("variants")):
        raise UsageError(f"{where} content: give content, or variants (a list of at least two LABEL[:WEIGHT]=TEXT), not both")
    checks = {"local_time": lambda: parse_timing(None, values["local_time"], None),
              "variants": lambda: arms_of_options(None, values["variants"], values.get("holdout"), "content", "content"),
              "holdout": lambda: arms_of_options(values.get("content"), values.get("variants"), values["holdout"],
                                                 "content", "content"),
              "purpose": lambda: parse_purpose(values["purpose"]),
              "frequency_cap": lambda: FrequencyCap.parse(values["frequency_cap"]),
              "spread": lambda: Spread.parse(values["spread"], values.get("send_rate")),
              "send_rate": lambda: Spread.parse(None, values["send_rate"]),
              "quiet_hours": lambda: parse_timing(None, None, values["quiet_hours"]),
              "customer_data": lambda: check_common_fields(values["customer_data"], None),
              "dlr_url": lambda: check_common_fields(None, values["dlr_url"])}
    for key, check in checks.items():
        if key in values:
            try:
                check()
            except SdsyncError as exc:
                raise UsageError(f"{where} {key}: {str(exc).split(' ', 1)[-1]}") from None


def _typed(where: str, kind: str, key: str, type_name: str, value: Any) -> Any:
    """`value` as the key's type; strings from environment variables are converted."""
    if type_name == "str":
        if isinstance(value, str) and value.strip():
            return value
        raise UsageError(f"{where} {key}: must be a non-empty string")
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise UsageError(f"{where} {key}: must be true or false")
    if type_name == "list":
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(item, str) and item.strip() for item in items):
            return [item.strip() for item in items]
        raise UsageError(f"{where} {key}: must be a list of strings")
    number = _whole_number(value)
    low, high = INT_RANGES.get((kind, key), (0, None))
    if number is None or number < low or (high is not None and number > high):
        bounds = f"{low}-{high}" if high is not None else f"{low} or more"
        raise UsageError(f"{where} {key}: must be a whole number, {bounds}")
    return number


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
