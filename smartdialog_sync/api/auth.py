"""Bearer tokens for the SmartDialog API: a static token, or OAuth2 with refresh tokens.

OAuth2 tokens live in the token store of the state (`token_store.py`: the data dir's file, or the shared
PostgreSQL), per connection: the rotating refresh token and the current access token with its expiry. A
command finding a valid stored access token uses it without a token call. A token is refreshed once less
than a share of its lifetime is left (`refresh_margin`), and once after a 401, under the store's lock:
whoever takes the lock first calls the token endpoint and stores the rotated tokens; the others find them
there after the lock and call nobody, so a rotated refresh token is never used twice on any machine.
`sdsync auth login` stores the first refresh token in the same store (`login.py`).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Optional, Protocol

import httpx

from ..constants import OAUTH_SCOPES
from ..errors import ConfigurationError, Unauthorized
from .config import ClientSettings, Secret
from .token_store import StoredTokens, TokenStore, open_token_store, with_access

REFRESH_SHARE = 0.15  # refresh once less than this share of an access token's lifetime is left ...
MIN_MARGIN_S = 1.0  # ... but at least this long before it expires ...
MAX_MARGIN_S = 300.0  # ... and never earlier than this before (an hour's token serves 55 minutes)


class TokenSource(Protocol):
    """Gives the bearer token to send, and a fresh one after the service refused it."""

    def bearer(self) -> str: ...

    def renew(self, refused: str) -> bool:
        """Get a new token after the service refused `refused` (401); False when there is no way to renew."""
        ...

    def close(self) -> None: ...


class StaticToken:
    """A token given in the settings; it cannot be renewed."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def bearer(self) -> str:
        return self._token.reveal()

    def renew(self, refused: str) -> bool:
        return False

    def close(self) -> None:
        pass


def refresh_margin(lifetime_s: float) -> float:
    """Seconds before expiry at which a token of this lifetime is refreshed (a share, bounded; at most half)."""
    return min(max(lifetime_s * REFRESH_SHARE, MIN_MARGIN_S), MAX_MARGIN_S, lifetime_s / 2)


def access_usable(tokens: Optional[StoredTokens], now: float, refused: Optional[str] = None) -> bool:
    """True when `tokens` hold an access token that is not `refused` and not yet due for refreshing."""
    if tokens is None or tokens.access_token is None or None in (tokens.access_issued_at, tokens.access_expires_at):
        return False
    if refused is not None and tokens.access_token.reveal() == refused:
        return False
    assert tokens.access_issued_at is not None and tokens.access_expires_at is not None
    lifetime = max(tokens.access_expires_at - tokens.access_issued_at, 0.0)
    return now < tokens.access_expires_at - refresh_margin(lifetime)


class OAuthTokens:
    """Access tokens from the OAuth2 token endpoint (refresh_token grant, or client_credentials)."""

    def __init__(self, settings: ClientSettings, http: httpx.Client, store: TokenStore) -> None:
        if not settings.client_id:
            raise ConfigurationError("OAuth2 needs client_id")
        self._settings = settings
        self._http = http
        self._store = store
        self._key = settings.connection_key
        self._current: Optional[StoredTokens] = None
        self._lock = threading.Lock()

    def bearer(self) -> str:
        with self._lock:
            if not access_usable(self._current, time.time()):
                self._obtain(refused=None)
            assert self._current is not None and self._current.access_token is not None
            return self._current.access_token.reveal()

    def renew(self, refused: str) -> bool:
        with self._lock:
            self._obtain(refused)
        return True

    def close(self) -> None:
        self._store.close()

    def _obtain(self, refused: Optional[str]) -> None:
        """A usable access token: the stored one when another process got it, else a refresh (under the lock)."""
        stored = self._store.entry(self._key)
        if access_usable(stored, time.time(), refused):
            self._current = stored
            return
        with self._store.refreshing(self._key) as span:
            if access_usable(span.current, time.time(), refused):  # refreshed by another process meanwhile
                self._current = span.current
                return
            asked_at = time.time()
            tokens = with_access(span.current, self._token_call(span.current), asked_at)
            span.save(tokens)
        self._current = tokens

    def _token_call(self, stored: StoredTokens) -> dict[str, Any]:
        settings = self._settings
        form = {"client_id": settings.client_id or "", "scope": OAUTH_SCOPES}
        if settings.client_secret:
            form["client_secret"] = settings.client_secret.reveal()
        refresh = stored.refresh_token or settings.refresh_token
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
        if not isinstance(body, dict) or not body.get("access_token"):
            raise Unauthorized("token", "the token endpoint answered without an access token")
        return body


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
    return OAuthTokens(settings, http, open_token_store(settings))
