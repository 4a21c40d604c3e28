"""OAuth2 tokens in the shared state: processes on separate data dirs (machines) sharing one PostgreSQL and one
emulator whose refresh tokens rotate. Every refresh uses the newest refresh token exactly once, a process that
finds a valid stored access token makes no token call, and two machines starting from the same configured
refresh token both work."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy

from tests.api.conftest import fresh_state_database
from tests.support.cli import clean_env
from tests.support.processes import json_reports

WORKERS = 3
LIFETIME = 2  # seconds: with a 1 s margin each access token serves about 1 s, so tokens expire all the time
RUN_S = 8.0

WORKER = """
import json, sys, time
from pathlib import Path
from smartdialog_sync.api import SmartDialogClient, resolve_settings
from smartdialog_sync.errors import SdsyncError

go, seconds = Path(sys.argv[1]), float(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
calls, failures = 0, []
with SmartDialogClient(resolve_settings()) as api:
    deadline = time.monotonic() + seconds
    while True:
        try:
            api.get_phone_number_regions()
            calls += 1
        except SdsyncError as exc:
            failures.append(str(exc))
        if time.monotonic() >= deadline:
            break
        time.sleep(0.02)
print(json.dumps({"calls": calls, "failures": failures}))
"""

TOKEN_ANSWER = re.compile(r'"POST /oauth2/v2\.0/token HTTP/1\.1" (\d{3})')


def token_answers(emulator: Any) -> list[str]:
    """The statuses the token endpoint answered, from the emulator's access log."""
    return TOKEN_ANSWER.findall(emulator.output())


def machine_env(emulator: Any, data_dir: Path, state_url: str) -> dict[str, str]:
    """One machine: its own data dir, the shared state, the emulator's confidential client and its first refresh token."""
    return clean_env(**{
        "SMARTDIALOG__BASE_URL": emulator.base_url, "SMARTDIALOG__TOKEN_URL": emulator.root_url + "/oauth2/v2.0/token",
        "SMARTDIALOG__CLIENT_ID": "sandbox-client", "SMARTDIALOG__CLIENT_SECRET": "sandbox-secret",
        "SMARTDIALOG__REFRESH_TOKEN": "sandbox-refresh-token", "SMARTDIALOG__RATE_LIMIT": "100000/60",
        "SMARTDIALOG__DATA_DIR": str(data_dir), "SMARTDIALOG__STATE_URL": state_url,
    })


def run_machines(emulator: Any, tmp_path: Path, state_url: str, count: int, seconds: float,
                 name: str) -> list[dict[str, Any]]:
    """Start `count` workers on data dirs of their own, release them at once, and return their reports."""
    go = tmp_path / f"go-{name}"
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(go), str(seconds)],
                                env=machine_env(emulator, tmp_path / f"{name}-{me}", state_url),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for me in range(count)]
    time.sleep(1.5)  # let every interpreter start and wait at the line
    go.touch()
    return json_reports(workers)


def stored_row(state_url: str) -> dict[str, Any]:
    engine = sqlalchemy.create_engine(state_url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as db:
            (row,) = db.execute(sqlalchemy.text("SELECT * FROM sdsync_oauth_tokens")).mappings().all()
    finally:
        engine.dispose()
    return dict(row)


def test_three_machines_share_rotating_tokens_through_quick_expiry(start_emulator, tmp_path: Path, state_url: str) -> None:
    state = tmp_path / "emulator-state.json"
    emulator = start_emulator(state=state, log_level="info", rate_limit="100000/60", token_expires_in=LIFETIME)
    started = time.monotonic()
    reports = run_machines(emulator, tmp_path, state_url, WORKERS, RUN_S, "machine")
    elapsed = time.monotonic() - started
    for report in reports:
        assert report["failures"] == [], report
        assert report["calls"] >= 10
    answers = token_answers(emulator)
    assert set(answers) == {"200"}, f"the token endpoint refused a refresh (invalid_grant): {answers}"
    # Tokens expired about every second during the run; one refresh per expiry serves all three machines
    # (each refreshing on its own would make three times as many).
    assert 4 <= len(answers) <= elapsed / (LIFETIME - 1) + WORKERS, (len(answers), elapsed)

    # A machine started while the stored access token is valid makes no token call.
    emulator.configure(token_expires_in=3600)
    run_machines(emulator, tmp_path, state_url, 1, 0, "refresh-long")  # the stored short token is due: one refresh
    assert len(token_answers(emulator)) == len(answers) + 1
    (late,) = run_machines(emulator, tmp_path, state_url, 1, 0, "late")
    assert late["failures"] == [] and late["calls"] >= 1
    assert len(token_answers(emulator)) == len(answers) + 1, "the valid stored access token was used"

    emulator.stop()
    issued = json.loads(state.read_text())
    row = stored_row(state_url)
    # The rotation chain is unbroken: every refresh used the newest refresh token once, so the one stored is
    # the only one the service still accepts, and the stored access token is the last one issued.
    assert issued["refresh_tokens"] == [row["refresh_token"]]
    assert row["access_token"] in issued["access_tokens"]
    assert row["access_expires_at"] - row["access_issued_at"] == 3600


def test_two_machines_starting_from_the_same_configured_refresh_token(emulator, tmp_path: Path) -> None:
    """Before the shared store, the second machine ended with invalid_grant in 5 of 5 rounds."""
    refused_rounds = 0
    for round_ in range(5):
        emulator.reset()  # the seed's refresh token is valid again, issued tokens are forgotten
        with fresh_state_database() as state_url:
            reports = run_machines(emulator, tmp_path, state_url, 2, 0, f"round{round_}")
        failures = [failure for report in reports for failure in report["failures"]]
        refused_rounds += bool(failures)
        assert all("invalid_grant" in failure for failure in failures), failures
        assert failures or all(report["calls"] == 1 for report in reports)
    assert refused_rounds == 0, f"a machine ended with invalid_grant in {refused_rounds} of 5 rounds"
