"""`sdsync auth login/status/logout` end to end: the CLI as a subprocess, the emulator as a real server,
the consent page approved by a headless Chromium or by an HTTP client following the redirect."""

from __future__ import annotations

import json
import socket
import stat
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.auth.conftest import oauth_env


def approve_with_http_client(url: str, decision: str = "approve") -> httpx.Response:
    """GET the consent page, POST the decision, follow the redirect to the CLI's listener."""
    page = httpx.get(url)
    assert page.status_code == 200 and "Sandbox public app" in page.text
    form = dict(parse_qsl(urlsplit(url).query), decision=decision)
    return httpx.post(url.split("?")[0], data=form, follow_redirects=True)


def stored_tokens(home: Path) -> dict:
    return json.loads((home / "data" / "oauth_tokens.json").read_text())


def assert_signed_in(code: int, out: str, err: str, home: Path) -> str:
    """Login succeeded, said who signed in, stored the token privately and never printed it."""
    assert code == 0, out + err
    assert "Signed in as Sandbox User (oid 00000000-0000-4000-8000-000000000001, sandbox.user@example.test)" in out
    path = home / "data" / "oauth_tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (entry,) = stored_tokens(home).values()
    assert entry["refresh_token"] not in out + err and entry["expires_at"] > entry["saved_at"]
    return entry["refresh_token"]


def test_login_in_headless_chromium_then_api_works(start_login, chromium, sdsync_process, tmp_path) -> None:
    login = start_login()
    chromium.get(login.url)
    assert chromium.find_element("id", "client").text == "Sandbox public app"
    chromium.find_element("id", "approve").click()
    from selenium.webdriver.support.wait import WebDriverWait

    (result,) = WebDriverWait(chromium, 60).until(lambda driver: driver.find_elements("id", "result"))
    assert result.text == "Sign-in received."
    code, out, err = login.finish()
    assert_signed_in(code, out, err, tmp_path)
    customers = sdsync_process("api", "customers", "--json")
    assert customers.returncode == 0, customers.stderr
    assert json.loads(customers.stdout)[0]["customer_id"] == "demo-customer"


def test_login_by_http_client_then_api_status_logout(start_login, sdsync_process, emulator, tmp_path) -> None:
    login = start_login()
    assert "code_challenge_method=S256" in login.url and "offline_access" in login.url
    landed = approve_with_http_client(login.url)
    assert landed.status_code == 200 and "Sign-in received." in landed.text
    code, out, err = login.finish()
    first = assert_signed_in(code, out, err, tmp_path)
    assert f" for {emulator.base_url}; it expires" in out
    for _ in range(2):  # the access token of the sign-in serves both commands: no token call, no rotation
        customers = sdsync_process("api", "customers", "--json")
        assert customers.returncode == 0, customers.stderr
    assert next(iter(stored_tokens(tmp_path).values()))["refresh_token"] == first
    path = tmp_path / "data" / "oauth_tokens.json"
    path.write_text(json.dumps({key: {**entry, "access_expires_at": 0}  # expired: the next command refreshes
                                for key, entry in stored_tokens(tmp_path).items()}))
    customers = sdsync_process("api", "customers", "--json")
    assert customers.returncode == 0, customers.stderr
    (entry,) = stored_tokens(tmp_path).values()
    rotated = entry["refresh_token"]
    assert rotated != first and entry["access_expires_at"] > 0
    status = sdsync_process("auth", "status")
    assert "client id: sandbox-public-client (environment variable SMARTDIALOG__CLIENT_ID)" in status.stdout
    assert f"token store: {path}" in status.stdout and "access token: valid" in status.stdout
    assert "signed in: yes" in status.stdout and rotated not in status.stdout
    assert entry["access_token"] not in status.stdout + customers.stdout + customers.stderr
    assert f"base URL: {emulator.base_url}" in status.stdout and "warning" not in status.stderr
    assert f"Signed out: the stored token was deleted from {path}." in sdsync_process("auth", "logout").stdout
    assert stored_tokens(tmp_path) == {}
    assert "signed in: no" in sdsync_process("auth", "status").stdout
    refused = sdsync_process("api", "customers")
    assert refused.returncode == 2 and "sdsync auth login" in refused.stderr


