"""The connection's settings as dlt's config resolves them (the one place the API settings touch dlt).

`SmartDialogCredentials` is derived from the fields of `config.ClientSettings`, the one list of the
connection's settings: the same names and defaults, each typed as config holds it (secret text for the
secrets and the URLs that may carry a password, the rate limit as its text, the data dir as a path text or
None for the user's data dir). `resolve_credentials` reads it from one or more config sections in turn.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional, get_type_hints

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import CredentialsConfiguration
from dlt.common.typing import TSecretStrValue

from ..errors import ConfigurationError
from ..rate_limit import RateLimit
from .config import SECRET_URLS, ClientSettings, Secret

SHARED_SECTIONS = ("smartdialog",)  # [smartdialog], env SMARTDIALOG__KEY: every command's connection


def _as_config(setting: dataclasses.Field[Any], hint: Any) -> tuple[Any, Any]:
    """The type and default of a ClientSettings field as config holds it."""
    if hint == Optional[Secret] or setting.name in SECRET_URLS:
        return Optional[TSecretStrValue], None
    if hint is RateLimit:
        return str, str(setting.default_factory())  # type: ignore[misc]
    if hint is Path:
        return Optional[str], None  # None: the user's data dir (state.location.user_data_dir)
    return hint, setting.default


def _credentials_spec() -> type[CredentialsConfiguration]:
    hints = get_type_hints(ClientSettings)
    forms = {setting.name: _as_config(setting, hints[setting.name]) for setting in dataclasses.fields(ClientSettings)}
    body: dict[str, Any] = {name: default for name, (_, default) in forms.items()}
    body["__annotations__"] = {name: hint for name, (hint, _) in forms.items()}
    body["__module__"] = __name__
    body["__doc__"] = "The connection's settings as dlt resolves them: ClientSettings' fields as config holds them."
    body["__section__"] = None  # looked up as KEY in the sections given, not as credentials.KEY
    return configspec(type("SmartDialogCredentials", (CredentialsConfiguration,), body))


SmartDialogCredentials = _credentials_spec()


def resolve_credentials(*layers: tuple[str, ...]) -> dict[str, Any]:
    """The connection's settings from dlt's providers (environment, .dlt/ files), as config holds them: each of
    the config sections in `layers` in turn, a key found in a later one winning over the ones before, over the
    defaults."""
    values: dict[str, Any] = dict(SmartDialogCredentials())
    for sections in layers:
        config = SmartDialogCredentials(**values)
        try:
            resolve_configuration(config, sections=sections)
        except ConfigurationException as exc:
            raise ConfigurationError(f"cannot read the [{'.'.join(sections)}] settings: {exc}") from None
        values = dict(config)
    return values
