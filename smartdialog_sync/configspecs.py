"""dlt configspecs derived from the frozen dataclasses that hold resolved settings.

A settings dataclass (`api.config.ClientSettings`, `destinations.campaigns.config.CampaignSettings`) is the one
list of its settings' names, types and defaults; `derived_configspec` makes the spec dlt resolves them with,
each field typed and defaulted as config holds it (text for a path, a list for a tuple, ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, get_type_hints

from dlt.common.configuration import configspec
from dlt.common.configuration.specs import BaseConfiguration

ConfigForm = Callable[[dataclasses.Field[Any], Any], tuple[Any, Any]]  # (field, its type) -> (config type, default)


def field_default(setting: dataclasses.Field[Any]) -> Any:
    """A dataclass field's default, made by its default factory when it has one."""
    if setting.default_factory is not dataclasses.MISSING:
        return setting.default_factory()
    return setting.default


def derived_configspec(settings: type, name: str, as_config: ConfigForm, base: type[BaseConfiguration],
                       **attributes: Any) -> type[BaseConfiguration]:
    """A configspec `name` deriving from `base` with one field per field of the dataclass `settings`, of the type
    and default `as_config` gives it; `attributes` (a docstring, __section__, ...) are set on the class."""
    hints = get_type_hints(settings)
    forms = {setting.name: as_config(setting, hints[setting.name]) for setting in dataclasses.fields(settings)}
    body: dict[str, Any] = {field_name: default for field_name, (_, default) in forms.items()}
    body["__annotations__"] = {field_name: hint for field_name, (hint, _) in forms.items()}
    body["__module__"] = settings.__module__
    return configspec(type(name, (base,), {**body, **attributes}))