def test_confidential_client_on_a_fixed_redirect_uri(start_login, sdsync_process, emulator, tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = oauth_env(emulator, tmp_path, client_id="sandbox-client", client_secret="sandbox-secret",
                     redirect_uri=f"http://localhost:{port}/callback")
    login = start_login(env=env)
    assert f"redirect_uri=http%3A%2F%2Flocalhost%3A{port}%2Fcallback" in login.url
    page = httpx.get(login.url)
    form = dict(parse_qsl(urlsplit(login.url).query), decision="approve")
    redirect = httpx.post(login.url.split("?")[0], data=form)
    assert page.status_code == 200 and redirect.headers["location"].startswith(f"http://localhost:{port}/callback?")
    assert httpx.get(f"http://127.0.0.1:{port}/favicon.ico").status_code == 404  # not the answer: keep waiting
    assert httpx.get(redirect.headers["location"].replace("localhost", "127.0.0.1")).status_code == 200
    assert_signed_in(*login.finish(), tmp_path)
    assert sdsync_process("api", "customers", env=env).returncode == 0


def test_denied_consent_ends_with_one_line_and_exit_1(start_login, tmp_path) -> None:
    login = start_login()
    landed = approve_with_http_client(login.url, decision="deny")
    assert "Sign-in was not completed." in landed.text
    code, out, err = login.finish()
    assert code == 1 and err.strip().splitlines()[-1].startswith("failed: sign-in denied (access_denied)")
    assert not (tmp_path / "data" / "oauth_tokens.json").exists()


def test_wrong_state_is_refused(start_login, tmp_path) -> None:
    login = start_login()
    redirect_uri = dict(parse_qsl(urlsplit(login.url).query))["redirect_uri"]
    forged = httpx.get(redirect_uri, params={"code": "forged-code", "state": "not-the-state"})
    assert "state mismatch" in forged.text
    code, out, err = login.finish()
    assert code == 1 and "state does not match" in err.strip().splitlines()[-1]
    assert not (tmp_path / "data" / "oauth_tokens.json").exists()


def test_timeout(start_login) -> None:
    code, out, err = start_login("--timeout", "1").finish()
    assert code == 1 and err.strip().splitlines()[-1] == (
        "failed: no sign-in answer within 1 s: run the command again (or raise --timeout)")


def test_port_in_use_is_a_usage_error(start_login) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = start_login("--port", str(port), expect_url=False).finish()
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("settings", [{"redirect_uri": "https://example.test/callback"}, {"client_id": ""}])
def test_bad_settings_are_usage_errors(sdsync_process, emulator, tmp_path, settings) -> None:
    env = oauth_env(emulator, tmp_path, **settings)
    if not settings.get("client_id", "x"):
        del env["SMARTDIALOG__CLIENT_ID"]
    result = sdsync_process("auth", "login", "--no-browser", "--timeout", "5", env=env)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_status_names_a_client_id_from_dlt_secrets(sdsync_process, emulator, tmp_path) -> None:
    env = oauth_env(emulator, tmp_path)
    del env["SMARTDIALOG__CLIENT_ID"]
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "secrets.toml").write_text('[smartdialog]\nclient_id = "sandbox-public-client"\n')
    status = sdsync_process("auth", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "client id: sandbox-public-client (.dlt/secrets.toml)" in status.stdout
    assert "signed in: no token stored for this base URL and client id (run `sdsync auth login`" in status.stdout


def test_a_local_token_url_with_a_remote_base_url_is_warned_about(sdsync_process, emulator, tmp_path) -> None:
    """The emulator's sign-in recipe without SMARTDIALOG__BASE_URL: the token would be kept for production."""
    env = oauth_env(emulator, tmp_path, base_url="https://api.arena.fi/api-integrations/v1")
    status = sdsync_process("auth", "status", env=env)
    assert status.returncode == 0, status.stderr
    assert "base URL: https://api.arena.fi/api-integrations/v1" in status.stdout
    assert status.stderr == (f"warning: the token URL {emulator.root_url}/oauth2/v2.0/token is local but the base URL is "
                             "https://api.arena.fi/api-integrations/v1: for the emulator set "
                             f"SMARTDIALOG__BASE_URL={emulator.base_url}\n")


APPROVER = """
import sys
from urllib.parse import parse_qsl, urlsplit
import httpx
url = sys.argv[1]
form = dict(parse_qsl(urlsplit(url).query), decision="approve")
landed = httpx.post(url.split("?")[0], data=form, follow_redirects=True)
sys.exit(0 if "Sign-in received." in landed.text else 3)
"""


def test_login_opens_the_browser_named_by_BROWSER(sdsync_process, emulator, tmp_path) -> None:
    """Without --no-browser the URL goes to python's webbrowser (here $BROWSER: a script that approves)."""
    approver = tmp_path / "approver.py"
    approver.write_text(APPROVER)
    env = oauth_env(emulator, tmp_path)
    env["BROWSER"] = f"{sys.executable} {approver} %s"
    result = sdsync_process("auth", "login", "--timeout", "60", env=env)
    assert "Opened your browser" in result.stderr
    assert_signed_in(result.returncode, result.stdout, result.stderr, tmp_path)
