"""Static tokens and the OAuth2 refresh-token flow; secrets never leak into logs, errors or reprs."""

from __future__ import annotations

import dataclasses
import json
import logging
import stat
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from smartdialog_sync.api import Secret, errors, resolve_settings
from smartdialog_sync.api.auth import refresh_margin
from smartdialog_sync.api.token_store import StoredTokens, open_token_store
from tests.api.conftest import TOKEN, make_client
from tests.api.wire_server import Reply, WireServer

CLIENT_SECRET = "client-secret-4f9a1c"
REFRESH = "refresh-token-initial-77e1"


def oauth_client(wire: WireServer, data_dir: Path):
    return make_client(
        wire, data_dir, access_token="", client_id="app-1", client_secret=CLIENT_SECRET,
        refresh_token=REFRESH, token_url=wire.root_url + "/token",
    )


def form(request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.raw_body.decode()).items()}


def test_refresh_flow_rotates_and_persists(wire: WireServer, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wire.reply(
        Reply(200, {"access_token": "access-1", "expires_in": 3600, "refresh_token": "refresh-2"}),
        Reply(200, ["UTILITY"]),
        Reply(401, {"error": "token expired"}),
        Reply(200, {"access_token": "access-2", "expires_in": 3600, "refresh_token": "refresh-3"}),
        Reply(200, ["UTILITY"]),
    )
    with oauth_client(wire, tmp_path) as api:
        assert api.get_whatsapp_template_categories() == ["UTILITY"]
        assert api.get_whatsapp_template_categories() == ["UTILITY"]
        text = repr(api) + repr(api.settings)
    token1, call1, refused, token2, call2 = wire.requests
    assert token1.path == "/token" and form(token1)["grant_type"] == "refresh_token"
    assert form(token1)["refresh_token"] == REFRESH and form(token1)["client_secret"] == CLIENT_SECRET
    assert "offline_access" in form(token1)["scope"]
    assert call1.headers["Authorization"] == "Bearer access-1"
    assert refused.headers["Authorization"] == "Bearer access-1"
    assert form(token2)["refresh_token"] == "refresh-2"
    assert call2.headers["Authorization"] == "Bearer access-2"
    store = tmp_path / "oauth_tokens.json"
    assert [entry["refresh_token"] for entry in json.loads(store.read_text()).values()] == ["refresh-3"]
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    for secret in (CLIENT_SECRET, REFRESH, "refresh-2", "refresh-3", "access-1", "access-2"):
        assert secret not in caplog.text and secret not in text


def test_persisted_refresh_token_wins_after_restart(wire: WireServer, tmp_path: Path) -> None:
    wire.reply(
        Reply(200, {"access_token": "a1", "expires_in": 0, "refresh_token": "rotated-1"}),  # due at once
        Reply(200, []),
        Reply(200, {"access_token": "a2", "expires_in": 3600, "refresh_token": "rotated-2"}),
        Reply(200, []),
    )
    with oauth_client(wire, tmp_path) as api:
        api.get_phone_number_regions()
    with oauth_client(wire, tmp_path) as api:
        api.get_phone_number_regions()
    assert form(wire.requests[2])["refresh_token"] == "rotated-1"
    assert wire.requests[3].headers["Authorization"] == "Bearer a2"


def test_a_stored_access_token_serves_the_next_command_without_a_token_call(wire: WireServer, tmp_path: Path) -> None:
    wire.reply(
        Reply(200, {"access_token": "a1", "expires_in": 3600, "refresh_token": "rotated-1"}),
        Reply(200, []),
        Reply(200, []),
    )
    with oauth_client(wire, tmp_path) as api:
        api.get_phone_number_regions()
    with oauth_client(wire, tmp_path) as api:  # a new process would do the same: the token is in the store
        api.get_phone_number_regions()
    assert [r.path for r in wire.requests].count("/token") == 1
    assert wire.requests[2].headers["Authorization"] == "Bearer a1"
    entry = json.loads((tmp_path / "oauth_tokens.json").read_text())
    (stored,) = entry.values()
    assert stored["access_token"] == "a1" and stored["refresh_token"] == "rotated-1"
    assert stored["access_expires_at"] - stored["access_issued_at"] == 3600


def test_a_401_with_a_newer_stored_token_uses_it_without_a_token_call(wire: WireServer, tmp_path: Path) -> None:
    """Another process refreshed (and stored a1-new) while this one still sent a1: the 401 makes no token call."""
    wire.reply(
        Reply(200, {"access_token": "a1", "expires_in": 3600, "refresh_token": "rotated-1"}),
        Reply(200, []),
        Reply(401, {"error": "token revoked"}),
        Reply(200, []),
    )
    with oauth_client(wire, tmp_path) as api:
        api.get_phone_number_regions()
        store = open_token_store(api.settings)
        with store.refreshing(api.settings.connection_key) as span:
            span.save(dataclasses.replace(span.current, access_token=Secret("a1-new")))
        api.get_phone_number_regions()
    assert [r.path for r in wire.requests].count("/token") == 1
    assert wire.requests[2].headers["Authorization"] == "Bearer a1"
    assert wire.requests[3].headers["Authorization"] == "Bearer a1-new"


def test_token_refreshed_before_expiry_by_a_share_of_its_lifetime(wire: WireServer, tmp_path: Path) -> None:
    wire.reply(
        Reply(200, {"access_token": "short", "expires_in": 30}),  # 30 s: used until 4.5 s (15 %) are left
        Reply(200, []),
        Reply(200, []),
        Reply(200, []),
        Reply(200, {"access_token": "long", "expires_in": 3600}),
        Reply(200, []),
    )
    with oauth_client(wire, tmp_path) as api:
        api.get_phone_number_regions()
        api.get_phone_number_regions()  # a fixed 60 s margin refreshed here, before every call
        assert [r.path for r in wire.requests].count("/token") == 1
        store = open_token_store(api.settings)
        with store.refreshing(api.settings.connection_key) as span:  # 5 s later: 25 s left, still used
            span.save(dataclasses.replace(span.current, access_issued_at=span.current.access_issued_at - 5,
                                          access_expires_at=span.current.access_expires_at - 5))
        api._tokens._current = None  # as a new process would start
        api.get_phone_number_regions()
        assert [r.path for r in wire.requests].count("/token") == 1
        with store.refreshing(api.settings.connection_key) as span:  # 26 s later: 4 s left, due
            span.save(dataclasses.replace(span.current, access_issued_at=span.current.access_issued_at - 21,
                                          access_expires_at=span.current.access_expires_at - 21))
        api._tokens._current = None
        api.get_phone_number_regions()
    assert [r.path for r in wire.requests].count("/token") == 2
    assert wire.requests[3].headers["Authorization"] == "Bearer short"
    assert wire.requests[5].headers["Authorization"] == "Bearer long"


@pytest.mark.parametrize(("lifetime", "margin"), [(5, 1.0), (30, 4.5), (65, 9.75), (3600, 300.0), (1, 0.5)])
def test_refresh_margin_is_a_bounded_share_of_the_lifetime(lifetime: float, margin: float) -> None:
    assert refresh_margin(lifetime) == pytest.approx(margin)


def test_refused_refresh_names_the_oauth_error_not_the_secrets(wire: WireServer, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wire.reply(Reply(400, {"error": "invalid_grant", "error_description": f"refresh token {REFRESH} expired"}))
    with oauth_client(wire, tmp_path) as api, pytest.raises(errors.Unauthorized) as caught:
        api.get_phone_number_regions()
    message = str(caught.value) + repr(caught.value)
    assert "invalid_grant" in message and "400" in message
    assert CLIENT_SECRET not in message and CLIENT_SECRET not in caplog.text


def test_static_token_401_is_final_and_redacted(wire: WireServer, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    wire.reply(Reply(401, {"error": f"token {TOKEN} is not valid"}))
    with make_client(wire, tmp_path) as api, pytest.raises(errors.Unauthorized) as caught:
        api.get_user_customers()
    assert TOKEN not in str(caught.value) and "***" in str(caught.value)
    assert TOKEN not in caplog.text and len(wire.requests) == 1


def test_settings_from_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SMARTDIALOG__BASE_URL", "https://api.example.test/api-integrations/v1/")
    monkeypatch.setenv("SMARTDIALOG__CLIENT_ID", "app-9")
    monkeypatch.setenv("SMARTDIALOG__CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SMARTDIALOG__REFRESH_TOKEN", REFRESH)
    monkeypatch.setenv("SMARTDIALOG__RATE_LIMIT", "10/2")
    monkeypatch.setenv("SMARTDIALOG__LIMITER_URL", "postgresql://sdsync:pg-password-1@db.example.test/limits")
    settings = resolve_settings(rate_limit="20/4")
    assert settings.limiter_url == "postgresql://sdsync:pg-password-1@db.example.test/limits"
    assert "pg-password-1" not in repr(settings)
    assert settings.base_url == "https://api.example.test/api-integrations/v1"
    assert settings.uses_oauth and settings.client_id == "app-9"
    assert settings.refresh_token.reveal() == REFRESH
    assert (settings.rate_limit.calls, settings.rate_limit.seconds) == (20, 4.0)  # the override wins
    assert CLIENT_SECRET not in repr(settings) and REFRESH not in str(settings)


def test_no_credentials_for_a_remote_service_is_a_configuration_error(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SMARTDIALOG__BASE_URL", "https://api.example.test/api-integrations/v1")
    with pytest.raises(errors.ConfigurationError, match="no credentials"):
        resolve_settings()


def test_client_id_alone_resolves_and_asks_for_a_login_at_the_first_call(wire: WireServer, tmp_path: Path) -> None:
    """A public client's settings (client id, no secret) are valid: the token comes from `sdsync auth login`."""
    with make_client(wire, tmp_path, access_token="", client_id="app-1", token_url=wire.root_url + "/token") as api:
        with pytest.raises(errors.ConfigurationError, match="sdsync auth login"):
            api.get_phone_number_regions()
    assert wire.requests == []


def test_a_stored_login_token_is_used_without_configured_credentials(wire: WireServer, tmp_path: Path) -> None:
    wire.reply(Reply(200, {"access_token": "a1", "expires_in": 3600, "refresh_token": "rotated-1",
                           "refresh_token_expires_in": 1209600}), Reply(200, []))
    with make_client(wire, tmp_path, access_token="", client_id="app-1", token_url=wire.root_url + "/token") as api:
        store = open_token_store(api.settings)
        with store.refreshing(api.settings.connection_key) as span:
            span.save(StoredTokens(refresh_token=Secret("from-login")))
        api.get_phone_number_regions()
    token = form(wire.requests[0])
    assert (token["grant_type"], token["refresh_token"]) == ("refresh_token", "from-login") and "client_secret" not in token
    stored = store.entry(api.settings.connection_key)
    assert stored is not None and stored.refresh_token.reveal() == "rotated-1"
    assert stored.expires_at is not None and stored.saved_at is not None and stored.expires_at > stored.saved_at


def test_client_id_without_secret_resolves(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SMARTDIALOG__BASE_URL", "https://api.example.test/api-integrations/v1")
    monkeypatch.setenv("SMARTDIALOG__CLIENT_ID", "public-app")
    monkeypatch.setenv("SMARTDIALOG__REDIRECT_URI", "http://localhost:8400/callback")
    settings = resolve_settings()
    assert settings.uses_oauth and settings.client_secret is None
    assert settings.redirect_uri == "http://localhost:8400/callback"
    assert settings.authorize_url.endswith("/B2C_1A_SmartDialog_Integrations/oauth2/v2.0/authorize")
