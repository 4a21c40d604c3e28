"""`sdsync auth login|status|logout`: sign in with OAuth2 (authorization code + PKCE), see or drop the token."""

from __future__ import annotations

from typing import Any, Optional

import typer

from ..runtime import console, settings_from, stdout

app = typer.Typer(help="Sign in to SmartDialog (OAuth2 in your browser) and manage the stored token.",
                  no_args_is_help=True)


@app.command(short_help="Sign in in the browser and store the refresh token.")
def login(
    ctx: typer.Context,
    port: Optional[int] = typer.Option(
        None, min=0, max=65535,
        help="Loopback port for the browser's redirect; default: the redirect_uri's port, else any free port."),
    timeout: float = typer.Option(300.0, min=1, help="Seconds to wait for the browser's answer."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the sign-in URL instead of opening a browser."),
) -> None:
    """Sign in in the browser and store the tokens in the state for every later command.

    The token store is the data dir's oauth_tokens.json (0600), or the shared PostgreSQL of state_url.

    Needs [smartdialog] client_id (and client_secret for a confidential app); the redirect goes to
    http://127.0.0.1:PORT/ unless [smartdialog] redirect_uri names a fixed loopback URI.
    """
    from smartdialog_sync.api.login import base_url_mismatch, sign_in, when

    def show_url(url: str) -> None:
        if not no_browser:
            import webbrowser

            if webbrowser.open(url):
                console.print("Opened your browser to sign in. If it did not, open this URL:", highlight=False)
            else:
                console.print("Could not open a browser; open this URL to sign in:", highlight=False)
        else:
            console.print("Open this URL in a browser to sign in:", highlight=False)
        console.print(url, markup=False, highlight=False, soft_wrap=True)

    settings = settings_from(ctx)
    _warn_mismatch(base_url_mismatch(settings))
    result = sign_in(settings, show_url, port=port, timeout=timeout)
    stdout.print(f"Signed in{_who(result.identity)}.", markup=False, highlight=False, soft_wrap=True)
    stdout.print(f"Refresh token stored in {result.where} for {settings.base_url}; it expires {when(result.stored.expires_at)}. "
                 "Commands use it with this base URL and client id.", markup=False, highlight=False, soft_wrap=True)


def _warn_mismatch(warning: Optional[str]) -> None:
    if warning:
        console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)


def _who(claims: dict[str, Any]) -> str:
    """" as NAME (oid ..., email)" from the token's claims, or "" when the token names nobody."""
    emails = claims.get("emails") or [claims.get("email") or claims.get("preferred_username")]
    details = [f"oid {claims['oid']}"] if claims.get("oid") else []
    details += [str(e) for e in emails if e]
    name = claims.get("name") or (details.pop(0) if details else "")
    if not name:
        return ""
    return f" as {name}" + (f" ({', '.join(details)})" if details else "")


@app.command(short_help="Whether a token is stored for this base URL and client id.")
def status(ctx: typer.Context) -> None:
    """Whether a refresh token is stored for this connection, its expiry, and where the client id comes from."""
    from smartdialog_sync.api.login import (
        base_url_mismatch,
        resolve_with_source,
        stored_token,
        when,
    )

    settings, source = resolve_with_source(lambda: settings_from(ctx))
    lines = [f"client id: {settings.client_id or '(none)'} ({source})",
             f"base URL: {settings.base_url}",
             f"token endpoint: {settings.token_url}"]
    where, stored = stored_token(settings) if settings.client_id else ("", None)
    if where:
        lines.append(f"token store: {where}")
    if stored and stored.refresh_token:
        lines.append(f"signed in: yes, refresh token stored for this base URL {when(stored.saved_at)}, "
                     f"expires {when(stored.expires_at)}")
    else:
        lines.append("signed in: no token stored for this base URL and client id (run `sdsync auth login` "
                     "with the same settings)")
    if stored and stored.access_token and stored.access_expires_at:
        import time

        state = "valid" if stored.access_expires_at > time.time() else "expired"
        lines.append(f"access token: {state}, expires {when(stored.access_expires_at)}")
    _warn_mismatch(base_url_mismatch(settings))
    if settings.client_id and settings.access_token is not None:
        lines.append("note: a static access token is configured; it is used instead of OAuth")
    for line in lines:
        stdout.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command()
def logout(ctx: typer.Context) -> None:
    """Delete this connection's stored tokens.

    From the token store: the data dir's file, or the shared state's database.
    """
    from smartdialog_sync.api.login import sign_out

    settings = settings_from(ctx)
    if not settings.client_id:
        stdout.print("No client id configured: nothing to sign out of.", markup=False)
        return
    removed, where = sign_out(settings)
    stdout.print(f"Signed out: the stored token was deleted from {where}." if removed
                 else f"No stored token in {where}: already signed out.", markup=False, highlight=False, soft_wrap=True)
