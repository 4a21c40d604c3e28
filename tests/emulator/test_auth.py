"""Bearer auth (401 + WWW-Authenticate), the OAuth2 token endpoint with rotating refresh tokens, and the
authorize endpoint (consent page, codes bound to PKCE, client and redirect URI)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from urllib.parse import parse_qsl, urlsplit

import httpx

from smartdialog_sync.constants import AUTHORIZE_URL, TOKEN_URL
from smartdialog_sync.emulator.seed import DEFAULT_SEED_PATH

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


# --- authorization code flow (consent page, PKCE) ---------------------------------------------------------

PUBLIC = "sandbox-public-client"
REDIRECT = "http://127.0.0.1:9/callback"
VERIFIER = "verifier-" + "x" * 50
SCOPE = "offline_access https://arenafi.onmicrosoft.com/smartdialog-integrations-api/User.Customers"


def s256(verifier: str) -> str:
    """RFC 7636 S256, computed here independently of the product's helper."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize_url(emulator) -> str:
    return emulator.root_url + "/oauth2/v2.0/authorize"


def authorize_params(**overrides: str) -> dict[str, str]:
    params = {"client_id": PUBLIC, "response_type": "code", "redirect_uri": REDIRECT, "scope": SCOPE,
              "state": "state-123", "code_challenge": s256(VERIFIER), "code_challenge_method": "S256"}
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def decide(emulator, decision: str = "approve", url: str | None = None, **overrides: str) -> dict[str, str]:
    """POST the consent form; the query of the redirect it answers with."""
    response = httpx.post(url or authorize_url(emulator), data={**authorize_params(**overrides), "decision": decision})
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == overrides.get("redirect_uri", REDIRECT)
    return dict(parse_qsl(location.query))


def redeem(emulator, code: str, **overrides: str) -> httpx.Response:
    form = {"grant_type": "authorization_code", "client_id": PUBLIC, "code": code, "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER, "scope": SCOPE}
    form.update(overrides)
    return httpx.post(token_url(emulator), data={k: v for k, v in form.items() if v is not None})


def claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_consent_page_names_client_user_and_scopes_escaped(emulator) -> None:
    page = httpx.get(authorize_url(emulator), params=authorize_params(scope="offline_access <script>x</script>"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Sandbox public app" in page.text and "Sandbox User" in page.text
    assert "<script>" not in page.text and "&lt;script&gt;x&lt;/script&gt;" in page.text
    assert "id='approve'" in page.text and "id='deny'" in page.text


def test_code_flow_issues_tokens_whose_refresh_token_rotates(emulator) -> None:
    answer = decide(emulator)
    assert answer["state"] == "state-123" and answer["code"]
    issued = redeem(emulator, answer["code"])
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert claims(body["access_token"])["name"] == "Sandbox User"
    assert claims(body["access_token"])["emails"] == ["sandbox.user@example.test"]
    assert body["refresh_token_expires_in"] > 0
    with emulator.api(token=body["access_token"]) as api:
        assert api.get("/customers").status_code == 200
    refreshed = httpx.post(token_url(emulator), data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": PUBLIC})
    assert refreshed.status_code == 200, refreshed.text
    assert claims(refreshed.json()["access_token"])["oid"] == claims(body["access_token"])["oid"]
    with_other_client = httpx.post(token_url(emulator), data={
        "grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"], **CLIENT})
    assert with_other_client.json()["error"] == "invalid_grant"


def test_code_is_bound_to_verifier_redirect_uri_and_single_use(emulator) -> None:
    code = decide(emulator)["code"]
    for overrides, text in (({"code_verifier": "wrong-" + VERIFIER}, "code_verifier"),
                            ({"redirect_uri": "http://127.0.0.1:10/callback"}, "redirect_uri"),
                            ({"code_verifier": None}, "code_verifier")):
        refused = redeem(emulator, code, **overrides)
        assert refused.status_code == 400 and text in refused.json()["error_description"]
        assert refused.json()["error"] in ("invalid_grant", "invalid_request")
    assert redeem(emulator, code, code_verifier="wrong").json()["error"] == "invalid_grant"
    assert redeem(emulator, code).status_code == 200
    reused = redeem(emulator, code)
    assert reused.status_code == 400
    assert reused.json() == {"error": "invalid_grant",
                             "error_description": "the authorization code has already been redeemed"}
    assert redeem(emulator, "no-such-code").json()["error"] == "invalid_grant"


def test_denied_consent_redirects_with_access_denied(emulator) -> None:
    answer = decide(emulator, "deny")
    assert answer["error"] == "access_denied" and answer["state"] == "state-123" and "code" not in answer


def test_bad_authorize_requests(emulator) -> None:
    unknown = httpx.get(authorize_url(emulator), params=authorize_params(client_id="nobody"))
    assert unknown.status_code == 400 and "location" not in unknown.headers
    remote = httpx.get(authorize_url(emulator), params=authorize_params(redirect_uri="https://evil.example/cb"))
    assert remote.status_code == 400 and "location" not in remote.headers
    no_pkce = decide(emulator, code_challenge=None)
    assert no_pkce["error"] == "invalid_request" and "code_challenge" in no_pkce["error_description"]
    assert decide(emulator, response_type="token")["error"] == "unsupported_response_type"


def test_confidential_client_proves_its_secret_and_public_one_sends_none(emulator) -> None:
    code = decide(emulator, client_id="sandbox-client")["code"]
    assert redeem(emulator, code, client_id="sandbox-client").status_code == 401  # no secret
    assert redeem(emulator, code, **CLIENT).status_code == 200
    public_with_secret = redeem(emulator, decide(emulator)["code"], client_secret="guess")
    assert public_with_secret.json()["error"] == "invalid_client"
    public_credentials = httpx.post(token_url(emulator), data={"grant_type": "client_credentials", "client_id": PUBLIC})
    assert public_credentials.json()["error"] == "unauthorized_client"


def test_definition_paths_and_registered_redirect_uris(start_emulator, tmp_path) -> None:
    seed = json.loads(DEFAULT_SEED_PATH.read_text())
    seed["auth"]["clients"] = [{"client_id": PUBLIC, "name": "Acme <b>&</b> Co",
                                "redirect_uris": ["http://localhost:8400/callback"]}]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    emu = start_emulator(seed=path)
    b2c = emu.root_url + urlsplit(AUTHORIZE_URL).path
    page = httpx.get(b2c, params=authorize_params(redirect_uri="http://localhost:8400/callback"))
    assert page.status_code == 200 and "Acme &lt;b&gt;&amp;&lt;/b&gt; Co" in page.text
    other_port = httpx.get(b2c, params=authorize_params(redirect_uri="http://localhost:8401/callback"))
    assert other_port.status_code == 400
    code = decide(emu, url=b2c, redirect_uri="http://localhost:8400/callback")["code"]
    issued = httpx.post(emu.root_url + urlsplit(TOKEN_URL).path, data={
        "grant_type": "authorization_code", "client_id": PUBLIC, "code": code,
        "redirect_uri": "http://localhost:8400/callback", "code_verifier": VERIFIER})
    assert issued.status_code == 200, issued.text


def test_openid_scope_adds_an_id_token_with_the_user(emulator) -> None:
    code = decide(emulator, scope=SCOPE + " openid")["code"]
    body = redeem(emulator, code).json()
    assert claims(body["id_token"])["name"] == "Sandbox User" and "scp" not in claims(body["id_token"])
    assert "id_token" not in redeem(emulator, decide(emulator)["code"]).json()
