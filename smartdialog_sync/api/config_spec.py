"""The connection's settings as dlt's config resolves them (the one place the API settings touch dlt).

`SmartDialogCredentials` is derived from the fields of `config.ClientSettings`, the one list of the
connection's settings: the same names and defaults, each typed as config holds it (secret text for the
secrets and the URLs that may carry a password, the rate limit as its text, the data dir as a path text or
None for the user's data dir). `resolve_credentials` reads it from one or more config sections in turn.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import CredentialsConfiguration
from dlt.common.typing import TSecretStrValue

from ..configspecs import derived_configspec, field_default
from ..errors import ConfigurationError
from ..rate_limit import RateLimit
from .config import SECRET_URLS, ClientSettings, Secret

SHARED_SECTIONS = ("smartdialog",)  # [smartdialog], env SMARTDIALOG__KEY: every command's connection


def _as_config(setting: dataclasses.Field[Any], hint: Any) -> tuple[Any, Any]:
    """The type and default of a ClientSettings field as config holds it."""
    if hint == Optional[Secret] or setting.name in SECRET_URLS:
        return Optional[TSecretStrValue], None
    if hint is RateLimit:
        return str, str(field_default(setting))
    if hint is Path:
        return Optional[str], None  # None: the user's data dir (state.location.user_data_dir)
    return hint, setting.default


SmartDialogCredentials = derived_configspec(
    ClientSettings, "SmartDialogCredentials", _as_config, CredentialsConfiguration, __module__=__name__,
    __doc__="The connection's settings as dlt resolves them: ClientSettings' fields as config holds them.",
    __section__=None,  # looked up as KEY in the sections given, not as credentials.KEY
)


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
