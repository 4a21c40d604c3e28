"""Bearer auth (401 + WWW-Authenticate) and the OAuth2 token endpoint with rotating refresh tokens."""

from __future__ import annotations

import time

import httpx

CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}


def token_url(emulator) -> str:
    return emulator.root_url + "/oauth2/v2.0/token"


def test_missing_or_wrong_token_is_401(emulator) -> None:
    missing = httpx.get(emulator.base_url + "/customers")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.json()["field"] == "Authorization"
    with emulator.api(token="not-a-token") as api:
        wrong = api.get("/customers")
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert emulator.stats()["unauthorized"] == 2


def test_client_credentials_token_works_and_expires(emulator) -> None:
    emulator.configure(token_expires_in=2)
    issued = httpx.post(token_url(emulator), data={"grant_type": "client_credentials", **CLIENT})
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 2
    with emulator.api(token=body["access_token"]) as api:
        assert api.get("/customers").status_code == 200
        time.sleep(2.1)
        assert api.get("/customers").status_code == 401


def test_refresh_tokens_rotate(emulator) -> None:
    first = httpx.post(token_url(emulator), data={
        "grant_type": "refresh_token", "refresh_token": "sandbox-refresh-token", **CLIENT})
    assert first.status_code == 200, first.text
    assert first.json()["expires_in"] == 3600
    reused = httpx.post(token_url(emulator), data={
        "grant_type": "refresh_token", "refresh_token": "sandbox-refresh-token", **CLIENT})
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    second = httpx.post(token_url(emulator), data={
        "grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"], **CLIENT})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first.json()["refresh_token"]


def test_bad_client_or_grant(emulator) -> None:
    wrong_secret = httpx.post(token_url(emulator), data={
        "grant_type": "client_credentials", "client_id": "sandbox-client", "client_secret": "nope"})
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    assert "sandbox-secret" not in wrong_secret.text
    password = httpx.post(token_url(emulator), data={"grant_type": "password", **CLIENT})
    assert password.status_code == 400
    assert password.json()["error"] == "unsupported_grant_type"
