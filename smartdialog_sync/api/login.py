"""OAuth2 sign-in: authorization code with PKCE (S256) and a one-shot loopback redirect listener.

`sign_in` builds the authorize URL (client id, the definition's scopes, `state`, PKCE challenge,
`redirect_uri` on 127.0.0.1), hands it to the caller (to open a browser or print it), waits for the
browser's redirect, checks `state`, exchanges the code at the token endpoint and stores the tokens in the
token store of the state (`token_store.py`: 0600 in the data dir, or the shared PostgreSQL), where every
later command finds them. Nothing here prints a token.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from ..constants import API_BASE_PATH, OAUTH_SCOPES
from ..errors import ConfigurationError, SignInFailed, SignInPortBusy
from ..oauth import is_loopback_host, is_loopback_url, pkce_challenge
from .auth import oauth_error_text
from .config import ClientSettings
from .token_store import StoredTokens, open_token_store, read_stored_tokens, with_access

DEFAULT_REDIRECT_URI = "http://127.0.0.1/"
DEFAULT_TIMEOUT_S = 300.0
IDENTITY_CLAIMS = ("name", "oid", "emails", "email", "preferred_username")


@dataclass(frozen=True)
class Authorization:
    """One sign-in attempt: the URL to open and what the answer must match."""

    url: str
    redirect_uri: str
    state: str = field(repr=False)
    verifier: str = field(repr=False)


@dataclass(frozen=True)
class SignedIn:
    """The outcome of a sign-in: who the token names (claims, when it is a JWT), the stored tokens and where."""

    identity: dict[str, Any]
    stored: StoredTokens
    where: str


def authorization(settings: ClientSettings, redirect_uri: str) -> Authorization:
    """A new authorize URL with a fresh `state` and PKCE verifier."""
    if not settings.client_id:
        raise ConfigurationError("sign-in needs a client id: set [smartdialog] client_id or SMARTDIALOG__CLIENT_ID")
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    query = urlencode({
        "client_id": settings.client_id, "response_type": "code", "redirect_uri": redirect_uri,
        "response_mode": "query", "scope": OAUTH_SCOPES, "state": state,
        "code_challenge": pkce_challenge(verifier), "code_challenge_method": "S256",
    })
    separator = "&" if urlsplit(settings.authorize_url).query else "?"
    return Authorization(settings.authorize_url + separator + query, redirect_uri, state, verifier)


class RedirectListener:
    """A one-shot HTTP listener on a loopback address that takes the authorization answer.

    Only a GET on the redirect path carrying `code` or `error` counts; anything else (a favicon) is a 404.
    """

    def __init__(self, redirect_uri: Optional[str] = None, port: Optional[int] = None) -> None:
        parts = urlsplit(redirect_uri or DEFAULT_REDIRECT_URI)
        host = parts.hostname or ""
        if parts.scheme != "http" or not is_loopback_host(host):
            raise ConfigurationError(f"redirect_uri must be an http:// URI on a loopback address, not {redirect_uri!r}")
        chosen = port if port is not None else (parts.port or 0)
        bind_host = "127.0.0.1" if host == "localhost" else host
        try:
            self._server = _Server((bind_host, chosen), _Handler, listener=self)
        except OSError as exc:
            raise SignInPortBusy(f"cannot listen on {bind_host}:{chosen} for the sign-in redirect "
                                 f"({exc.strerror or exc}): free it or choose another with --port "
                                 f"(one that the app registration allows)") from None
        netloc = f"[{host}]" if ":" in host else host
        self.path = parts.path or "/"
        self.redirect_uri = urlunsplit(("http", f"{netloc}:{self._server.server_port}", self.path, "", ""))
        self.expected_state: Optional[str] = None
        self.answer: Optional[dict[str, str]] = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._server.serve_forever, name="sign-in-listener", daemon=True)

    def __enter__(self) -> "RedirectListener":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> dict[str, str]:
        """The query parameters of the answer; SignInFailed when none came within `timeout` seconds."""
        if not self._done.wait(timeout):
            raise SignInFailed(f"no sign-in answer within {timeout:g} s: run the command again (or raise --timeout)")
        assert self.answer is not None
        return self.answer

    def take(self, path: str, params: dict[str, str]) -> Optional[str]:
        """Record the first answer; the page to show the browser, or None when this request is no answer."""
        if path != self.path or not ({"code", "error"} & params.keys()) or self._done.is_set():
            return None
        self.answer = params
        self._done.set()
        if params.get("state") != self.expected_state:
            return "Sign-in failed: the answer does not belong to this sign-in (state mismatch)."
        if "error" in params:
            return "Sign-in was not completed."
        return "Sign-in received."


class _Server(HTTPServer):
    def __init__(self, address: tuple[str, int], handler: type, listener: RedirectListener) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.listener = listener
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        parts = urlsplit(self.path)
        message = self.server.listener.take(parts.path, dict(parse_qsl(parts.query)))
        body = (f"<!doctype html><html><head><meta charset='utf-8'><title>sdsync</title></head><body>"
                f"<p id='result'>{html.escape(message or 'Not found.')}</p>"
                f"<p>You can close this window and return to the terminal.</p></body></html>").encode()
        self.send_response(200 if message else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # the query holds the code: never log it
        pass


def exchange_code(settings: ClientSettings, auth: Authorization, code: str) -> dict[str, Any]:
    """The token endpoint's answer for an authorization code (with the client secret when configured)."""
    form = {"grant_type": "authorization_code", "client_id": settings.client_id or "", "code": code,
            "redirect_uri": auth.redirect_uri, "code_verifier": auth.verifier, "scope": OAUTH_SCOPES}
    if settings.client_secret:
        form["client_secret"] = settings.client_secret.reveal()
    try:
        response = httpx.post(settings.token_url, data=form, timeout=settings.timeout)
    except httpx.HTTPError as exc:
        raise SignInFailed(f"token endpoint unreachable ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise SignInFailed(f"the token endpoint refused the code (HTTP {response.status_code}): "
                           f"{oauth_error_text(response)}")
    body = response.json()
    if not body.get("refresh_token"):
        raise SignInFailed("the token endpoint returned no refresh token (was offline_access granted?)")
    return body


