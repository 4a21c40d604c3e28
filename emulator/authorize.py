"""The OAuth2 authorize endpoint (`/oauth2/v2.0/authorize`): a minimal consent page, as Azure AD B2C's.

GET shows the page (client name, signed-in user, requested scopes, approve / deny); POST takes the
decision and redirects to the client's `redirect_uri` with `code` and `state`, or with
`error=access_denied`. A code is bound to the client, the redirect URI and the PKCE challenge, and is
redeemed once at the token endpoint (`auth.py`). An unknown client or a redirect URI the client may not
use gets an error page, never a redirect.
"""

from __future__ import annotations

import html
import secrets
import time
from typing import TYPE_CHECKING, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from smartdialog_sync.emulator.auth import read_form
from smartdialog_sync.oauth import is_loopback_url
from smartdialog_sync.emulator.seed import OAuthClient

if TYPE_CHECKING:
    from smartdialog_sync.emulator.runtime import Runtime

CODE_LIFETIME_S = 600
PARAMS = ("client_id", "response_type", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")
NO_STORE = {"Cache-Control": "no-store"}


class _Refused(Exception):
    """The request is refused: with a redirect carrying `error`, or (`redirect` False) with an error page."""

    def __init__(self, error: str, description: str, redirect: bool = True) -> None:
        super().__init__(description)
        self.error, self.description, self.redirect = error, description, redirect


def _redirect_allowed(client: OAuthClient, uri: str) -> bool:
    """Registered URIs match exactly; a client without any may use loopback http URIs on any port."""
    return uri in client.redirect_uris if client.redirect_uris else is_loopback_url(uri, scheme="http")


def _check(runtime: "Runtime", params: Mapping[str, str]) -> OAuthClient:
    client = runtime.seed.clients.get(params.get("client_id", ""))
    if client is None:
        raise _Refused("unauthorized_client", "unknown client_id", redirect=False)
    if not _redirect_allowed(client, params.get("redirect_uri", "")):
        raise _Refused("invalid_request", "the redirect_uri is not registered for this client", redirect=False)
    if params.get("response_type") != "code":
        raise _Refused("unsupported_response_type", "response_type must be code")
    if not params.get("scope"):
        raise _Refused("invalid_request", "scope is missing")
    method = params.get("code_challenge_method") or "plain"
    if params.get("code_challenge") and method not in ("S256", "plain"):
        raise _Refused("invalid_request", "code_challenge_method must be S256 or plain")
    if client.client_secret is None and not params.get("code_challenge"):
        raise _Refused("invalid_request", "a public client must send a PKCE code_challenge")
    return client


def _redirect(uri: str, values: dict[str, str]) -> RedirectResponse:
    parts = urlsplit(uri)
    query = urlencode(parse_qsl(parts.query) + [(k, v) for k, v in values.items() if v])
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=302, headers=NO_STORE)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{body}</body></html>", status_code=status, headers=NO_STORE)


def _consent_page(runtime: "Runtime", client: OAuthClient, params: Mapping[str, str]) -> HTMLResponse:
    esc = html.escape
    user = runtime.seed.users[0]
    scopes = "".join(f"<li>{esc(scope)}</li>" for scope in params.get("scope", "").split())
    hidden = "".join(f"<input type='hidden' name='{name}' value='{esc(params.get(name, ''), quote=True)}'>"
                     for name in PARAMS)
    return _page("Sign in to SmartDialog (emulator)", (
        f"<p>Signed in as <b id='user'>{esc(user.name)}</b>.</p>"
        f"<p><b id='client'>{esc(client.name)}</b> asks for access to your SmartDialog account:</p>"
        f"<ul id='scopes'>{scopes}</ul>"
        f"<form method='post'>{hidden}"
        "<button type='submit' id='approve' name='decision' value='approve'>Approve</button> "
        "<button type='submit' id='deny' name='decision' value='deny'>Deny</button></form>"))


def _issue_code(runtime: "Runtime", client: OAuthClient, params: Mapping[str, str]) -> str:
    now = time.time()
    codes = runtime.state.auth_codes
    for stale in [code for code, grant in codes.items() if grant["expires_at"] <= now]:
        del codes[stale]
    code = "emu-code-" + secrets.token_urlsafe(24)
    codes[code] = {
        "client_id": client.client_id, "redirect_uri": params["redirect_uri"], "scope": params["scope"],
        "code_challenge": params.get("code_challenge", ""),
        "code_challenge_method": params.get("code_challenge_method") or "plain",
        "oid": runtime.seed.users[0].oid, "expires_at": now + CODE_LIFETIME_S, "redeemed": False,
    }
    runtime.commit()
    return code


async def authorize_endpoint(request: Request) -> Response:
    """GET: the consent page. POST (form with `decision`=approve|deny): redirect to the redirect_uri."""
    runtime: Runtime = request.app.state.runtime
    if request.method == "GET":
        params = dict(request.query_params)
    else:
        params = await read_form(request)
    try:
        client = _check(runtime, params)
        if request.method == "GET":
            return _consent_page(runtime, client, params)
        if params.get("decision") != "approve":
            raise _Refused("access_denied", "the user denied the consent")
    except _Refused as refused:
        if not refused.redirect:
            return _page("Sign-in error", f"<p id='error'>{html.escape(refused.error)}: "
                                          f"{html.escape(refused.description)}</p>", status=400)
        return _redirect(params["redirect_uri"], {"error": refused.error, "error_description": refused.description,
                                                  "state": params.get("state", "")})
    code = _issue_code(runtime, client, params)
    return _redirect(params["redirect_uri"], {"code": code, "state": params.get("state", "")})
