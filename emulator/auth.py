"""Bearer-token authentication and the OAuth2 token endpoint (`POST /oauth2/v2.0/token`)."""

from __future__ import annotations

import secrets
import time
from urllib.parse import parse_qs
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse

from smartdialog_sync.emulator.errors import ApiError

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime

WWW_AUTHENTICATE = 'Bearer realm="SmartDialog emulator"'


def authenticate(request: Request, runtime: "Runtime") -> str:
    """The request's bearer token if it is valid (static or issued and unexpired), else a 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "missing bearer token", "Authorization", headers={"WWW-Authenticate": WWW_AUTHENTICATE})
    if token in runtime.seed.static_tokens:
        return token
    expires = runtime.state.access_tokens.get(token)
    if expires is None or expires <= time.time():
        raise ApiError(401, "invalid or expired bearer token", "Authorization",
                       headers={"WWW-Authenticate": WWW_AUTHENTICATE + ', error="invalid_token"'})
    return token


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status,
                        headers={"Cache-Control": "no-store"})


def _issue(runtime: "Runtime") -> JSONResponse:
    now = time.time()
    state = runtime.state
    state.access_tokens = {t: exp for t, exp in state.access_tokens.items() if exp > now}
    access_token = "emu-at-" + secrets.token_urlsafe(24)
    refresh_token = "emu-rt-" + secrets.token_urlsafe(24)
    expires_in = runtime.settings.token_expires_in
    state.access_tokens[access_token] = now + expires_in
    state.refresh_tokens.append(refresh_token)
    runtime.commit()
    return JSONResponse(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in,
         "refresh_token": refresh_token},
        headers={"Cache-Control": "no-store"},
    )


async def token_endpoint(request: Request) -> JSONResponse:
    """OAuth2 token endpoint (form-encoded body): grant_type refresh_token (rotating) or client_credentials."""
    runtime: Runtime = request.app.state.runtime
    form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    grant_type = str(form.get("grant_type", ""))
    client_id = str(form.get("client_id", ""))
    client_secret = str(form.get("client_secret", ""))
    if grant_type not in ("refresh_token", "client_credentials"):
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be refresh_token or client_credentials")
    expected = runtime.seed.clients.get(client_id)
    if expected is None or not secrets.compare_digest(expected, client_secret):
        return _oauth_error(401, "invalid_client", "unknown client_id or wrong client_secret")
    if grant_type == "refresh_token":
        refresh_token = str(form.get("refresh_token", ""))
        if refresh_token not in runtime.state.refresh_tokens:
            return _oauth_error(400, "invalid_grant", "refresh_token is unknown or was already used")
        runtime.state.refresh_tokens.remove(refresh_token)
    return _issue(runtime)
