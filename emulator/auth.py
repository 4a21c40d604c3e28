"""Bearer-token authentication and the OAuth2 token endpoint (`POST /oauth2/v2.0/token`).

Grants: `authorization_code` (with PKCE, codes from the authorize endpoint in `authorize.py`),
`refresh_token` (rotating) and `client_credentials`. Access tokens are JWT-shaped like Azure AD B2C's
(the emulator checks them by lookup, not by signature); errors are B2C's `{"error", "error_description"}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse

from smartdialog_sync.emulator.errors import ApiError
from smartdialog_sync.emulator.seed import OAuthClient, User
from smartdialog_sync.oauth import pkce_challenge

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime

WWW_AUTHENTICATE = 'Bearer realm="SmartDialog emulator"'
REFRESH_TOKEN_EXPIRES_IN = 14 * 24 * 3600  # B2C's default refresh-token lifetime (reported, not enforced)
_SIGNING_KEY = secrets.token_bytes(32)


class OAuthError(Exception):
    """An OAuth error answer: status, `error` code and description."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "error_description": self.description},
                            status_code=self.status, headers={"Cache-Control": "no-store"})


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


async def read_form(request: Request) -> dict[str, str]:
    """A form-encoded body as a dict (last value wins)."""
    return {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(_SIGNING_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def user_claims(user: User) -> dict[str, Any]:
    """The identity claims B2C puts in tokens for a signed-in user."""
    return {"sub": user.oid, "oid": user.oid, "name": user.name, "emails": list(user.emails)}


def _issue(runtime: "Runtime", request: Request, client_id: str, scope: str, user: Optional[User]) -> JSONResponse:
    now = time.time()
    state = runtime.state
    state.access_tokens = {t: exp for t, exp in state.access_tokens.items() if exp > now}
    expires_in = runtime.settings.token_expires_in
    claims: dict[str, Any] = {"iss": str(request.base_url) + "v2.0/", "aud": client_id, "iat": int(now),
                              "nbf": int(now), "exp": int(now + expires_in), "scp": scope,
                              **(user_claims(user) if user else {"sub": client_id}), "jti": secrets.token_hex(8)}
    access_token = _jwt(claims)
    refresh_token = "emu-rt-" + secrets.token_urlsafe(24)
    state.access_tokens[access_token] = now + expires_in
    state.refresh_tokens.append(refresh_token)
    state.refresh_grants[refresh_token] = {"client_id": client_id, "oid": user.oid if user else None, "scope": scope}
    body: dict[str, Any] = {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in,
                            "refresh_token": refresh_token, "refresh_token_expires_in": REFRESH_TOKEN_EXPIRES_IN,
                            "scope": scope}
    if user and "openid" in scope.split():
        body["id_token"] = _jwt({key: value for key, value in claims.items() if key not in ("scp", "jti")})
    runtime.commit()
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _client(runtime: "Runtime", form: dict[str, str], grant_type: str) -> OAuthClient:
    """The calling client: a confidential one proves its secret, a public one sends none (as Azure AD)."""
    client = runtime.seed.clients.get(form.get("client_id", ""))
    secret = form.get("client_secret", "")
    if client is None:
        raise OAuthError(401, "invalid_client", "unknown client_id")
    if client.client_secret is None:
        if secret:
            raise OAuthError(401, "invalid_client", "the client is public: it must not send a client_secret")
        if grant_type == "client_credentials":
            raise OAuthError(400, "unauthorized_client", "a public client cannot use client_credentials")
    elif not secrets.compare_digest(client.client_secret, secret):
        raise OAuthError(401, "invalid_client", "unknown client_id or wrong client_secret")
    return client


def _redeem_code(runtime: "Runtime", form: dict[str, str], client: OAuthClient) -> dict[str, Any]:
    """The authorization request a code was issued for, checked like B2C does; the code is used up."""
    grant = runtime.state.auth_codes.get(form.get("code", ""))
    if grant is None or grant["expires_at"] <= time.time():
        raise OAuthError(400, "invalid_grant", "the authorization code is unknown or expired")
    if grant["redeemed"]:
        raise OAuthError(400, "invalid_grant", "the authorization code has already been redeemed")
    if grant["client_id"] != client.client_id:
        raise OAuthError(400, "invalid_grant", "the authorization code was issued to another client")
    if form.get("redirect_uri", "") != grant["redirect_uri"]:
        raise OAuthError(400, "invalid_grant", "redirect_uri does not match the one of the authorization request")
    if grant["code_challenge"]:
        verifier = form.get("code_verifier", "")
        if not verifier:
            raise OAuthError(400, "invalid_request", "code_verifier is missing")
        computed = pkce_challenge(verifier) if grant["code_challenge_method"] == "S256" else verifier
        if not secrets.compare_digest(computed, grant["code_challenge"]):
            raise OAuthError(400, "invalid_grant", "the code_verifier does not match the code_challenge")
    grant["redeemed"] = True
    return grant


def _user(runtime: "Runtime", oid: Optional[str]) -> Optional[User]:
    return next((user for user in runtime.seed.users if user.oid == oid), None)


async def token_endpoint(request: Request) -> JSONResponse:
    """OAuth2 token endpoint (form-encoded body): authorization_code, refresh_token or client_credentials."""
    runtime: Runtime = request.app.state.runtime
    form = await read_form(request)
    grant_type = form.get("grant_type", "")
    try:
        if grant_type not in ("authorization_code", "refresh_token", "client_credentials"):
            raise OAuthError(400, "unsupported_grant_type",
                             "grant_type must be authorization_code, refresh_token or client_credentials")
        client = _client(runtime, form, grant_type)
        scope, user = form.get("scope", ""), None
        if grant_type == "authorization_code":
            grant = _redeem_code(runtime, form, client)
            scope, user = grant["scope"], _user(runtime, grant["oid"])
        elif grant_type == "refresh_token":
            refresh_token = form.get("refresh_token", "")
            if refresh_token not in runtime.state.refresh_tokens:
                raise OAuthError(400, "invalid_grant", "refresh_token is unknown or was already used")
            bound = runtime.state.refresh_grants.get(refresh_token)
            if bound and bound["client_id"] != client.client_id:
                raise OAuthError(400, "invalid_grant", "the refresh token was issued to another client")
            runtime.state.refresh_tokens.remove(refresh_token)
            runtime.state.refresh_grants.pop(refresh_token, None)
            if bound:
                scope, user = bound["scope"], _user(runtime, bound["oid"])
    except OAuthError as exc:
        return exc.response()
    return _issue(runtime, request, client.client_id, scope, user)
