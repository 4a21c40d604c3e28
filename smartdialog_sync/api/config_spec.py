"""The [smartdialog] section as dlt's config resolves it (the one place the API settings touch dlt)."""

from __future__ import annotations

from typing import Any, Optional

from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.configuration.specs import BaseConfiguration
from dlt.common.typing import TSecretStrValue

from .. import constants as settings
from ..errors import ConfigurationError


@configspec
class SmartDialogConfiguration(BaseConfiguration):
    """The [smartdialog] section as dlt resolves it."""

    base_url: str = settings.EMULATOR_BASE_URL
    access_token: Optional[TSecretStrValue] = None
    client_id: Optional[str] = None
    client_secret: Optional[TSecretStrValue] = None
    refresh_token: Optional[TSecretStrValue] = None
    token_url: str = settings.TOKEN_URL
    authorize_url: str = settings.AUTHORIZE_URL
    redirect_uri: Optional[str] = None
    rate_limit: str = settings.DEFAULT_RATE_LIMIT
    data_dir: Optional[str] = None  # None: the user's data dir (state.location.user_data_dir)
    timeout: float = settings.DEFAULT_TIMEOUT_S
    limiter_url: Optional[TSecretStrValue] = None
    state_url: Optional[TSecretStrValue] = None


def resolve_section() -> dict[str, Any]:
    """Every [smartdialog] key from dlt's providers (environment, .dlt/ files), defaults filled in."""
    try:
        config = resolve_configuration(SmartDialogConfiguration(), sections=("smartdialog",))
    except ConfigurationException as exc:
        raise ConfigurationError(f"cannot read the [smartdialog] settings: {exc}") from None
    return {name: getattr(config, name) for name in SmartDialogConfiguration.__annotations__}