def identity(tokens: dict[str, Any]) -> dict[str, Any]:
    """Who the id token (or else the access token) names, when it is a JWT: name, oid, emails."""
    for name in ("id_token", "access_token"):
        claims = _jwt_claims(str(tokens.get(name) or ""))
        found = {key: claims[key] for key in IDENTITY_CLAIMS if claims.get(key)}
        if found:
            return found
    return {}


def _jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (for display only); {} when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def sign_in(settings: ClientSettings, show_url: Callable[[str], None], port: Optional[int] = None,
            timeout: float = DEFAULT_TIMEOUT_S) -> SignedIn:
    """Run the whole sign-in: `show_url` gets the authorize URL (open a browser or print it)."""
    with RedirectListener(settings.redirect_uri, port) as listener:
        auth = authorization(settings, listener.redirect_uri)
        listener.expected_state = auth.state
        show_url(auth.url)
        answer = listener.wait(timeout)
    if answer.get("state") != auth.state:
        raise SignInFailed("the sign-in answer's state does not match this sign-in (a forged or stale "
                           "redirect?): nothing was stored")
    if "error" in answer:
        error = answer["error"]
        detail = answer.get("error_description", "")
        if error == "access_denied":
            raise SignInFailed(f"sign-in denied (access_denied){': ' + detail if detail else ''}")
        raise SignInFailed(f"the sign-in was refused: {error}{': ' + detail if detail else ''}")
    asked_at = time.time()
    tokens = exchange_code(settings, auth, answer["code"])
    stored = with_access(StoredTokens(), tokens, asked_at)  # a new sign-in replaces whatever was stored
    store = open_token_store(settings)
    try:
        with store.refreshing(settings.connection_key) as span:
            span.save(stored)
    finally:
        store.close()
    return SignedIn(identity(tokens), stored, store.where)


def sign_out(settings: ClientSettings) -> tuple[bool, str]:
    """Delete the stored tokens of this connection: (whether there were some, where the store is)."""
    store = open_token_store(settings)
    try:
        return store.delete(settings.connection_key), store.where
    finally:
        store.close()


def stored_token(settings: ClientSettings) -> tuple[str, Optional[StoredTokens]]:
    """Where the token store is and the tokens stored there for this connection, if any (read-only)."""
    return read_stored_tokens(settings)


def resolve_with_source(resolve: Callable[[], ClientSettings], key: str = "client_id") -> tuple[ClientSettings, str]:
    """Settings from `resolve()` and where dlt found `key` in them (environment, .dlt/*.toml, ...)."""
    from dlt.common.configuration.utils import get_resolved_traces

    traces = get_resolved_traces()
    traces.clear()
    settings = resolve()
    found = [t for t in traces.resolved_traces if t.key == key and "smartdialog" in t.sections]
    if not found:
        return settings, "command line" if getattr(settings, key) else "not set"
    trace = found[-1]
    if trace.provider_name == "Environment Variables":
        return settings, f"environment variable SMARTDIALOG__{key.upper()}"
    location = trace.provider_location or trace.provider_name
    return settings, f".dlt/{location}" if location.endswith(".toml") and "/" not in location else location


def when(epoch: Optional[float]) -> str:
    """An epoch time as an ISO UTC timestamp, or "unknown"."""
    if not epoch:
        return "unknown"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def base_url_mismatch(settings: ClientSettings) -> Optional[str]:
    """A warning when the token endpoint is local (the emulator) but the base URL is not: the token would be
    stored for, and sent to, a service that never issued it."""
    if is_loopback_url(settings.token_url) and not is_loopback_url(settings.base_url):
        root = settings.token_url.split("/oauth2/", 1)[0]
        return (f"the token URL {settings.token_url} is local but the base URL is {settings.base_url}: for the "
                f"emulator set SMARTDIALOG__BASE_URL={root}{API_BASE_PATH}")
    return None
