"""The code exchange of the sign-in library against the emulator: a refused code is one clear SignInFailed
naming the OAuth error (reused code, wrong verifier, mismatched redirect URI), never a secret."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from smartdialog_sync.api import ClientSettings
from smartdialog_sync.api.token_store import FileTokenStore
from smartdialog_sync.api.login import Authorization, authorization, exchange_code, identity
from smartdialog_sync.errors import SignInFailed
from tests.auth.conftest import PUBLIC_CLIENT

REDIRECT = "http://127.0.0.1:9/"


def settings_for(emulator, tmp_path: Path, **overrides: str) -> ClientSettings:
    values = {"base_url": emulator.base_url, "client_id": PUBLIC_CLIENT, "data_dir": tmp_path,
              "token_url": emulator.root_url + "/oauth2/v2.0/token",
              "authorize_url": emulator.root_url + "/oauth2/v2.0/authorize"}
    return ClientSettings().with_overrides(**{**values, **overrides})


def approved_code(auth: Authorization) -> str:
    form = dict(parse_qsl(urlsplit(auth.url).query), decision="approve")
    response = httpx.post(auth.url.split("?")[0], data=form)
    answer = dict(parse_qsl(urlsplit(response.headers["location"]).query))
    assert answer["state"] == auth.state
    return answer["code"]


def test_exchange_and_identity(emulator, tmp_path) -> None:
    auth = authorization(settings_for(emulator, tmp_path), REDIRECT)
    tokens = exchange_code(settings_for(emulator, tmp_path), auth, approved_code(auth))
    assert identity(tokens) == {"name": "Sandbox User", "oid": "00000000-0000-4000-8000-000000000001",
                                "emails": ["sandbox.user@example.test"]}
    assert identity({"access_token": "opaque"}) == {}
    assert auth.verifier not in repr(auth)  # the state is in the URL by design; the verifier never shows


@pytest.mark.parametrize(("change", "expected"), [
    ("reuse", "the authorization code has already been redeemed"),
    ("verifier", "the code_verifier does not match the code_challenge"),
    ("redirect", "redirect_uri does not match the one of the authorization request"),
])
def test_refused_code_is_one_clear_failure(emulator, tmp_path, change, expected) -> None:
    settings = settings_for(emulator, tmp_path)
    auth = authorization(settings, REDIRECT)
    code = approved_code(auth)
    if change == "reuse":
        exchange_code(settings, auth, code)
    elif change == "verifier":
        auth = dataclasses.replace(auth, verifier="not-" + auth.verifier)
    else:
        auth = dataclasses.replace(auth, redirect_uri="http://127.0.0.1:10/")
    with pytest.raises(SignInFailed) as failed:
        exchange_code(settings, auth, code)
    assert str(failed.value) == f"the token endpoint refused the code (HTTP 400): invalid_grant {expected}"
    assert failed.value.exit_code == 1


def test_store_reads_tokens_saved_before_dates_were_kept(tmp_path) -> None:
    path = tmp_path / "oauth_tokens.json"
    path.write_text(json.dumps({"conn": "legacy-token"}))
    store = FileTokenStore(path)
    entry = store.entry("conn")
    assert entry is not None and entry.refresh_token.reveal() == "legacy-token" and entry.expires_at is None
    assert entry.access_token is None
    assert store.delete("conn") and not store.delete("conn") and store.entry("conn") is None

