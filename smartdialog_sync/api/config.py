"""Settings of a SmartDialog connection, resolved through dlt's config from the [smartdialog] section.

`ClientSettings` is the one list of the connection's settings: their names, types and defaults. It is the
frozen runtime object the client uses (secrets wrapped in `Secret`, the rate limit parsed, the data dir a
`Path`). dlt's credentials spec `config_spec.SmartDialogCredentials` is derived from its fields (each as
config holds it: secrets and the URLs in `SECRET_URLS` as secret text, the rate limit as its text), so this
module and the client import without dlt; dlt is imported only when settings are resolved (`resolve.py`).

Environment variables use dlt's `SMARTDIALOG__KEY` form; `.dlt/config.toml` and `.dlt/secrets.toml`
are read from the working directory; explicit overrides (CLI flags) win over both.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

from .. import constants
from ..errors import ConfigurationError
from ..oauth import is_loopback_url
from ..rate_limit import RateLimit
from ..state.location import StateLocation, user_data_dir

SECRET_URLS = ("limiter_url", "state_url")  # URLs that may carry a password: secrets in config, hidden in reprs


class Secret:
    """A secret string that never shows itself in a repr, a str() or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def fingerprint(self) -> str:
        """A short one-way digest, to tell secrets apart without showing them."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class ClientSettings:
    """Everything a SmartDialogClient needs. Secrets are wrapped so that no repr shows them.

    Its fields are the connection's settings, as `[smartdialog] KEY` names them (see the module docstring)."""

    base_url: str = constants.EMULATOR_BASE_URL
    access_token: Optional[Secret] = None
    client_id: Optional[str] = None
    client_secret: Optional[Secret] = None
    refresh_token: Optional[Secret] = None
    token_url: str = constants.TOKEN_URL
    authorize_url: str = constants.AUTHORIZE_URL
    redirect_uri: Optional[str] = None
    rate_limit: RateLimit = field(default_factory=lambda: RateLimit.parse(constants.DEFAULT_RATE_LIMIT))
    data_dir: Path = field(default_factory=user_data_dir)
    timeout: float = constants.DEFAULT_TIMEOUT_S
    limiter_url: Optional[str] = field(default=None, repr=False)
    state_url: Optional[str] = field(default=None, repr=False)

    @property
    def state(self) -> StateLocation:
        """Where this connection's stores live: the data dir, or the shared PostgreSQL of `state_url`."""
        return StateLocation(self.data_dir, self.state_url)

    @property
    def uses_oauth(self) -> bool:
        """True when tokens come from the OAuth2 token endpoint rather than a static token."""
        return self.access_token is None and self.client_id is not None

    @property
    def connection_key(self) -> str:
        """Identifies the connection (service + credentials) that one rate-limit window belongs to."""
        identity = self.client_id or (self.access_token.fingerprint() if self.access_token else "anonymous")
        return hashlib.sha256(f"{self.base_url.rstrip('/')}|{identity}".encode()).hexdigest()[:16]

    def with_overrides(self, **overrides: Any) -> "ClientSettings":
        """A copy with the given (non-None) values replaced; strings for secrets are wrapped."""
        values = {key: value for key, value in overrides.items() if value is not None}
        return replace(self, **_coerce(values))


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    for key in ("access_token", "client_secret", "refresh_token"):
        if isinstance(values.get(key), str):
            values[key] = Secret(values[key]) if values[key] else None
    if isinstance(values.get("rate_limit"), str):
        values["rate_limit"] = RateLimit.parse(values["rate_limit"])
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"]) if values["data_dir"] else user_data_dir()
    for key in ("limiter_url", "state_url"):
        if key in values:
            values[key] = str(values[key]) if values[key] else None
    if values.get("state_url"):
        StateLocation(Path(), values["state_url"])  # refuses anything but a postgresql:// URL
    if "base_url" in values:
        values["base_url"] = _checked_base_url(str(values["base_url"]))
    if values.get("timeout") is not None:
        values["timeout"] = _checked_timeout(values["timeout"])
    return values


def _checked_base_url(url: str) -> str:
    """The base URL without a trailing slash; ConfigurationError unless it is an http(s) URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an http:// or https:// URL with a host, not {url!r}")
    return url.strip().rstrip("/")


def _checked_timeout(value: Any) -> float:
    """Seconds per HTTP request: a finite number above 0, else ConfigurationError."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"timeout must be a number of seconds, not {value!r}") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigurationError(f"timeout must be a finite number of seconds above 0, not {value!r}")
    return seconds


def settings_from_config(values: Mapping[str, Any], **overrides: Any) -> ClientSettings:
    """ClientSettings from config `values` (every field as config holds it, see `SmartDialogCredentials`) with the
    non-None `overrides` on top; ConfigurationError for a value that is not usable."""
    chosen = {**values, **{key: value for key, value in overrides.items() if value is not None}}
    return ClientSettings(**_coerce(chosen))


def check_credentials(resolved: ClientSettings) -> ClientSettings:
    """`resolved` when its credentials are usable; without any, a loopback base URL (the local
    emulator) gets the emulator's sandbox token."""
    if not resolved.access_token and not resolved.client_id:
        if not is_loopback_url(resolved.base_url):
            raise ConfigurationError(
                "no credentials: set SMARTDIALOG__CLIENT_ID and run `sdsync auth login`, or set "
                "SMARTDIALOG__ACCESS_TOKEN, or SMARTDIALOG__CLIENT_ID with SMARTDIALOG__REFRESH_TOKEN "
                "(and SMARTDIALOG__CLIENT_SECRET)"
            )
        resolved = replace(resolved, access_token=Secret(constants.EMULATOR_SANDBOX_TOKEN))
    return resolved
