"""The token store's two backends on real files and a real PostgreSQL: the migration of a local file into the
shared state (idempotent, refusing a different token), and `sdsync auth status/logout` naming the store with
its password hidden and never showing a token."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import sqlalchemy

from smartdialog_sync.api import ClientSettings, Secret
from smartdialog_sync.api.token_store import (FileTokenStore, PostgresTokenStore, StoredTokens, migrate_tokens,
                                              read_stored_tokens)
from smartdialog_sync.state.migration import StateConflict
from tests.support.cli import clean_env, run_sdsync

TOKENS = StoredTokens(refresh_token=Secret("refresh-secret-1"), saved_at=1000.0, expires_at=2000.0,
                      access_token=Secret("access-secret-1"), access_issued_at=1500.0, access_expires_at=5100.0)


def with_password(url: str, password: str = "pg-secret-pw") -> str:
    """The same database with a password in the URL (the test server trusts local connections, so it is ignored)."""
    return sqlalchemy.make_url(url).set(password=password).render_as_string(hide_password=False)


def saved(store, key: str, tokens: StoredTokens) -> None:
    with store.refreshing(key) as span:
        span.save(tokens)


def test_migrate_tokens_copies_once_and_refuses_a_different_token(tmp_path: Path, state_url: str) -> None:
    source = tmp_path / "oauth_tokens.json"
    local = FileTokenStore(source)
    saved(local, "conn-a", TOKENS)
    saved(local, "conn-b", StoredTokens(refresh_token=Secret("refresh-secret-b")))
    first = migrate_tokens(source, state_url)
    assert (first.copied, first.already_there) == ({"sdsync_oauth_tokens": 2}, {"sdsync_oauth_tokens": 0})
    again = migrate_tokens(source, state_url)
    assert (again.copied, again.already_there) == ({"sdsync_oauth_tokens": 0}, {"sdsync_oauth_tokens": 2})
    shared = PostgresTokenStore(state_url)
    try:
        assert shared.entry("conn-a") == TOKENS
        saved(shared, "conn-b", StoredTokens(refresh_token=Secret("rotated-on-another-machine")))
        saved(local, "conn-c", StoredTokens(refresh_token=Secret("refresh-secret-c")))
        with pytest.raises(StateConflict) as refused:
            migrate_tokens(source, with_password(state_url))
        message = str(refused.value)
        assert "conn-b" in message and "pg-secret-pw" not in message and "secret" not in message.replace(
            "pg-secret-pw", "")
        assert refused.value.exit_code == 2
        assert shared.entry("conn-c") is None, "nothing of the store was copied"
    finally:
        shared.close()


def test_auth_status_and_logout_on_the_shared_state(tmp_path: Path, state_url: str) -> None:
    settings = ClientSettings().with_overrides(client_id="app-1", state_url=state_url, data_dir=tmp_path / "data")
    shared = PostgresTokenStore(state_url)
    saved(shared, settings.connection_key, TOKENS)
    shared.close()
    shown = with_password(state_url)
    env = clean_env(SMARTDIALOG__CLIENT_ID="app-1", SMARTDIALOG__STATE_URL=shown,
                    SMARTDIALOG__DATA_DIR=str(tmp_path / "data"))

    def sdsync(*args: str) -> subprocess.CompletedProcess[str]:
        return run_sdsync(env, *args, cwd=tmp_path, timeout=60)

    status = sdsync("auth", "status")
    assert status.returncode == 0, status.stderr
    where = "PostgreSQL " + sqlalchemy.make_url(shown).render_as_string(hide_password=True)
    assert f"token store: {where}" in status.stdout and "***" in where
    assert "signed in: yes" in status.stdout and "access token: expired" in status.stdout
    logout = sdsync("auth", "logout")
    assert f"Signed out: the stored token was deleted from {where}." in logout.stdout
    assert "No stored token in" in sdsync("auth", "logout").stdout
    for output in (status.stdout + status.stderr, logout.stdout + logout.stderr):
        assert "pg-secret-pw" not in output and "refresh-secret-1" not in output and "access-secret-1" not in output
    assert read_stored_tokens(settings) == (f"PostgreSQL {sqlalchemy.make_url(state_url).render_as_string()}", None)
    assert not (tmp_path / "data" / "oauth_tokens.json").exists(), "the shared state keeps no local token file"


def test_the_file_store_is_private_and_a_repr_shows_no_token(tmp_path: Path) -> None:
    path = tmp_path / "data" / "oauth_tokens.json"
    store = FileTokenStore(path)
    saved(store, "conn-a", TOKENS)
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert json.loads(path.read_text())["conn-a"]["access_token"] == "access-secret-1"
    assert "secret" not in repr(store.entry("conn-a"))


def test_doctor_names_the_shared_token_store_and_whether_it_holds_a_token(tmp_path: Path, state_url: str,
                                                                          monkeypatch) -> None:
    from smartdialog_sync.pipelines.operations.doctor import DoctorOptions, run_doctor

    monkeypatch.chdir(tmp_path)
    overrides = {"client_id": "app-1", "state_url": with_password(state_url), "data_dir": str(tmp_path / "data"),
                 "base_url": "http://127.0.0.1:9/api-integrations/v1"}

    def token_check() -> str:
        (check,) = [c for c in run_doctor(DoctorOptions(overrides=overrides, offline=True)) if c.name == "token store"]
        assert "pg-secret-pw" not in check.detail
        return f"{check.outcome} {check.detail}"

    where = "PostgreSQL " + sqlalchemy.make_url(with_password(state_url)).render_as_string(hide_password=True)
    assert token_check() == f"info {where}: no refresh token stored for this connection"
    settings = ClientSettings().with_overrides(**overrides)
    shared = PostgresTokenStore(state_url)
    saved(shared, settings.connection_key, TOKENS)
    shared.close()
    assert token_check() == f"ok {where}: a refresh token is stored for this connection"
