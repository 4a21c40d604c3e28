"""Where each setting comes from: a command-line flag, an environment variable, a TOML file, or the default.

dlt's config providers are asked in dlt's own order (environment, secrets.toml, config.toml, then any
vault), each from the most specific section up to the top level, as dlt resolves them: the first that
answers is the one dlt uses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional, Sequence

MASK = "***"


@dataclass(frozen=True)
class Found:
    """A value and a description of where it came from."""

    value: Any
    source: str


def find(key: str, sections: Sequence[str]) -> Optional[Found]:
    """The value dlt would resolve for `key` in `sections`, and its source; None when no provider has it."""
    import dlt

    for provider in dlt.config.config_providers:
        for depth in range(len(sections), -1, -1):
            value, full_key = provider.get_value(key, Any, None, *sections[:depth])
            if value is not None:
                return Found(value, _describe(provider, full_key, key, tuple(sections[:depth])))
    return None


def _describe(provider: Any, full_key: str, key: str, sections: tuple[str, ...]) -> str:
    if provider.name == "Environment Variables":
        return f"environment variable {full_key}"
    locations = getattr(provider, "present_locations", None)
    if locations is None:
        return provider.name
    origin = provider.get_value_location(key, None, *sections) if hasattr(provider, "get_value_location") else ""
    wanted_global = origin.startswith("global:")
    name = origin.removeprefix("global:") or provider.name
    global_dir = getattr(provider, "_global_dir", None)
    for path in locations:
        in_global = bool(global_dir) and os.path.abspath(path).startswith(os.path.abspath(global_dir))
        if os.path.basename(path) == name and in_global == wanted_global:
            return f"{path} [{'.'.join(sections) or 'top level'}]"
    return f"{name} [{'.'.join(sections) or 'top level'}]"
