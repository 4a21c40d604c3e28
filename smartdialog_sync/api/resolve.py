"""Connection settings resolved through dlt's config providers: [smartdialog] (env `SMARTDIALOG__KEY`, `.dlt/`).

dlt is imported only when a function here runs, so `smartdialog_sync.api` imports without it.
"""

from __future__ import annotations

from typing import Any

from .config import ClientSettings, check_credentials, settings_from_config


def read_settings(**overrides: Any) -> ClientSettings:
    """Resolve [smartdialog] through dlt's config providers, then apply non-None `overrides`.

    Credentials are not checked: use this where no API call is made (the data dir, the journal).
    """
    from .config_spec import SHARED_SECTIONS, resolve_credentials

    return settings_from_config(resolve_credentials(SHARED_SECTIONS), **overrides)


def resolve_settings(**overrides: Any) -> ClientSettings:
    """Resolve [smartdialog] through dlt's config providers, then apply non-None `overrides`, and check
    the credentials (see `check_credentials`)."""
    return check_credentials(read_settings(**overrides))
