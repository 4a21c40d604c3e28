"""Bearer tokens for the SmartDialog API: a static token, or OAuth2 with refresh tokens.

OAuth2 tokens are refreshed shortly before they expire and once after a 401. When the token endpoint
rotates the refresh token, the new one is persisted (file mode 0600 in the data dir, keyed by the
connection) and preferred over the configured one on the next start. `sdsync auth login` stores the
first refresh token there the same way (`login.py`).
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Protocol

import httpx
from filelock import FileLock

from ..constants import OAUTH_SCOPES
from .config import ClientSettings, Secret
from ..errors import ConfigurationError, Unauthorized

REFRESH_MARGIN_S = 60.0


class TokenSource(Protocol):
    """Gives the bearer token to send, and a fresh one after the service refused it."""

    def bearer(self) -> str: ...

    def renew(self) -> bool:
        """Get a new token after a 401; False when there is no way to renew."""
        ...


class StaticToken:
    """A token given in the settings; it cannot be renewed."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def bearer(self) -> str:
        return self._token.reveal()

    def renew(self) -> bool:
        return False


@dataclass(frozen=True)
class StoredToken:
    """A stored refresh token, when it was saved and when it expires (None: the server did not say)."""

    refresh_token: Secret
    saved_at: Optional[float]
    expires_at: Optional[float]


class RefreshTokenStore:
    """Persists rotated refresh tokens, one per connection, in a 0600 JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise refreshes across processes, so a rotated token is never used twice."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(self.path.with_suffix(".lock")):
            yield

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def entry(self, key: str) -> Optional[StoredToken]:
        """The stored token of a connection with its dates (a bare string is a token without dates)."""
        value = self._read().get(key)
        if isinstance(value, str):
            value = {"refresh_token": value}
        if not isinstance(value, dict) or not value.get("refresh_token"):
            return None
        return StoredToken(Secret(value["refresh_token"]), value.get("saved_at"), value.get("expires_at"))

    def load(self, key: str) -> Optional[Secret]:
        stored = self.entry(key)
        return stored.refresh_token if stored else None

    def save(self, key: str, token: Secret, expires_in: Optional[float] = None) -> None:
        """Store a connection's refresh token (with its lifetime in seconds when the server gave one)."""
        data = self._read()
        now = time.time()
        data[key] = {"refresh_token": token.reveal(), "saved_at": now,
                     "expires_at": now + float(expires_in) if expires_in else None}
        self._write(data)

    def delete(self, key: str) -> bool:
        """Forget a connection's token; False when none was stored."""
        data = self._read()
        if data.pop(key, None) is None:
            return False
        self._write(data)
        return True

    def _write(self, data: dict[str, Any]) -> None:
        temp = self.path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)


class OAuthTokens:
    """Access tokens from the OAuth2 token endpoint (refresh_token grant, or client_credentials)."""

    def __init__(self, settings: ClientSettings, http: httpx.Client, store: RefreshTokenStore) -> None:
        if not settings.client_id:
            raise ConfigurationError("OAuth2 needs client_id")
        self._settings = settings
        self._http = http
        self._store = store
        self._key = settings.connection_key
        self._access: Optional[Secret] = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def bearer(self) -> str:
        with self._lock:
            if self._access is None or time.time() >= self._expires_at - REFRESH_MARGIN_S:
                self._fetch()
            assert self._access is not None
            return self._access.reveal()

    def renew(self) -> bool:
        with self._lock:
            self._fetch()
        return True

    def _fetch(self) -> None:
        settings = self._settings
        form = {"client_id": settings.client_id or "", "scope": OAUTH_SCOPES}
        if settings.client_secret:
            form["client_secret"] = settings.client_secret.reveal()
        with self._store.locked():
            refresh = self._store.load(self._key) or settings.refresh_token
            if refresh:
                form.update(grant_type="refresh_token", refresh_token=refresh.reveal())
            elif settings.client_secret:
                form["grant_type"] = "client_credentials"
            else:
                raise ConfigurationError("client_id is set but there is no refresh token and no client_secret: "
                                         "run `sdsync auth login`")
            try:
                response = self._http.post(settings.token_url, data=form, timeout=settings.timeout)
            except httpx.HTTPError as exc:
                raise Unauthorized("token", f"token endpoint unreachable ({type(exc).__name__})") from None
            if response.status_code != 200:
                raise Unauthorized("token", "token endpoint refused", response.status_code, oauth_error_text(response))
            body = response.json()
            if body.get("refresh_token"):
                self._store.save(self._key, Secret(body["refresh_token"]), body.get("refresh_token_expires_in"))
        self._access = Secret(body["access_token"])
        self._expires_at = time.time() + float(body.get("expires_in", 3600))


def oauth_error_text(response: httpx.Response) -> str:
    """The OAuth error code and description, never the request's secrets."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    return " ".join(str(body.get(key, "")) for key in ("error", "error_description")).strip()


def token_source(settings: ClientSettings, http: httpx.Client) -> TokenSource:
    """The token source the settings call for."""
    if settings.access_token is not None:
        return StaticToken(settings.access_token)
    return OAuthTokens(settings, http, token_store(settings))


def token_store(settings: ClientSettings) -> RefreshTokenStore:
    """The refresh-token store of the settings' data dir."""
    return RefreshTokenStore(settings.data_dir / "oauth_tokens.json")
